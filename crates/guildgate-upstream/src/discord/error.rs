//! Why a Discord call failed, in words an operator can act on.

use super::*;

/// Why a call failed. Messages never contain the bot token.
#[derive(Debug)]
pub enum DiscordError {
    /// The configuration cannot work (empty token, bad base URL).
    Config(String),
    /// An id that is not a snowflake; nothing was sent.
    InvalidId { field: &'static str, value: String },
    /// The request did not reach Discord, or its answer was cut off.
    Unreachable(String),
    /// No connection (`connect`) or no full answer in time.
    Timeout { connect: bool, after: Duration },
    /// Discord answered 5xx.
    Server(StatusCode),
    /// 401: the token is wrong or was reset.
    InvalidToken,
    /// 403: the bot lacks a permission in the guild or channel.
    MissingPermission {
        permission: &'static str,
        code: Option<u64>,
        message: String,
    },
    /// A 429 (or an exhausted bucket) asked for a longer wait than the limits allow.
    RateLimited { retry_after: Duration },
    /// Any other 4xx, with Discord's JSON error code and message.
    Refused {
        status: StatusCode,
        code: Option<u64>,
        message: String,
    },
    /// The channel to purge belongs to another guild (or to none).
    ChannelNotInGuild {
        channel_id: String,
        guild_id: String,
    },
    /// A 2xx whose body is not what the API documents.
    BadAnswer(String),
    /// A purge stopped part-way; `deleted` messages are gone.
    PurgeInterrupted {
        deleted: u32,
        cause: Box<DiscordError>,
    },
}

impl DiscordError {
    /// Whether the same call may succeed later without anyone changing anything.
    pub fn retryable(&self) -> bool {
        match self {
            DiscordError::Unreachable(_)
            | DiscordError::Timeout { .. }
            | DiscordError::Server(_)
            | DiscordError::RateLimited { .. } => true,
            DiscordError::PurgeInterrupted { cause, .. } => cause.retryable(),
            _ => false,
        }
    }
}

impl std::fmt::Display for DiscordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscordError::Config(why) => write!(f, "the Discord configuration is unusable: {why}"),
            DiscordError::InvalidId { field, value } => {
                write!(f, "{field} {value:?} is not a Discord snowflake")
            }
            DiscordError::Unreachable(why) => write!(f, "Discord could not be reached ({why})"),
            DiscordError::Timeout {
                connect: true,
                after,
            } => write!(
                f,
                "Discord did not accept a connection within {} s",
                after.as_secs_f64()
            ),
            DiscordError::Timeout {
                connect: false,
                after,
            } => write!(
                f,
                "Discord did not answer within {} s; the action may or may not have been applied",
                after.as_secs_f64()
            ),
            DiscordError::Server(status) => write!(
                f,
                "Discord answered {status}: it is having trouble, try again later"
            ),
            DiscordError::InvalidToken => f.write_str(
                "Discord refused the bot token (401 Unauthorized): the configured bot token is \
                 invalid or was reset in the Discord developer portal",
            ),
            DiscordError::MissingPermission {
                permission,
                code,
                message,
            } => {
                write!(
                    f,
                    "the bot lacks the {permission} permission here, or the target's highest \
                     role is above the bot's (Discord 403"
                )?;
                if let Some(code) = code {
                    write!(f, ", code {code}")?;
                }
                write!(f, ": {message})")
            }
            DiscordError::RateLimited { retry_after } => write!(
                f,
                "Discord rate-limited the bot for {:.1} s, longer than guildgate waits; try again later",
                retry_after.as_secs_f64()
            ),
            DiscordError::Refused {
                status,
                code,
                message,
            } => {
                write!(f, "Discord refused the call ({status}")?;
                if let Some(code) = code {
                    write!(f, ", code {code}")?;
                }
                write!(f, ": {message})")
            }
            DiscordError::ChannelNotInGuild {
                channel_id,
                guild_id,
            } => write!(
                f,
                "channel {channel_id} is not a channel of guild {guild_id}"
            ),
            DiscordError::BadAnswer(why) => {
                write!(f, "Discord's answer was not understood ({why})")
            }
            DiscordError::PurgeInterrupted { deleted, cause } => write!(
                f,
                "{cause} (the purge stopped after deleting {deleted} messages)"
            ),
        }
    }
}

impl std::error::Error for DiscordError {}
