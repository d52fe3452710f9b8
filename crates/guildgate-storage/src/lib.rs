//! Persistence behind one interface. `Store` answers reads; `WriteTx` makes changes, and
//! every change commits in the same transaction as its audit row (and, for idempotent
//! calls, its saved response). SQLite is the embedded default, PostgreSQL serves several
//! instances; both run the same SQL (`src/sql/`). No SQL leaves this crate.

// Each backend compiles the shared SQL files of `src/sql/` as its own modules, against its
// own row, connection and pool types: loading them twice is the design.
#![allow(clippy::duplicate_mod)]

/// The query code of `src/sql/`, compiled once inside each backend's module against that
/// backend's `Backend`, `Conn`, `Write` and SQL hooks: one list, so the two cannot drift.
macro_rules! shared_sql_modules {
    () => {
        #[path = "../sql/owner.rs"]
        mod owner;
        #[path = "../sql/rows.rs"]
        mod rows;
        #[path = "../sql/schema.rs"]
        mod schema;
        #[path = "../sql/shard.rs"]
        mod shard;
        #[path = "../sql/store.rs"]
        mod store;
        #[path = "../sql/task_rows.rs"]
        mod task_rows;
        #[path = "../sql/tasks.rs"]
        mod tasks;
        #[path = "../sql/write_tx.rs"]
        mod write_tx;
    };
}

mod audit_sink;
pub mod idempotent;
mod migrate;
mod owner;
pub mod postgres;
mod read_cache;
pub mod redis_limits;
mod shard;
pub mod sqlite;
mod tasks;
#[cfg(feature = "testing")]
pub mod testing;

pub use owner::{OwnerReads, OwnerWrites};
pub use shard::{
    DeliveryResult, DueDelivery, ShardDoc, ShardReads, ShardRow, ShardWrites, StoredEvent,
    TemporaryAssignment, WebhookRow,
};
pub use tasks::{ContainerKind, NewTask, TaskReads, TaskWrites};

use async_trait::async_trait;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::Millis;
use guildgate_core::device::DeviceCode;
use guildgate_core::intent::{Intent, IntentStatus};
use guildgate_core::model::{
    AuditRow, Ban, GameServer, Guild, GuildTier, Member, Mute, Page, PageRequest, Purge, RconRun,
    ReauthWindow, Strike, Ticket, TokenAuth, TokenRecord,
};

pub use audit_sink::{AuditSink, CommitObserver};

/// Opens the store a database URL names: `postgres://` (or `postgresql://`) for
/// PostgreSQL, anything else for SQLite (`sqlite://path` or a bare path; `durability`
/// applies to SQLite only, PostgreSQL's is the server's `synchronous_commit`).
pub async fn open(url: &str, durability: Durability) -> StoreResult<std::sync::Arc<dyn Store>> {
    if is_postgres(url) {
        Ok(std::sync::Arc::new(PgStore::open(url).await?))
    } else {
        Ok(std::sync::Arc::new(
            SqliteStore::open_with(url, durability).await?,
        ))
    }
}

/// A name for this server process, unique across processes and restarts.
fn instance_name() -> String {
    format!(
        "guildgate-{}",
        guildgate_core::ids::new_ulid().to_lowercase()
    )
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
pub use postgres::PgStore;
pub use sqlite::{Durability, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (the row already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy or unreachable; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Internal(String),
    /// The database was written by a newer guildgate.
    #[error("{0}")]
    Schema(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Database error codes that mean "try again": SQLite's busy and locked (5, 6, 261, 517);
/// PostgreSQL's connection failures (class 08), insufficient resources such as too many
/// connections (class 53), operator intervention such as a shutdown or a cancelled query
/// (class 57), and a serialization failure or deadlock (40001, 40P01).
fn retryable_code(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "517" | "40001" | "40P01")
        || ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(retryable_code) => {
                StoreError::Unavailable(db.message().to_owned())
            }
            // The connection broke or could not be had: the database is away, not wrong.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => StoreError::Unavailable(err.to_string()),
            _ => StoreError::Internal(err.to_string()),
        }
    }
}

/// (guild id, event seq) of each committed shard event, from every instance.
pub type EventFeed = tokio::sync::mpsc::UnboundedReceiver<(String, i64)>;

/// Which tokens a revocation covers.
#[derive(Clone, Copy, Debug)]
pub enum RevokeScope<'a> {
    Token(&'a str),
    User { guild_id: &'a str, user_id: &'a str },
    Guild(&'a str),
}

/// Which kind of restriction a user may be under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restriction {
    Ban,
    Mute,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// `guild` (the default) or `tasks`.
    pub surface: Option<String>,
    pub actor_source: Option<String>,
    pub token_id: Option<String>,
    pub outcome: Option<String>,
    /// Rows at or after this time.
    pub since: Option<Millis>,
    /// Rows before this time.
    pub until: Option<Millis>,
}

/// What an `Idempotency-Key` already stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum IdempotencyStart {
    /// First use, or the holder died (or its hold is stale): go ahead, the key is held.
    Proceed,
    /// Completed before with the same request: send this again.
    Replay { status: u16, body: String },
    /// Another request with this key is still running.
    InFlight,
    /// The key was used with another request.
    Mismatch,
}

