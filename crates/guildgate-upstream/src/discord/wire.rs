//! Encodings Discord's API needs: audit reasons, snowflakes, header seconds.

use super::*;

/// The reason as Discord wants it in `X-Audit-Log-Reason`: at most 512 characters,
/// percent-encoded UTF-8.
pub fn encode_audit_reason(reason: &str) -> String {
    let kept: String = reason.chars().take(AUDIT_REASON_MAX_CHARS).collect();
    utf8_percent_encode(&kept, REASON_ENCODING).to_string()
}

/// When a snowflake was made, in Unix milliseconds.
pub fn snowflake_time(id: u64) -> Millis {
    (id >> 22) as Millis + DISCORD_EPOCH
}

/// A snowflake made at `at` (Unix milliseconds), told apart by `increment` (22 bits).
pub fn snowflake_at(at: Millis, increment: u64) -> u64 {
    (((at - DISCORD_EPOCH).max(0) as u64) << 22) | (increment & 0x3f_ffff)
}

/// Ids go into paths, so only digits pass.
pub(super) fn snowflake<'a>(field: &'static str, value: &'a str) -> Result<&'a str, DiscordError> {
    if (1..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(DiscordError::InvalidId {
            field,
            value: value.chars().take(32).collect(),
        })
    }
}

pub(super) fn seconds(value: Option<&HeaderValue>) -> Option<f64> {
    value?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

pub(super) fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
}

/// The innermost cause, which names what happened (`Connection refused`, ...) without
/// reqwest's wrapping.
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
