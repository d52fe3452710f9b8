//! Typed confirmations: normalising never panics, is idempotent, and a normalised
//! sentinel always verifies against itself.
#![no_main]

use guildgate_core::sentinel::{SentinelTemplate, normalise, verify};
use libfuzzer_sys::fuzz_target;

const TEMPLATE: SentinelTemplate =
    SentinelTemplate("ADD STRIKE TO USER {userId} IN GUILD {guildId} SEVERITY {severity}");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = normalise(text);
    assert_eq!(normalise(&once), once);
    let expected = normalise(&TEMPLATE.render(&[
        ("userId", text),
        ("guildId", "100000000000000000"),
        ("severity", "MINOR"),
    ]));
    assert!(verify(TEMPLATE, &expected, Some(&expected)).is_ok());
    let _ = verify(TEMPLATE, &expected, Some(text));
});
