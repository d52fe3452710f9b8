//! NUL characters are refused wherever text enters: PostgreSQL cannot store them in text
//! at all, and SQLite would, so without one rule the same call would succeed on one
//! backend and fail with a 500 on the other. Checked on the raw request, before parsing.

/// What a caller is told.
pub const NUL_REFUSED: &str = "Text must not contain NUL characters (\\u0000 or %00).";

/// True when a JSON document's bytes hold an escaped NUL (`\u0000`) in a string. (A raw
/// NUL byte is already invalid JSON.) An escaped backslash before `u0000` is text, not
/// an escape.
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"u0000").map(|i| i + from) {
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            return true;
        }
        from = at + 1;
    }
    false
}

/// True when a URL path or query (still percent-encoded) or a form body encodes a NUL.
pub fn encoded_has_nul(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_nuls_are_found_and_escaped_backslashes_are_not() {
        assert!(json_has_nul(br#"{"reason": "a\u0000b"}"#));
        assert!(json_has_nul(br#"{"reason": "\\\U0000"}"#));
        assert!(!json_has_nul(br#"{"reason": "a\\u0000b"}"#));
        assert!(!json_has_nul(br#"{"reason": "u0000"}"#));
        assert!(encoded_has_nul("/api/v1/archive/a%00b"));
        assert!(!encoded_has_nul("/api/v1/archive/a%20b%0A"));
    }
}
