//! What an owner does to their tokens, pairings, keys and account. The admin CLI and the
//! dashboard call the same functions, so a token minted from either follows one set of
//! rules and leaves one kind of audit row (tagged `cli` or `dashboard`).

mod account;
mod leaks;
mod pairing;
mod shard_keys;
mod tasks_keys;
mod tokens;

pub use account::{create_user, sign_in_session, sweep_expired_sessions};
pub use leaks::{LeakReport, MAX_REPORTED, revoke_leaked};
pub use pairing::{PairingDecision, decide_pairing};
pub use shard_keys::{
    issue_client_token, mint_shard_key, revoke_client_tokens, revoke_shard_key, set_shard_tier,
};
pub use tasks_keys::{mint_tasks_key, revoke_tasks_key};
pub use tokens::{
    Expiry, MintRequest, close_window, mint_token, open_window, parse_cidrs, renew_token,
    revoke_token, rotate_token, sweep_rotated_tokens,
};

use guildgate_core::audit::{ActorSource, AuditEvent};
use guildgate_core::clock::Millis;
use guildgate_core::crypto::SecretHasher;
use guildgate_core::error::ApiError;
use guildgate_storage::{Store, StoreError};

/// What an owner action failed with: a rule (shown to the owner) or the database.
#[derive(Debug)]
pub enum OwnerError {
    Api(ApiError),
    Store(StoreError),
}

impl std::fmt::Display for OwnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OwnerError::Api(e) => f.write_str(&e.message),
            OwnerError::Store(StoreError::Conflict(_)) => f.write_str("that record already exists"),
            OwnerError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OwnerError {}

impl From<ApiError> for OwnerError {
    fn from(e: ApiError) -> Self {
        OwnerError::Api(e)
    }
}

impl From<StoreError> for OwnerError {
    fn from(e: StoreError) -> Self {
        OwnerError::Store(e)
    }
}

pub type OwnerResult<T> = Result<T, OwnerError>;

/// Who acts, from where, and when: every audit row of an owner action carries it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub source: ActorSource,
    /// The signed-in owner (the dashboard); the CLI acts as whoever runs it.
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub now: Millis,
}

impl Actor {
    pub fn cli(now: Millis) -> Self {
        Self {
            source: ActorSource::Cli,
            user_id: None,
            ip: None,
            request_id: None,
            now,
        }
    }

    /// The server's own work (sweepers, leak reports), from `ip` when a request caused it.
    pub fn system(now: Millis, ip: Option<String>) -> Self {
        Self {
            source: ActorSource::System,
            user_id: None,
            ip,
            request_id: None,
            now,
        }
    }

    /// The audit row of `action` on `target`.
    pub fn event(&self, guild_id: Option<&str>, action: &str, target: Option<&str>) -> AuditEvent {
        let mut event = AuditEvent::cli(self.now, guild_id, action, target);
        event.actor_source = self.source;
        event.actor_user_id = self.user_id.clone();
        event.ip = self.ip.clone();
        event.request_id = self.request_id.clone();
        event
    }
}

/// The store and the keyed hash every owner action needs.
#[derive(Clone, Copy)]
pub struct Owner<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a SecretHasher,
}
