//! What an RCON server sends back: decoding a frame, and reading packets off a stream,
//! never panic and never allocate beyond what the size prefix allows.
#![no_main]

use guildgate_upstream::rcon::{decode, encode, read_packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = decode(data) {
        // What decodes encodes back to the same bytes (after the size prefix).
        assert_eq!(&encode(packet.id, packet.kind, &packet.body)[4..], data);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut stream = data;
        for _ in 0..16 {
            if read_packet(&mut stream).await.is_err() {
                break;
            }
        }
    });
});
