//! Token secrets: generation, the offline checksum, and parsing of what a caller sent.
//!
//! A secret is `prefix + encode(random || crc32(random))`. The checksum lets a secret
//! scanner tell a real token offline, and lets the server refuse a mistyped one before
//! any lookup. The plaintext type never prints itself.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Base64Url,
    LowerHex,
}

/// The shape of one family of secrets.
#[derive(Clone, Copy, Debug)]
pub struct TokenFormat {
    pub prefix: &'static str,
    pub encoding: Encoding,
    /// Bytes behind the prefix, checksum included.
    pub bytes: usize,
    pub checksum_bytes: usize,
}

/// Guild tokens: `arkpat_` + 48 base64url characters (36 bytes: 32 random + CRC32).
pub const GUILD_TOKEN: TokenFormat = TokenFormat {
    prefix: "arkpat_",
    encoding: Encoding::Base64Url,
    bytes: 36,
    checksum_bytes: 4,
};

/// Why a presented secret was refused before any lookup. The message says what was wrong
/// so that a copy-paste mistake is obvious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedToken {
    #[error("the token has leading or trailing whitespace; check the copied value")]
    Whitespace,
    #[error("the token is wrapped in quotes; send it without them")]
    Quoted,
    #[error("the token does not start with the expected prefix")]
    WrongPrefix,
    #[error("the token has the wrong length")]
    WrongLength,
    #[error("the token contains characters outside its alphabet")]
    BadCharacters,
    #[error("the token's checksum does not match; it was mistyped or truncated")]
    BadChecksum,
}

/// A plaintext secret. Shown to its owner once; `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaintextToken(String);

impl PlaintextToken {
    /// The secret itself, for the one response that shows it and for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlaintextToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PlaintextToken({}<redacted>)",
            self.0.split('_').next().unwrap_or("")
        )
    }
}

impl TokenFormat {
    pub fn encoded_len(&self) -> usize {
        match self.encoding {
            Encoding::Base64Url => (self.bytes * 4).div_ceil(3),
            Encoding::LowerHex => self.bytes * 2,
        }
    }

    pub fn total_len(&self) -> usize {
        self.prefix.len() + self.encoded_len()
    }

    pub fn generate(&self) -> PlaintextToken {
        let mut bytes: Vec<u8> = (0..self.bytes - self.checksum_bytes)
            .map(|_| rand::random::<u8>())
            .collect();
        let checksum = crc32fast::hash(&bytes).to_be_bytes();
        bytes.extend_from_slice(&checksum[4 - self.checksum_bytes..]);
        PlaintextToken(format!("{}{}", self.prefix, self.encode(&bytes)))
    }

    fn encode(&self, bytes: &[u8]) -> String {
        match self.encoding {
            Encoding::Base64Url => URL_SAFE_NO_PAD.encode(bytes),
            Encoding::LowerHex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    fn decode(&self, text: &str) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Base64Url => URL_SAFE_NO_PAD.decode(text).ok(),
            Encoding::LowerHex => {
                if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return None;
                }
                (0..text.len() / 2)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                    .collect()
            }
        }
    }

    /// Checks shape and checksum; on success the value is worth a lookup.
    pub fn parse(&self, presented: &str) -> Result<PlaintextToken, MalformedToken> {
        if presented.trim() != presented {
            return Err(MalformedToken::Whitespace);
        }
        if presented.starts_with(['"', '\'']) || presented.ends_with(['"', '\'']) {
            return Err(MalformedToken::Quoted);
        }
        let Some(body) = presented.strip_prefix(self.prefix) else {
            return Err(MalformedToken::WrongPrefix);
        };
        if body.len() != self.encoded_len() {
            return Err(MalformedToken::WrongLength);
        }
        let bytes = self.decode(body).ok_or(MalformedToken::BadCharacters)?;
        let (random, checksum) = bytes.split_at(self.bytes - self.checksum_bytes);
        let expected = crc32fast::hash(random).to_be_bytes();
        if checksum != &expected[4 - self.checksum_bytes..] {
            return Err(MalformedToken::BadChecksum);
        }
        Ok(PlaintextToken(presented.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guild_tokens_have_the_documented_shape() {
        let token = GUILD_TOKEN.generate();
        let text = token.expose();
        assert!(text.starts_with("arkpat_"));
        assert_eq!(text.len(), 55);
        assert_eq!(GUILD_TOKEN.parse(text).unwrap(), token);
        assert!(!format!("{token:?}").contains(&text[7..]));
    }

    #[test]
    fn malformed_tokens_are_named() {
        let text = GUILD_TOKEN.generate().expose().to_owned();
        assert_eq!(
            GUILD_TOKEN.parse(&format!(" {text}")),
            Err(MalformedToken::Whitespace)
        );
        assert_eq!(
            GUILD_TOKEN.parse(&format!("\"{text}\"")),
            Err(MalformedToken::Quoted)
        );
        assert_eq!(
            GUILD_TOKEN.parse(&text.replace("arkpat_", "arkpak_")),
            Err(MalformedToken::WrongPrefix)
        );
        assert_eq!(
            GUILD_TOKEN.parse(&text[..54]),
            Err(MalformedToken::WrongLength)
        );
        let mut flipped = text.clone().into_bytes();
        flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            GUILD_TOKEN.parse(std::str::from_utf8(&flipped).unwrap()),
            Err(MalformedToken::BadChecksum)
        );
        let bad_chars = format!("arkpat_{}", "!".repeat(48));
        assert_eq!(
            GUILD_TOKEN.parse(&bad_chars),
            Err(MalformedToken::BadCharacters)
        );
    }

    #[test]
    fn hex_formats_round_trip() {
        let hex = TokenFormat {
            prefix: "arca_",
            encoding: Encoding::LowerHex,
            bytes: 32,
            checksum_bytes: 2,
        };
        let token = hex.generate();
        assert_eq!(token.expose().len(), 5 + 64);
        assert!(hex.parse(token.expose()).is_ok());
        assert_eq!(
            hex.parse(&token.expose().to_uppercase().replace("ARCA_", "arca_")),
            Err(MalformedToken::BadCharacters)
        );
    }
}