#[async_trait]
pub trait Store: TaskReads + OwnerReads + ShardReads + Send + Sync + 'static {
    async fn begin(&self) -> StoreResult<Box<dyn WriteTx>>;
    /// Waits for pending commits and closes the connections.
    async fn close(&self);
    /// Whether the database answers (a readiness check).
    async fn ping(&self) -> StoreResult<()>;
    /// Whether other instances may be writing to this database too (PostgreSQL).
    fn shared_by_instances(&self) -> bool;
    /// Committed shard events of every instance sharing this database, as (guild id,
    /// seq); `None` where only one instance can use the database (SQLite).
    async fn event_feed(&self) -> StoreResult<Option<EventFeed>>;
    /// Changes whenever a commit of this process revokes tokens or changes a member's
    /// capabilities or a guild's tier or features: a token cache keyed on it never serves
    /// a stale grant for a change made here. (Changes made by another process, such as the
    /// admin CLI, are seen once a cache entry's short lifetime ends.)
    fn auth_generation(&self) -> u64;

    async fn guild(&self, id: &str) -> StoreResult<Option<Guild>>;
    async fn members(&self, guild_id: &str) -> StoreResult<Vec<Member>>;
    async fn member(&self, guild_id: &str, user_id: &str) -> StoreResult<Option<Member>>;
    async fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenAuth>>;
    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    async fn tokens_of_guild(&self, guild_id: &str) -> StoreResult<Vec<TokenRecord>>;
    async fn current_window(
        &self,
        token_id: &str,
        now: Millis,
    ) -> StoreResult<Option<ReauthWindow>>;
    /// A pairing by its device code's keyed hash.
    async fn device_code(&self, code_hash: &[u8]) -> StoreResult<Option<DeviceCode>>;
    async fn device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>>;
    /// Intents still pending that were written before `created_before`.
    /// Whether the user has an active ban (`bans`) or mute (`mutes`) in the guild.
    async fn is_restricted(
        &self,
        table: Restriction,
        guild_id: &str,
        user_id: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Timed bans whose time is up but that Discord has not been told to lift yet.
    async fn expired_bans(&self, now: Millis, limit: u32) -> StoreResult<Vec<Ban>>;
    async fn pending_intents(&self, created_before: Millis) -> StoreResult<Vec<Intent>>;
    /// How many upstream actions are recorded and not yet settled.
    async fn pending_intent_count(&self) -> StoreResult<i64>;

    async fn strikes(&self, guild_id: &str, page: &PageRequest) -> StoreResult<Page<Strike>>;
    async fn tickets(&self, guild_id: &str, page: &PageRequest) -> StoreResult<Page<Ticket>>;
    async fn ticket(&self, guild_id: &str, id: &str) -> StoreResult<Option<Ticket>>;
    async fn active_bans(
        &self,
        guild_id: &str,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<Ban>>;
    async fn active_mutes(
        &self,
        guild_id: &str,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<Mute>>;
    async fn servers(&self, guild_id: &str, page: &PageRequest) -> StoreResult<Page<GameServer>>;
    /// The server and its sealed RCON password.
    async fn server(&self, guild_id: &str, id: &str) -> StoreResult<Option<(GameServer, Vec<u8>)>>;
    async fn audit(
        &self,
        guild_id: &str,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditRow>>;

    /// Rows that record no change of state (reads, refusals), written in one transaction.
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// Records a token's last use; best effort, batched by the caller.
    async fn touch_tokens(&self, uses: &[(String, Millis, String)]) -> StoreResult<()>;

    /// Holds `key` for this token, or says what it already stands for. A hold older than
    /// `stale_before` belongs to a crashed attempt whose writes never committed, so it is
    /// taken over.
    async fn start_idempotent(
        &self,
        token_id: &str,
        key: &str,
        fingerprint: &[u8],
        now: Millis,
        stale_before: Millis,
    ) -> StoreResult<IdempotencyStart>;
    /// Lets go of the hold taken at `held_at` (the `now` it was started with) whose request
    /// ended without a saved response; a hold taken over since is left alone.
    async fn release_idempotent(
        &self,
        token_id: &str,
        key: &str,
        held_at: Millis,
    ) -> StoreResult<()>;
    /// Drops keys created before `before` (callers keep them at least 24 h); a hold that old
    /// belongs to an attempt that never finished.
    async fn expire_idempotency(&self, before: Millis) -> StoreResult<u64>;
}

/// One write transaction. Dropping it without `commit` rolls everything back.
#[async_trait]
pub trait WriteTx: TaskWrites + OwnerWrites + ShardWrites + Send {
    async fn insert_guild(&mut self, guild: &Guild) -> StoreResult<()>;
    async fn set_guild_tier(&mut self, id: &str, tier: GuildTier) -> StoreResult<bool>;
    async fn set_guild_mcp(&mut self, id: &str, enabled: bool) -> StoreResult<bool>;
    async fn insert_intent(&mut self, intent: &Intent) -> StoreResult<()>;
    /// Marks a timed ban as lifted by its expiry.
    async fn lift_expired_ban(&mut self, id: &str, now: Millis) -> StoreResult<()>;
    /// Holds a pending intent for this transaction: false when it is settled, or held by
    /// another instance's transaction (its call is still in flight, so it is not left over
    /// from a crash). A crashed instance's holds end with its connections.
    async fn claim_intent(&mut self, id: &str) -> StoreResult<bool>;
    /// Settles a pending intent; false when it was settled already (by another instance
    /// reconciling it), and then the caller must not record the action again.
    async fn resolve_intent(
        &mut self,
        id: &str,
        status: IntentStatus,
        now: Millis,
    ) -> StoreResult<bool>;
    async fn insert_device_code(&mut self, code: &DeviceCode, code_hash: &[u8]) -> StoreResult<()>;
    /// Saves a pairing's status, poll time, interval and approval (by its user code).
    async fn update_device_code(
        &mut self,
        code: &DeviceCode,
        token_id: Option<&str>,
    ) -> StoreResult<()>;
    async fn upsert_member(&mut self, member: &Member) -> StoreResult<()>;
    async fn remove_member(&mut self, guild_id: &str, user_id: &str) -> StoreResult<bool>;

    async fn insert_token(&mut self, token: &TokenRecord, secret_hash: &[u8]) -> StoreResult<()>;
    async fn revoke_tokens(
        &mut self,
        scope: RevokeScope<'_>,
        now: Millis,
        reason: &str,
    ) -> StoreResult<u64>;
    /// Opens `window`, closing any other open window of its token.
    async fn open_window(&mut self, window: &ReauthWindow) -> StoreResult<()>;
    async fn close_windows(&mut self, token_id: &str, now: Millis) -> StoreResult<u64>;

    async fn insert_strike(&mut self, strike: &Strike) -> StoreResult<()>;
    async fn strike(&mut self, guild_id: &str, id: &str) -> StoreResult<Option<Strike>>;
    async fn remove_strike(&mut self, id: &str, now: Millis, by: &str) -> StoreResult<()>;

    async fn insert_ticket(&mut self, ticket: &Ticket) -> StoreResult<()>;
    async fn ticket(&mut self, guild_id: &str, id: &str) -> StoreResult<Option<Ticket>>;
    async fn save_ticket_claim(&mut self, ticket: &Ticket) -> StoreResult<()>;

    /// Records `ban`, superseding any active ban of the same user.
    async fn replace_ban(&mut self, ban: &Ban) -> StoreResult<()>;
    /// Lifts the user's active ban; false when there was none.
    async fn lift_ban(
        &mut self,
        guild_id: &str,
        user_id: &str,
        now: Millis,
        by: &str,
    ) -> StoreResult<bool>;
    async fn replace_mute(&mut self, mute: &Mute) -> StoreResult<()>;
    async fn lift_mute(
        &mut self,
        guild_id: &str,
        user_id: &str,
        now: Millis,
        by: &str,
    ) -> StoreResult<bool>;
    async fn insert_purge(&mut self, purge: &Purge) -> StoreResult<()>;
    async fn insert_server(
        &mut self,
        server: &GameServer,
        sealed_password: &[u8],
    ) -> StoreResult<()>;
    async fn insert_rcon_run(&mut self, run: &RconRun) -> StoreResult<()>;

    async fn append_audit(&mut self, event: &AuditEvent) -> StoreResult<()>;
    /// Saves the response of the request holding `key` since `held_at`, in this
    /// transaction; a `Conflict` when that hold was taken over by a retry meanwhile.
    async fn complete_idempotent(
        &mut self,
        token_id: &str,
        key: &str,
        held_at: Millis,
        status: u16,
        body: &str,
    ) -> StoreResult<()>;

    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_connection_is_unavailable_and_a_wrong_query_is_not() {
        for err in [
            sqlx::Error::Protocol("unexpected end of message".into()),
            sqlx::Error::WorkerCrashed,
            sqlx::Error::BeginFailed,
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::ErrorKind::UnexpectedEof.into()),
        ] {
            assert!(matches!(StoreError::from(err), StoreError::Unavailable(_)));
        }
        for code in ["08006", "57P01", "57014", "53300", "5", "40P01"] {
            assert!(retryable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "19"] {
            assert!(!retryable_code(code), "{code}");
        }
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Internal(_)
        ));
    }
}
