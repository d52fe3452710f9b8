//! The SQLite implementation: WAL mode, one writer connection (SQLite admits one writer
//! at a time, so queueing for it beats retrying on SQLITE_BUSY) with group commit
//! (`group.rs`), and a small pool of readers. Migrations run when the store opens.

mod group;
shared_sql_modules!();

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqliteConnection, SqlitePool};

use group::GroupWriter;

/// The names the shared SQL code (`src/sql/`) is written against.
pub(crate) type Backend = SqliteStore;
pub(crate) type DbRow = sqlx::sqlite::SqliteRow;
pub(crate) type Conn = SqliteConnection;
pub(crate) type Db = sqlx::Sqlite;
pub(crate) type Pool = SqlitePool;
/// One write: a savepoint in the group-committed transaction.
pub(crate) type Write = group::Savepoint;

/// A write's audit row goes in with its group, just before the group's `COMMIT` (see
/// `group.rs`): all-or-nothing with the change still, and one statement per group.
pub(crate) async fn append_audit_row(
    tx: &mut Write,
    event: &guildgate_core::audit::AuditEvent,
) -> StoreResult<()> {
    tx.stage_audit(event);
    Ok(())
}

/// SQLite has one writer at a time: a read inside a write transaction is already stable.
pub(crate) fn lock_rows(_of: &str) -> &'static str {
    ""
}

/// Nothing is held by anyone else either.
pub(crate) fn lock_rows_unless_held(_of: &str) -> &'static str {
    ""
}

/// One SQLite database serves one instance: no one else to tell of new events or changes.
pub(crate) const EVENT_NOTIFY: Option<&str> = None;
pub(crate) const SHARED_BY_INSTANCES: bool = false;
pub(crate) const CHANGE_NOTIFY: Option<&str> = None;
pub(crate) const CHANGE_AUTH: &str = "auth";
pub(crate) const CHANGE_DATA: &str = "data";

/// Many-parameter statements use anonymous `?` placeholders: SQLite finds a named
/// parameter (`$7`) by walking a list, so binding a thousand of them costs a million
/// string compares.
pub(crate) const NUMBERED_PLACEHOLDERS: bool = false;

/// True when the process named `locked_by` (parameter `$3`) is alive. One process serves a
/// SQLite database, so only this one is.
pub(crate) const HOLDER_ALIVE: &str = "locked_by = $3";

impl SqliteStore {
    /// No other instance can share this database's live events.
    pub(crate) async fn event_feed(&self) -> StoreResult<Option<crate::EventFeed>> {
        Ok(None)
    }
}

/// One writer connection migrates; nothing else to lock.
pub(crate) async fn lock_migrations(_: &mut Conn) -> StoreResult<()> {
    Ok(())
}

use crate::migrate;
use crate::{StoreError, StoreResult};

/// When a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is fsynced before it is acknowledged; nothing acknowledged is lost,
    /// even to a power cut. In WAL mode guildgate runs that fsync itself, off the writer
    /// connection (`group/wal_sync.rs`); otherwise SQLite's `synchronous=FULL` does.
    #[default]
    Full,
    /// `synchronous=NORMAL` in WAL mode: commits survive a crash of guildgate but the last
    /// ones may be lost to a power cut or a kernel crash.
    Normal,
}

impl Durability {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "full" => Some(Durability::Full),
            "normal" => Some(Durability::Normal),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: GroupWriter,
    /// Bumped after every commit that changes what a token may do (see `auth_generation`).
    auth_generation: Arc<AtomicU64>,
    /// Bumped after every commit that changes data (not audit rows or last-use stamps):
    /// the read cache's key to freshness.
    data_generation: Arc<AtomicU64>,
    reads: Arc<crate::read_cache::ReadCache>,
    /// This process's name on the idempotency keys it holds.
    instance: Arc<str>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url` (`sqlite://path` or a bare
    /// path), durable on every commit, and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, Durability::Full).await
    }

    pub async fn open_with(url: &str, durability: Durability) -> StoreResult<Self> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .map(|p| p.split('?').next().unwrap_or(p))
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Internal(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // The writer keeps every write statement prepared, and also each first statement
        // with the savepoint bookkeeping in front of it (`group/deferred.rs`).
        let mut writer = options
            .clone()
            .statement_cache_capacity(1_024)
            .connect()
            .await?;
        schema::migrate(&mut writer, migrate::SQLITE).await?;
        // Every write is a savepoint, and a savepoint's undo pages (its sub-journal) past
        // 64 KiB go to a temporary file: an audit batch's did, a file made, written page
        // by page and deleted for each batch. In memory they cost the pages and no system
        // calls. Set after the migrations, whose index builds may sort more than memory
        // should hold.
        sqlx::query("PRAGMA temp_store = memory")
            .execute(&mut writer)
            .await?;
        let wal_sync = match durability {
            Durability::Full => fsync_off_the_connection(&mut writer, &url).await?,
            Durability::Normal => None,
        };
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            reader,
            writer: GroupWriter::new(writer, wal_sync),
            auth_generation: Arc::default(),
            data_generation: Arc::default(),
            reads: Arc::default(),
            instance: crate::instance_name().into(),
        })
    }
}

/// Under `Durability::Full` with the database in WAL mode, the writer connection drops to
/// `synchronous=NORMAL` and the group writer fsyncs the WAL itself before acknowledging
/// (`group/wal_sync.rs`). Anything else (an in-memory database, a file system without
/// WAL) keeps SQLite's own `synchronous=FULL`.
async fn fsync_off_the_connection(
    writer: &mut SqliteConnection,
    url: &str,
) -> StoreResult<Option<group::WalSync>> {
    use sqlx::Executor;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *writer)
        .await?;
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&mut *writer)
            .await?;
    if !mode.eq_ignore_ascii_case("wal") || file.is_empty() {
        tracing::debug!(%url, %mode, "SQLite commits fsync inside COMMIT");
        return Ok(None);
    }
    let wal_sync = match group::WalSync::open(file.into()) {
        Ok(wal_sync) => wal_sync,
        Err(err) => {
            tracing::warn!(%url, %err, "cannot open the WAL to fsync it: SQLite fsyncs inside COMMIT");
            return Ok(None);
        }
    };
    writer.execute("PRAGMA synchronous = NORMAL").await?;
    Ok(Some(wal_sync))
}
