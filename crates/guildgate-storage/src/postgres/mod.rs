//! The PostgreSQL implementation, for deployments that run several guildgate instances
//! on one database: a connection pool, each write its own transaction (PostgreSQL commits
//! concurrent writers in parallel and groups their WAL flushes itself), rows read for a
//! change locked `FOR UPDATE`, and migrations run at start under an advisory lock so
//! instances starting together apply each one once.

shared_sql_modules!();

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgConnection, PgPool, Postgres};

use crate::migrate;
use crate::{StoreError, StoreResult};

/// The names the shared SQL code (`src/sql/`) is written against.
pub(crate) type Backend = PgStore;
pub(crate) type DbRow = sqlx::postgres::PgRow;
pub(crate) type Conn = PgConnection;
pub(crate) type Db = sqlx::Postgres;
pub(crate) type Pool = PgPool;
/// One write: its own transaction.
pub(crate) type Write = sqlx::Transaction<'static, Postgres>;

/// A write's audit row is inserted in its transaction at once.
pub(crate) async fn append_audit_row(
    tx: &mut Write,
    event: &guildgate_core::audit::AuditEvent,
) -> StoreResult<()> {
    write_tx::insert_audit_rows(&mut **tx, std::slice::from_ref(event)).await
}

/// Appended to a read made inside a write transaction: holds the rows of `of` until the
/// transaction ends, so a read-change-write is not raced by another connection.
pub(crate) fn lock_rows(of: &str) -> String {
    format!(" FOR UPDATE OF {of}")
}

/// Like `lock_rows`, but rows another transaction holds are skipped, not waited for.
pub(crate) fn lock_rows_unless_held(of: &str) -> String {
    format!(" FOR UPDATE OF {of} SKIP LOCKED")
}

/// The channel every instance listens on: payload `{guild_id}:{seq}` of each committed
/// shard event.
const EVENT_CHANNEL: &str = "guildgate_shard_events";
pub(crate) const EVENT_NOTIFY: Option<&str> =
    Some("SELECT pg_notify('guildgate_shard_events', $1)");

/// The channel of committed changes: `auth` (what some token may do changed: revocation,
/// capabilities, tier, re-auth windows) or `data` (anything a cached page may show).
const CHANGE_CHANNEL: &str = "guildgate_changes";
pub(crate) const CHANGE_NOTIFY: Option<&str> = Some("SELECT pg_notify('guildgate_changes', $1)");
pub(crate) const CHANGE_AUTH: &str = "auth";
pub(crate) const CHANGE_DATA: &str = "data";

/// Who hears committed shard events: one sender per `event_feed` taken.
type EventSubscribers =
    Arc<std::sync::Mutex<Vec<tokio::sync::mpsc::UnboundedSender<(String, i64)>>>>;

