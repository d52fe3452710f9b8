//! Audit events: one row per call made with a token (reads too) and per owner action.

use serde::Serialize;

use crate::clock::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorSource {
    Token,
    Mcp,
    Dashboard,
    Cli,
    /// The server's own scheduled work (lifting timed bans, ending rotation grace periods).
    System,
}

impl ActorSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorSource::Token => "token",
            ActorSource::Mcp => "mcp",
            ActorSource::Dashboard => "dashboard",
            ActorSource::Cli => "cli",
            ActorSource::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Token,
            Self::Mcp,
            Self::Dashboard,
            Self::Cli,
            Self::System,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// What happened, as stored: `success` or the error code.
pub const OUTCOME_SUCCESS: &str = "success";
/// A call answered with the saved response of an earlier call with its Idempotency-Key:
/// nothing ran again, and the earlier call's row is the one that records the change.
pub const OUTCOME_REPLAYED: &str = "replayed";
/// The header a replayed response carries.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: String,
    /// Which API the call came through: `guild` or `tasks`.
    pub surface: &'static str,
    pub at: Millis,
    pub guild_id: Option<String>,
    pub actor_source: ActorSource,
    /// The user acted for: the token's issuer, or the owner at the CLI.
    pub actor_user_id: Option<String>,
    pub token_id: Option<String>,
    pub token_name: Option<String>,
    /// The policy name (`add_strike`) or an admin action (`token.mint`).
    pub action: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub outcome: String,
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// The affected object, such as a strike id or a user id.
    pub target: Option<String>,
}

impl AuditEvent {
    /// An owner's action at the admin CLI.
    pub fn cli(at: Millis, guild_id: Option<&str>, action: &str, target: Option<&str>) -> Self {
        Self::unattended(ActorSource::Cli, at, guild_id, action, target)
    }

    /// A successful action no HTTP request made (the CLI, the server's own schedules).
    pub fn unattended(
        source: ActorSource,
        at: Millis,
        guild_id: Option<&str>,
        action: &str,
        target: Option<&str>,
    ) -> Self {
        Self {
            id: crate::ids::new_ulid(),
            surface: "guild",
            at,
            guild_id: guild_id.map(str::to_owned),
            actor_source: source,
            actor_user_id: None,
            token_id: None,
            token_name: None,
            action: action.to_owned(),
            method: None,
            path: None,
            outcome: OUTCOME_SUCCESS.to_owned(),
            status: None,
            request_id: None,
            ip: None,
            target: target.map(str::to_owned),
        }
    }
}
