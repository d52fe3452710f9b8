//! The domain: guilds, members, tokens, windows and the moderation records, with the rules
//! that decide how they change. Storage persists these; surfaces render them.

use ipnet::IpNet;
use serde::Serialize;

use crate::audit::ActorSource;
use crate::capability::CapabilitySet;
use crate::clock::{Millis, serde_time};
use crate::error::{ApiError, ErrorCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuildTier {
    Pro,
    Free,
}

impl GuildTier {
    pub fn as_str(self) -> &'static str {
        match self {
            GuildTier::Pro => "pro",
            GuildTier::Free => "free",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pro" => Some(GuildTier::Pro),
            "free" => Some(GuildTier::Free),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guild {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub tier: GuildTier,
    /// MCP is an opt-in (Labs) feature per guild.
    pub mcp_enabled: bool,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Member {
    pub guild_id: String,
    pub user_id: String,
    #[serde(serialize_with = "serialize_caps")]
    pub capabilities: CapabilitySet,
    #[serde(serialize_with = "serde_time::required")]
    pub added_at: Millis,
}

pub fn serialize_caps<S: serde::Serializer>(caps: &CapabilitySet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(caps.names())
}

/// Why a token stopped working, kept with it.
pub mod revoke_reason {
    pub const BY_OWNER: &str = "revoked by owner";
    pub const ISSUER_LEFT: &str = "issuer left the guild";
    pub const LEFT_PRO: &str = "guild left the pro tier";
    pub const ROTATED: &str = "replaced by rotation; grace period over";
    pub const LEAKED: &str = "reported as leaked";
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub guild_id: String,
    pub user_id: String,
    pub name: String,
    #[serde(serialize_with = "serialize_caps")]
    pub capabilities: CapabilitySet,
    pub allowed_cidrs: Vec<IpNet>,
    pub allow_self_reauth: bool,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
    #[serde(serialize_with = "serde_time::optional")]
    pub expires_at: Option<Millis>,
    #[serde(serialize_with = "serde_time::optional")]
    pub revoked_at: Option<Millis>,
    pub revoked_reason: Option<String>,
    #[serde(serialize_with = "serde_time::optional")]
    pub last_used_at: Option<Millis>,
    pub last_used_ip: Option<String>,
    /// How it was minted: `cli`, `dashboard`, or `mcp` (the device flow).
    pub source: String,
    /// Set when the token was rotated: the id of its successor. It works until its
    /// shortened expiry (the grace period), then is revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

/// Tokens paired through the device flow for an MCP client.
pub const SOURCE_MCP: &str = "mcp";
pub const SOURCE_CLI: &str = "cli";
pub const SOURCE_DASHBOARD: &str = "dashboard";

impl TokenRecord {
    pub fn status(&self, now: Millis) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// A token found by its hash, with what its authority depends on right now.
#[derive(Clone, Debug)]
pub struct TokenAuth {
    pub token: TokenRecord,
    /// The issuer's capabilities now; `None` once the issuer is no longer a member.
    pub issuer_capabilities: Option<CapabilitySet>,
    pub guild_tier: GuildTier,
    pub guild_mcp_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReauthWindow {
    pub window_id: String,
    #[serde(skip)]
    pub token_id: String,
    #[serde(serialize_with = "serde_time::required")]
    pub opened_at: Millis,
    #[serde(serialize_with = "serde_time::required")]
    pub expires_at: Millis,
    pub opened_by: ActorSource,
}

/// Re-auth windows last fifteen minutes.
pub const REAUTH_WINDOW_MILLIS: Millis = 15 * crate::clock::MINUTE;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Minor,
    Major,
}

impl Severity {
    /// Accepted in any case, as the quickstart sends `minor`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "MINOR" => Some(Severity::Minor),
            "MAJOR" => Some(Severity::Major),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "MINOR",
            Severity::Major => "MAJOR",
        }
    }

    pub fn points(self) -> u8 {
        match self {
            Severity::Minor => 1,
            Severity::Major => 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Strike {
    pub id: String,
    pub strike_id: String,
    pub guild_id: String,
    pub user_id: String,
    pub player_name: Option<String>,
    pub in_game_id: Option<String>,
    pub reason: String,
    pub category: Option<String>,
    pub severity: Severity,
    pub points: u8,
    pub issued_by: String,
    pub token_id: Option<String>,
    #[serde(serialize_with = "serde_time::required")]
    pub issued_at: Millis,
    #[serde(serialize_with = "serde_time::optional")]
    pub removed_at: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ticket {
    pub id: String,
    pub guild_id: String,
    pub opened_by: String,
    pub subject: String,
    pub status: String,
    pub claimed_by: Option<String>,
    #[serde(serialize_with = "serde_time::optional")]
    pub claimed_at: Option<Millis>,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

impl Ticket {
    /// Claiming one's own claim again is a no-op; someone else's is ALREADY_CLAIMED.
    pub fn claim(&mut self, user_id: &str, now: Millis) -> Result<(), ApiError> {
        match &self.claimed_by {
            Some(holder) if holder == user_id => Ok(()),
            Some(_) => Err(ApiError::new(
                ErrorCode::AlreadyClaimed,
                "This ticket is already claimed by another user.",
            )
            .with_detail("claimed_by", self.claimed_by.clone())),
            None => {
                self.claimed_by = Some(user_id.to_owned());
                self.claimed_at = Some(now);
                Ok(())
            }
        }
    }

    /// Only the holder releases a claim; an unclaimed ticket stays unclaimed.
    pub fn unclaim(&mut self, user_id: &str) -> Result<(), ApiError> {
        match &self.claimed_by {
            Some(holder) if holder != user_id => Err(ApiError::new(
                ErrorCode::AlreadyClaimed,
                "This ticket is claimed by another user; only they can release it.",
            )
            .with_detail("claimed_by", self.claimed_by.clone())),
            _ => {
                self.claimed_by = None;
                self.claimed_at = None;
                Ok(())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Ban {
    pub id: String,
    pub guild_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub duration_minutes: Option<u32>,
    pub delete_message_seconds: u32,
    pub issued_by: String,
    #[serde(
        serialize_with = "serde_time::required",
        deserialize_with = "serde_time::parse_required"
    )]
    pub issued_at: Millis,
    #[serde(
        serialize_with = "serde_time::optional",
        deserialize_with = "serde_time::parse_optional"
    )]
    pub expires_at: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Mute {
    pub id: String,
    pub guild_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub duration_minutes: u32,
    pub issued_by: String,
    #[serde(
        serialize_with = "serde_time::required",
        deserialize_with = "serde_time::parse_required"
    )]
    pub issued_at: Millis,
    #[serde(
        serialize_with = "serde_time::required",
        deserialize_with = "serde_time::parse_required"
    )]
    pub expires_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Purge {
    pub id: String,
    pub guild_id: String,
    pub channel_id: String,
    pub count: u32,
    pub reason: Option<String>,
    pub issued_by: String,
    #[serde(
        serialize_with = "serde_time::required",
        deserialize_with = "serde_time::parse_required"
    )]
    pub issued_at: Millis,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GameServer {
    pub id: String,
    pub guild_id: String,
    pub name: String,
    pub host: String,
    pub port: u16,
    #[serde(serialize_with = "serde_time::required")]
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RconRun {
    pub id: String,
    pub guild_id: String,
    pub server_id: String,
    pub command: String,
    pub issued_by: String,
    #[serde(serialize_with = "serde_time::required")]
    pub issued_at: Millis,
    pub status: String,
    pub output: Option<String>,
}

/// A stored audit row as the API returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    pub id: String,
    #[serde(serialize_with = "serde_time::required")]
    pub at: Millis,
    pub guild_id: Option<String>,
    pub actor_source: String,
    pub actor_user_id: Option<String>,
    pub token_id: Option<String>,
    pub token_name: Option<String>,
    pub action: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub outcome: String,
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub target: Option<String>,
}

/// `{data, next_cursor}`: the paginated envelope of every list endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Newest first; `before` is the id the previous page ended on (ids are ULIDs, so they
/// sort by time).
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub before: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> &str) -> Self {
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| id_of(r).to_owned())
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}