/// The one `LISTEN` connection of this instance, on both channels. A change another
/// instance (or the admin CLI) commits bumps this instance's cache generations, so a
/// revocation anywhere is refused here at once rather than when a cache entry ends; after
/// a lost connection (announcements may have been missed) both are bumped. A shard event
/// is handed to the event feeds without waiting (their channels are unbounded and hold
/// only ids), so a slow event consumer never delays an invalidation.
async fn follow_database(
    pool: PgPool,
    auth: Arc<AtomicU64>,
    data: Arc<AtomicU64>,
    events: EventSubscribers,
) {
    use std::sync::atomic::Ordering;
    let forget_everything = || {
        auth.fetch_add(1, Ordering::AcqRel);
        data.fetch_add(1, Ordering::AcqRel);
    };
    loop {
        if pool.is_closed() {
            // The store is closed: its feeds end (their receivers see the end).
            events.lock().unwrap_or_else(|p| p.into_inner()).clear();
            return;
        }
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen_all([CHANGE_CHANNEL, EVENT_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listening.await {
            Ok(listener) => listener,
            Err(err) => {
                if !pool.is_closed() {
                    tracing::warn!(%err, "cannot listen for other instances' changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        // Listening again after a loss: what was announced in between is unknown.
        forget_everything();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) if note.channel() == EVENT_CHANNEL => {
                    let Some((guild, seq)) = note.payload().rsplit_once(':') else {
                        continue;
                    };
                    let Ok(seq) = seq.parse::<i64>() else {
                        continue;
                    };
                    let mut feeds = events.lock().unwrap_or_else(|p| p.into_inner());
                    feeds.retain(|feed| feed.send((guild.to_owned(), seq)).is_ok());
                }
                Ok(Some(note)) => {
                    if note.payload() == CHANGE_AUTH {
                        auth.fetch_add(1, Ordering::AcqRel);
                    }
                    data.fetch_add(1, Ordering::AcqRel);
                }
                // Reconnected: whatever was announced meanwhile is unknown.
                Ok(None) => forget_everything(),
                Err(err) => {
                    if !pool.is_closed() {
                        tracing::warn!(%err, "lost the database's change feed; reconnecting");
                        forget_everything();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    break;
                }
            }
        }
    }
}

impl PgStore {
    /// Every committed shard event of every instance, as (guild id, seq), from this
    /// instance's `LISTEN` connection (which reconnects by itself after a loss).
    pub(crate) async fn event_feed(&self) -> StoreResult<Option<crate::EventFeed>> {
        if self.reader.is_closed() {
            return Ok(None);
        }
        let (sender, feed) = tokio::sync::mpsc::unbounded_channel();
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sender);
        Ok(Some(feed))
    }
}

pub(crate) const SHARED_BY_INSTANCES: bool = true;
/// PostgreSQL only knows numbered placeholders (`$1`).
pub(crate) const NUMBERED_PLACEHOLDERS: bool = true;

/// True when the process named `locked_by` (parameter `$3`) is alive: it is this one, or
/// it has a session open (every instance's connections carry its name as
/// `application_name`, and its listening connection stays open while it runs).
pub(crate) const HOLDER_ALIVE: &str = "(locked_by = $3 OR EXISTS (SELECT 1 FROM pg_stat_activity a \
     WHERE a.application_name = idempotency_keys.locked_by))";

/// Any number: every instance migrating the same database takes the same lock.
const MIGRATION_LOCK: i64 = 0x6775_696c_6467_6174;

pub(crate) async fn lock_migrations(conn: &mut Conn) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Hands out write transactions from the pool.
#[derive(Clone)]
pub(crate) struct Writer(PgPool);

impl Writer {
    pub async fn begin(&self) -> StoreResult<Write> {
        Ok(self.0.begin().await?)
    }

    pub async fn close(&self) {
        self.0.close().await;
    }
}

#[derive(Clone)]
pub struct PgStore {
    reader: PgPool,
    writer: Writer,
    /// Bumped after every commit of this process that changes what a token may do.
    auth_generation: Arc<AtomicU64>,
    /// Bumped after every commit of this process that changes data a cached read shows.
    data_generation: Arc<AtomicU64>,
    reads: Arc<crate::read_cache::ReadCache>,
    events: EventSubscribers,
    /// This process's name on the idempotency keys it holds, and its connections'
    /// `application_name`.
    instance: Arc<str>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and brings the
    /// schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let instance: Arc<str> = crate::instance_name().into();
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad PostgreSQL URL: {e}")))?
            .application_name(&instance);
        // A short acquire timeout: while the server is away, a request answers "retry"
        // in a few seconds instead of hanging.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        {
            let mut conn = pool.acquire().await?;
            let migrated = schema::migrate(&mut conn, migrate::POSTGRES).await;
            // The advisory lock belongs to the session: let it go before the connection
            // returns to the pool, whatever the migration did.
            conn.execute("SELECT pg_advisory_unlock_all()").await?;
            migrated?;
        }
        let (auth_generation, data_generation) = (Arc::default(), Arc::default());
        let events = EventSubscribers::default();
        tokio::spawn(follow_database(
            pool.clone(),
            Arc::clone(&auth_generation),
            Arc::clone(&data_generation),
            events.clone(),
        ));
        Ok(Self {
            reader: pool.clone(),
            writer: Writer(pool),
            auth_generation,
            data_generation,
            reads: Arc::default(),
            events,
            instance,
        })
    }
}
