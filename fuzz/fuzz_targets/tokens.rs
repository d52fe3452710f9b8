//! Any string presented as a token, of any of the three kinds: parsing never panics, and
//! whatever it accepts carries the kind's prefix and a good checksum.
#![no_main]

use guildgate_core::shard::SHARD_KEY;
use guildgate_core::tasks::TASKS_KEY;
use guildgate_core::token::GUILD_TOKEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(presented) = std::str::from_utf8(data) else {
        return;
    };
    for format in [GUILD_TOKEN, TASKS_KEY, SHARD_KEY] {
        if let Ok(token) = format.parse(presented) {
            assert!(presented.trim().starts_with(format.prefix));
            // Accepted once, accepted again: parsing is a pure function of the string.
            assert!(format.parse(token.expose()).is_ok());
        }
    }
});
