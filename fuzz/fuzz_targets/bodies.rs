//! Every JSON body the guild API's destructive calls accept: reading, validating and
//! building the sentinel values never panics, whatever the bytes.
#![no_main]

use guildgate_core::bodies::{AddBanBody, AddMuteBody, AddStrikeBody, MassPurgeBody, RunRconBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<AddStrikeBody>(data)
        && let Ok(input) = body.validate()
    {
        let _ = input.sentinel_values();
    }
    if let Ok(body) = serde_json::from_slice::<AddBanBody>(data)
        && let Ok(input) = body.validate()
    {
        let _ = input.sentinel_values();
    }
    if let Ok(body) = serde_json::from_slice::<AddMuteBody>(data)
        && let Ok(input) = body.validate()
    {
        let _ = input.sentinel_values();
    }
    if let Ok(body) = serde_json::from_slice::<MassPurgeBody>(data)
        && let Ok(input) = body.validate()
    {
        let _ = input.sentinel_values();
    }
    if let Ok(body) = serde_json::from_slice::<RunRconBody>(data) {
        let _ = body.validate();
    }
    // And as the tasks and shard surfaces read them: any JSON value.
    let _ = serde_json::from_slice::<serde_json::Value>(data);
});
