//! The OAuth 2.0 device authorization grant (RFC 8628) that pairs an MCP client: user
//! codes, and what a poll of the token endpoint gets.

use crate::capability::CapabilitySet;
use crate::clock::{MINUTE, Millis, SECOND};

/// A pairing is good for ten minutes.
pub const DEVICE_CODE_TTL: Millis = 10 * MINUTE;
/// Seconds a client waits between polls, unless told to slow down.
pub const DEFAULT_INTERVAL_SECS: i64 = 5;
/// RFC 8628 §3.5: each slow_down adds five seconds.
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Consonants only, so a code never spells a word and has no look-alikes (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Eight characters shown as `XXXX-XXXX`.
pub fn new_user_code() -> String {
    let chars: String = (0..8)
        .map(|_| USER_CODE_ALPHABET[rand::random_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// What a person typed, as stored: upper case, dash in the middle; `None` if it cannot be one.
pub fn normalise_user_code(input: &str) -> Option<String> {
    let chars: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (chars.len() == 8 && chars.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &chars[..4], &chars[4..]))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Consumed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeviceCode {
    pub user_code: String,
    pub guild_id: String,
    pub client_name: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub interval_secs: i64,
    pub last_polled_at: Option<Millis>,
    pub status: DeviceStatus,
    /// Set on approval: the issuer and the snapshot the token will carry.
    pub approved_by: Option<String>,
    pub capabilities: Option<CapabilitySet>,
}

/// What the token endpoint answers a poll with.
#[derive(Clone, Debug, PartialEq)]
pub enum Poll {
    /// `authorization_pending`
    Pending,
    /// `slow_down`, with the interval the client must now keep.
    SlowDown { interval_secs: i64 },
    /// `expired_token`
    Expired,
    /// `access_denied`
    Denied,
    /// Approved: mint the token now and hand it over, once.
    Issue,
    /// `invalid_grant`: already handed over.
    Used,
}

impl DeviceCode {
    pub fn poll(&self, now: Millis) -> Poll {
        match self.status {
            DeviceStatus::Consumed => Poll::Used,
            DeviceStatus::Denied => Poll::Denied,
            _ if now >= self.expires_at => Poll::Expired,
            DeviceStatus::Approved => Poll::Issue,
            DeviceStatus::Pending => match self.last_polled_at {
                Some(last) if now - last < self.interval_secs * SECOND => Poll::SlowDown {
                    interval_secs: self.interval_secs + SLOW_DOWN_STEP_SECS,
                },
                _ => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> DeviceCode {
        DeviceCode {
            user_code: new_user_code(),
            guild_id: "1".into(),
            client_name: "Claude".into(),
            created_at: 0,
            expires_at: DEVICE_CODE_TTL,
            interval_secs: DEFAULT_INTERVAL_SECS,
            last_polled_at: None,
            status: DeviceStatus::Pending,
            approved_by: None,
            capabilities: None,
        }
    }

    #[test]
    fn user_codes_round_trip_what_people_type() {
        let shown = new_user_code();
        assert_eq!(shown.len(), 9);
        assert_eq!(
            normalise_user_code(&shown.to_lowercase().replace('-', " ")),
            Some(shown.clone())
        );
        assert_eq!(
            normalise_user_code("ABCD-EFGH"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalise_user_code("BCDF"), None);
    }

    #[test]
    fn polling_follows_rfc_8628() {
        let mut c = code();
        assert_eq!(c.poll(0), Poll::Pending);
        c.last_polled_at = Some(0);
        assert_eq!(c.poll(4 * SECOND), Poll::SlowDown { interval_secs: 10 });
        assert_eq!(c.poll(5 * SECOND), Poll::Pending);
        assert_eq!(c.poll(DEVICE_CODE_TTL), Poll::Expired);
        c.status = DeviceStatus::Approved;
        assert_eq!(c.poll(6 * SECOND), Poll::Issue);
        c.status = DeviceStatus::Denied;
        assert_eq!(c.poll(6 * SECOND), Poll::Denied);
        c.status = DeviceStatus::Consumed;
        assert_eq!(c.poll(6 * SECOND), Poll::Used);
    }
}
