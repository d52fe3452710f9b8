//! Identifiers: ULIDs for guildgate's own rows, validated Discord snowflakes for theirs.

use std::fmt;
use std::sync::Mutex;

use crate::error::ApiError;

static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// A fresh ULID as its 26-character Crockford string. Ids made in one process sort in the
/// order they were made, even within one millisecond: pagination relies on it.
pub fn new_ulid() -> String {
    let mut generator = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    // The generator refuses only when 2^80 ids were made in one millisecond.
    generator
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// `req_` + ULID, sent back as `X-Request-Id` and in every error envelope.
pub fn new_request_id() -> String {
    let mut id = String::with_capacity(30);
    id.push_str("req_");
    id.push_str(&new_ulid());
    id
}

/// True when `value` is a ULID string (what every guildgate id looks like), in either case.
pub fn is_ulid(value: &str) -> bool {
    value.len() == 26 && ulid::Ulid::from_string(value).is_ok()
}

/// `value` as guildgate stores ids (upper case), when it is a ULID. ULIDs are Crockford
/// base32, which is read without regard to case, so a lower-cased id names the same record.
pub fn canonical_ulid(value: &str) -> Option<String> {
    is_ulid(value).then(|| value.to_ascii_uppercase())
}

/// A Discord snowflake: 17 to 20 ASCII digits. Past the edge a `Snowflake` is known good.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Snowflake(String);

impl Snowflake {
    /// Parses `value` as a snowflake; `field` names the input in the VALIDATION_FAILED error.
    pub fn parse(field: &str, value: &str) -> Result<Self, ApiError> {
        let digits_only = value.bytes().all(|b| b.is_ascii_digit());
        if digits_only && (17..=20).contains(&value.len()) && value.parse::<u64>().is_ok() {
            Ok(Self(value.to_owned()))
        } else {
            Err(ApiError::validation(
                field,
                format!("{field} must be a Discord snowflake (17-20 digits)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_are_17_to_20_digits() {
        assert!(Snowflake::parse("user_id", "12345678901234567").is_ok());
        assert!(Snowflake::parse("user_id", "18446744073709551615").is_ok());
        assert!(Snowflake::parse("user_id", "1234567890123456").is_err());
        assert!(Snowflake::parse("user_id", "99999999999999999999").is_err());
        assert!(Snowflake::parse("user_id", "12345678901234567a").is_err());
        let err = Snowflake::parse("user_id", " 123456789012345678").unwrap_err();
        assert_eq!(err.details.unwrap()["field"], "user_id");
    }

    #[test]
    fn ulids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000).map(|_| new_ulid()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn request_ids_are_prefixed_ulids() {
        let id = new_request_id();
        assert!(id.starts_with("req_") && is_ulid(&id[4..]));
    }
}
