//! The guild surface's request bodies and queries, and their validation. The REST handlers
//! and the MCP tools use these same types: the tools' JSON schemas are generated from them,
//! and both build a destructive call's sentinel from the validated values they return.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::ApiError;
use crate::ids::Snowflake;
use crate::model::Severity;

/// A year, in minutes: longer bans are permanent ones.
pub const MAX_BAN_MINUTES: u32 = 525_600;
/// Discord deletes at most 7 days of a banned user's messages.
pub const MAX_DELETE_MESSAGE_SECONDS: u32 = 604_800;
/// Discord caps a timeout at 28 days.
pub const MAX_MUTE_MINUTES: u32 = 28 * 24 * 60;
pub const MAX_PURGE: u32 = 1000;

/// A required text field: present, not blank, at most `max` characters.
pub fn required<'a>(
    field: &str,
    value: &'a Option<String>,
    max: usize,
) -> Result<&'a str, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => optional(field, Some(v), max).map(|v| v.unwrap_or_default()),
        _ => Err(ApiError::validation(field, format!("{field} is required"))),
    }
}

pub fn optional<'a>(
    field: &str,
    value: Option<&'a str>,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    match value.map(str::trim) {
        Some(v) if v.chars().count() > max => Err(ApiError::validation(
            field,
            format!("{field} must be at most {max} characters"),
        )),
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// A whole number in `range`, named in the error.
pub fn bounded(
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            field,
            format!("{field} must be from {} to {}", range.start(), range.end()),
        ))
    }
}

/// `POST /strikes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStrikeBody {
    /// The Discord user to strike (a snowflake, 17-20 digits).
    pub user_id: Option<String>,
    /// The player's in-game name.
    pub player_name: Option<String>,
    /// The player's in-game id, such as a Steam id.
    pub in_game_id: Option<String>,
    /// Why (required, at most 1000 characters).
    pub reason: Option<String>,
    /// Free-form category, e.g. harassment, cheating, rule-violation.
    pub category: Option<String>,
    /// MINOR (1 point) or MAJOR (2 points), any case.
    pub severity: Option<String>,
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
}

pub struct StrikeInput<'a> {
    pub user_id: Snowflake,
    pub severity: Severity,
    pub reason: &'a str,
    pub player_name: Option<&'a str>,
    pub in_game_id: Option<&'a str>,
    pub category: Option<&'a str>,
}

impl AddStrikeBody {
    pub fn validate(&self) -> Result<StrikeInput<'_>, ApiError> {
        Ok(StrikeInput {
            user_id: Snowflake::parse("user_id", required("user_id", &self.user_id, 20)?)?,
            severity: Severity::parse(required("severity", &self.severity, 10)?).ok_or_else(
                || ApiError::validation("severity", "severity must be MINOR or MAJOR"),
            )?,
            reason: required("reason", &self.reason, 1000)?,
            player_name: optional("player_name", self.player_name.as_deref(), 100)?,
            in_game_id: optional("in_game_id", self.in_game_id.as_deref(), 64)?,
            category: optional("category", self.category.as_deref(), 64)?,
        })
    }
}

impl StrikeInput<'_> {
    pub fn sentinel_values(&self) -> Vec<(&'static str, String)> {
        vec![
            ("user_id", self.user_id.to_string()),
            ("MINOR|MAJOR", self.severity.as_str().to_owned()),
        ]
    }
}

/// `POST /bans`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBanBody {
    /// The Discord user to ban (a snowflake).
    pub user_id: Option<String>,
    /// Why (at most 512 characters).
    pub reason: Option<String>,
    /// Ban length in minutes (1 to 525600); absent or null for a permanent ban.
    pub duration_minutes: Option<u32>,
    /// Seconds of the user's recent messages to delete (0 to 604800).
    pub delete_message_seconds: Option<u32>,
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
}

pub struct BanInput<'a> {
    pub user_id: Snowflake,
    pub reason: Option<&'a str>,
    pub duration_minutes: Option<u32>,
    pub delete_message_seconds: u32,
}

impl AddBanBody {
    pub fn validate(&self) -> Result<BanInput<'_>, ApiError> {
        Ok(BanInput {
            user_id: Snowflake::parse("user_id", required("user_id", &self.user_id, 20)?)?,
            reason: optional("reason", self.reason.as_deref(), 512)?,
            duration_minutes: self
                .duration_minutes
                .map(|d| bounded("duration_minutes", d, 1..=MAX_BAN_MINUTES))
                .transpose()?,
            delete_message_seconds: bounded(
                "delete_message_seconds",
                self.delete_message_seconds.unwrap_or(0),
                0..=MAX_DELETE_MESSAGE_SECONDS,
            )?,
        })
    }
}

impl BanInput<'_> {
    pub fn sentinel_values(&self) -> Vec<(&'static str, String)> {
        let span = match self.duration_minutes {
            Some(minutes) => format!("DURATION {minutes}"),
            None => "PERMANENT".to_owned(),
        };
        vec![
            ("user_id", self.user_id.to_string()),
            ("PERMANENT|DURATION N", span),
        ]
    }
}

