//! Any text frame a comms client can send on its WebSocket: decoding never panics, what
//! decodes keeps the limits the socket relies on, and the join's token is checked by
//! the signed-token verifier, which refuses anything not signed with the shard's key.
#![no_main]

use guildgate_core::shard::signing::ClientTokens;
use guildgate_core::shard::{ClientMessage, NetRef, TRANSPORT_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = ClientMessage::parse(text) else {
        return;
    };
    match message {
        ClientMessage::Join { token, transport } => {
            assert!((1..=TRANSPORT_MAX).contains(&transport.len()));
            assert!(!transport.contains(char::is_control));
            // Nobody holds this key, so no fuzzed token can be genuine.
            let tokens = ClientTokens::new([7; 32]);
            assert!(tokens.verify(&token, 0).is_err());
        }
        // A slot comes only from an integer written out in the frame.
        ClientMessage::PttStart(NetRef::Slot(slot)) => assert!(text.contains(&slot.to_string())),
        _ => {}
    }
});
