//! Time as milliseconds since the Unix epoch, behind a trait so tests can move it by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        // Straight from the system clock: building a calendar date to read the epoch
        // back out was most of a limiter decision's time.
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => since.as_millis() as Millis,
            Err(before) => -(before.duration().as_millis() as Millis),
        }
    }
}

/// A clock that only moves when told to; shared by clones.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn starting_at(now: Millis) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// `2026-05-12T20:15:00.000Z`: the shape the docs show, always UTC with milliseconds.
pub fn to_rfc3339(at: Millis) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(at as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// Parses any RFC 3339 timestamp (with offset) into milliseconds.
pub fn parse_rfc3339(value: &str) -> Option<Millis> {
    let dt = OffsetDateTime::parse(value, &Rfc3339).ok()?;
    Some((dt.unix_timestamp_nanos() / 1_000_000) as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_docs() {
        let at = parse_rfc3339("2026-05-12T20:15:00Z").unwrap();
        assert_eq!(to_rfc3339(at), "2026-05-12T20:15:00.000Z");
        assert_eq!(to_rfc3339(at + 1_234), "2026-05-12T20:15:01.234Z");
        assert_eq!(parse_rfc3339("2026-05-12T22:15:00+02:00"), Some(at));
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }
}

/// serde helpers so models serialize their times in the documented shape.
pub mod serde_time {
    use super::{Millis, parse_rfc3339, to_rfc3339};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse_required<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let text = String::deserialize(d)?;
        parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }

    pub fn parse_optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse_rfc3339(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}"))),
        }
    }

    pub fn required<S: Serializer>(at: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_rfc3339(*at))
    }

    pub fn optional<S: Serializer>(at: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&to_rfc3339(*at)),
            None => s.serialize_none(),
        }
    }
}