/// `POST /mutes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMuteBody {
    /// The Discord user to mute (a snowflake).
    pub user_id: Option<String>,
    /// Mute length in minutes (1 to 40320); above 1440 the mute is destructive.
    pub duration_minutes: Option<u32>,
    /// Why (at most 512 characters).
    pub reason: Option<String>,
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
}

pub struct MuteInput<'a> {
    pub user_id: Snowflake,
    pub duration_minutes: u32,
    pub reason: Option<&'a str>,
}

impl AddMuteBody {
    pub fn validate(&self) -> Result<MuteInput<'_>, ApiError> {
        let minutes = self.duration_minutes.ok_or_else(|| {
            ApiError::validation("duration_minutes", "duration_minutes is required")
        })?;
        Ok(MuteInput {
            user_id: Snowflake::parse("user_id", required("user_id", &self.user_id, 20)?)?,
            duration_minutes: bounded("duration_minutes", minutes, 1..=MAX_MUTE_MINUTES)?,
            reason: optional("reason", self.reason.as_deref(), 512)?,
        })
    }
}

impl MuteInput<'_> {
    pub fn sentinel_values(&self) -> Vec<(&'static str, String)> {
        vec![
            ("user_id", self.user_id.to_string()),
            ("N", self.duration_minutes.to_string()),
        ]
    }
}

/// `POST /mass-purge`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MassPurgeBody {
    /// The channel to purge (a snowflake).
    pub channel_id: Option<String>,
    /// How many recent messages to delete (1 to 1000).
    pub count: Option<u32>,
    /// Why (at most 512 characters).
    pub reason: Option<String>,
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
}

pub struct PurgeInput<'a> {
    pub channel_id: Snowflake,
    pub count: u32,
    pub reason: Option<&'a str>,
}

impl MassPurgeBody {
    pub fn validate(&self) -> Result<PurgeInput<'_>, ApiError> {
        let count = self
            .count
            .ok_or_else(|| ApiError::validation("count", "count is required"))?;
        Ok(PurgeInput {
            channel_id: Snowflake::parse(
                "channel_id",
                required("channel_id", &self.channel_id, 20)?,
            )?,
            count: bounded("count", count, 1..=MAX_PURGE)?,
            reason: optional("reason", self.reason.as_deref(), 512)?,
        })
    }
}

impl PurgeInput<'_> {
    pub fn sentinel_values(&self) -> Vec<(&'static str, String)> {
        vec![
            ("count", self.count.to_string()),
            ("channel_id", self.channel_id.to_string()),
        ]
    }
}

/// `POST /servers/{server_id}/rcon/run`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRconBody {
    /// One line of RCON, at most 1000 characters.
    pub command: Option<String>,
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
    /// The path's server, echoed (see [`echoed_id`]).
    #[serde(alias = "serverId")]
    #[schemars(skip)]
    pub server_id: Option<String>,
}

/// The destructive-actions page says a sentinel's `{user_id}`, `{strikeId}` and the like
/// "come from the JSON body", so a script may send the id a path already carries in the
/// body too. Taken when it names the same record (ids compared without regard to case);
/// refused, naming both, when it does not: the call must not act on one record while the
/// script meant another.
pub fn echoed_id(field: &str, sent: Option<&str>, in_path: &str) -> Result<(), ApiError> {
    match sent {
        Some(sent) if !sent.trim().eq_ignore_ascii_case(in_path) => Err(ApiError::validation(
            field,
            format!("{field} in the body ({sent}) is not the one in the path ({in_path})"),
        )),
        _ => Ok(()),
    }
}

impl RunRconBody {
    pub fn validate(&self) -> Result<&str, ApiError> {
        let command = required("command", &self.command, 1000)?;
        if command.contains(['\n', '\r', '\0']) {
            return Err(ApiError::validation(
                "command",
                "command must be a single line",
            ));
        }
        Ok(command)
    }
}

/// The body of a DELETE on a destructive route: the sentinel (it may be absent), and the
/// path's id echoed (see [`echoed_id`]).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationOnly {
    #[serde(rename = "_confirmation")]
    #[schemars(skip)]
    pub confirmation: Option<String>,
    #[serde(alias = "userId")]
    #[schemars(skip)]
    pub user_id: Option<String>,
    #[serde(alias = "strikeId")]
    #[schemars(skip)]
    pub strike_id: Option<String>,
}

impl ConfirmationOnly {
    /// Checks the ids echoed in the body against the path's `path_field` (`user_id` or
    /// `strike_id`); an id the route has no use for is refused as an unknown field is.
    pub fn check_echoed(&self, path_field: &str, in_path: &str) -> Result<(), ApiError> {
        for (field, sent) in [("user_id", &self.user_id), ("strike_id", &self.strike_id)] {
            if field == path_field {
                echoed_id(field, sent.as_deref(), in_path)?;
            } else if sent.is_some() {
                return Err(ApiError::validation(
                    field,
                    format!("{field} is not a field of this call"),
                ));
            }
        }
        Ok(())
    }
}
