//! Group commit on SQLite's one writer connection.
//!
//! Every write transaction runs as a savepoint inside one shared SQLite transaction, and
//! one `COMMIT` (one fsync under `synchronous=FULL`) makes everything released since the
//! last one durable. A writer is acknowledged only after the commit that carries its
//! savepoint, so nothing is acknowledged before it is on disk; under load, many requests
//! share each fsync. Writers still take the connection one at a time (SQLite has one
//! writer), but each holds it only for its statements, not for the disk.
//!
//! Each hand-off to SQLite's worker thread is a turn in two threads' queues while every
//! other writer waits, so a savepoint is ended by whoever takes the connection next, in
//! the same round trip as its own `SAVEPOINT` (or the group's `COMMIT`): released when its
//! writer committed, rolled back to when it was dropped without commit (the other
//! savepoints of the group are untouched). That `RELEASE write; SAVEPOINT write` in turn
//! rides in front of the writer's first statement (`deferred.rs`), so a one-statement
//! write costs one round trip. The group ends in one more: the last savepoint's ending,
//! the group's audit rows and `COMMIT` in one text. If `COMMIT` or any of these fails,
//! every writer of the group gets the error and none of their changes stay.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use guildgate_core::audit::AuditEvent;
use sqlx::{Executor, SqliteConnection};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

use super::write_tx::{
    AUDIT_ROWS_PER_STATEMENT, Query, audit_insert_sql, bind_audit_rows, insert_audit_rows,
};
use crate::{StoreError, StoreResult};

mod deferred;
mod wal_sync;

pub use wal_sync::WalSync;

pub struct Writer {
    conn: SqliteConnection,
    /// The shared transaction is open (`BEGIN IMMEDIATE` ran, `COMMIT` has not).
    open: bool,
    /// How the last writer's savepoint is to end, when it has not yet: its `RELEASE` or
    /// `ROLLBACK TO` goes out in one round trip with whatever the connection does next.
    unfinished: Option<Ending>,
    /// Writers whose savepoints are released, waiting for the next commit.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    /// The audit rows of those writers: inserted together just before the `COMMIT`, so
    /// each commits with its change and the group's rows cost one statement. A row that
    /// fails to insert fails the whole group.
    audit: Vec<AuditEvent>,
    /// A bookkeeping statement was cut off (its caller's request was dropped while it ran):
    /// SQLite may have run part of it, so the flags above may not match the transaction.
    interrupted: bool,
    /// The writer holding the connection has not opened its savepoint yet: its `SAVEPOINT`
    /// (after the last writer's `RELEASE`) goes out in front of its first statement, in
    /// the same round trip (see `deferred.rs`).
    savepoint_deferred: bool,
}

#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Its writer committed: release it into the group.
    Release,
    /// Its writer gave up (dropped it without commit): undo it.
    Rollback,
}

impl Ending {
    /// The statements that end the last writer's savepoint.
    fn sql(self) -> &'static str {
        match self {
            Ending::Release => "RELEASE write",
            Ending::Rollback => "ROLLBACK TO write; RELEASE write",
        }
    }
}

impl Writer {
    /// Runs `sql` (bookkeeping only: savepoints, `BEGIN`, `COMMIT`) as a cached prepared
    /// statement (a bare `&str` is parsed again each time, and these run for every write).
    async fn bookkeeping(&mut self, sql: &'static str) -> StoreResult<()> {
        self.run_for_group(sqlx::query(sql)).await
    }

    /// Runs the group's own `query`: one round trip to SQLite's worker thread however
    /// many statements it holds. Should it fail or be cut off, the state of the shared
    /// transaction is unknown, so the whole group is rolled back and its waiting writers
    /// are told; none of their changes stay.
    async fn run_for_group(&mut self, query: Query<'_>) -> StoreResult<()> {
        self.interrupted = true;
        let done = query.execute(&mut self.conn).await;
        self.interrupted = false;
        self.fail_group_unless_ok(done.map(|_| ()).map_err(StoreError::from))
            .await
    }

    async fn fail_group_unless_ok(&mut self, done: StoreResult<()>) -> StoreResult<()> {
        if let Err(err) = &done {
            self.fail_group(&err.to_string()).await;
        }
        done
    }

    /// Rolls the shared transaction back and tells its waiting writers; none of their
    /// changes stay. The flags then hold again: no transaction is open.
    async fn fail_group(&mut self, cause: &str) {
        self.interrupted = true;
        let _ = self.conn.execute("ROLLBACK").await;
        self.interrupted = false;
        self.open = false;
        self.unfinished = None;
        self.savepoint_deferred = false;
        self.audit.clear();
        self.answer_waiting(Err(format!("commit failed: {cause}")));
    }

    /// Whoever takes the connection after an interrupted statement starts from a known
    /// state, at the price of the group so far (its writers were not yet answered).
    async fn recover(&mut self) {
        if self.interrupted {
            self.fail_group("a write was interrupted while the group was open")
                .await;
        }
    }

    /// Inserts the group's audit rows and commits. On failure the group is already
    /// rolled back and its writers told.
    async fn commit_open_group(&mut self) -> StoreResult<()> {
        let audit = std::mem::take(&mut self.audit);
        match (self.unfinished, audit.len()) {
            // COMMIT keeps an unreleased savepoint's changes: only an abandoned one is undone.
            (ending, 0) => {
                self.bookkeeping(match ending {
                    Some(Ending::Rollback) => "ROLLBACK TO write; RELEASE write; COMMIT",
                    _ => "COMMIT",
                })
                .await?
            }
            // The usual case, in one round trip while every writer waits: SQLite stops at
            // the first statement that fails, so the rows never go in on their own.
            (Some(ending), 1..=AUDIT_ROWS_PER_STATEMENT) => {
                let finish = sqlx::query(finish_sql(ending, audit.len()));
                self.run_for_group(bind_audit_rows(finish, &audit)).await?;
            }
            (ending, _) => {
                // Ending the last savepoint first also proves the shared transaction is
                // still open: were it not, the rows must not go in on their own.
                self.bookkeeping(ending.unwrap_or(Ending::Release).sql())
                    .await?;
                self.unfinished = None;
                self.interrupted = true;
                let inserted = insert_audit_rows(&mut self.conn, &audit).await;
                self.interrupted = false;
                self.fail_group_unless_ok(inserted).await?;
                self.bookkeeping("COMMIT").await?;
            }
        }
        self.open = false;
        self.unfinished = None;
        Ok(())
    }

    fn answer_waiting(&mut self, outcome: Result<(), String>) {
        for waiter in self.waiting.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
    }
}

/// The end of a group with `rows` audit rows (1 to [`AUDIT_ROWS_PER_STATEMENT`]) as one
/// text: the last savepoint's ending, the rows' `INSERT`, `COMMIT`. Each text is built
/// once and kept prepared.
fn finish_sql(ending: Ending, rows: usize) -> &'static str {
    type Texts = [OnceLock<String>; AUDIT_ROWS_PER_STATEMENT];
    static AFTER_RELEASE: Texts = [const { OnceLock::new() }; AUDIT_ROWS_PER_STATEMENT];
    static AFTER_ROLLBACK: Texts = [const { OnceLock::new() }; AUDIT_ROWS_PER_STATEMENT];
    let texts = match ending {
        Ending::Release => &AFTER_RELEASE,
        Ending::Rollback => &AFTER_ROLLBACK,
    };
    texts[rows - 1].get_or_init(|| format!("{}; {}; COMMIT", ending.sql(), audit_insert_sql(rows)))
}

#[derive(Clone)]
pub struct GroupWriter {
    writer: Arc<Mutex<Writer>>,
    wake: Arc<Notify>,
    /// When set, `conn` runs `synchronous=NORMAL` and each group is fsynced here, after
    /// its `COMMIT` and off the connection, before its writers are answered (`wal_sync.rs`).
    wal_sync: Option<Arc<WalSync>>,
}

impl GroupWriter {
    /// Takes over `conn` and starts the task that commits groups.
    pub fn new(conn: SqliteConnection, wal_sync: Option<WalSync>) -> Self {
        let group = GroupWriter {
            wal_sync: wal_sync.map(Arc::new),
            writer: Arc::new(Mutex::new(Writer {
                conn,
                open: false,
                unfinished: None,
                waiting: Vec::new(),
                audit: Vec::new(),
                interrupted: false,
                savepoint_deferred: false,
            })),
            wake: Arc::new(Notify::new()),
        };
        let committer = group.clone();
        tokio::spawn(async move {
            loop {
                committer.wake.notified().await;
                committer.commit_group().await;
            }
        });
        group
    }

    /// Starts a write: the connection, inside a fresh savepoint. The previous writer's
    /// savepoint is ended in the same round trip.
    pub async fn begin(&self) -> StoreResult<Savepoint> {
        if self.wal_sync.as_ref().is_some_and(|sync| sync.has_failed()) {
            return Err(StoreError::Unavailable(wal_sync::DISK_FAILED.into()));
        }
        let mut writer = self.writer.clone().lock_owned().await;
        writer.recover().await;
        let sql = match (writer.open, writer.unfinished) {
            (true, None | Some(Ending::Release)) => None,
            // These can fail for reasons of their own (another process holding SQLite's
            // write lock past the busy timeout): they run on their own, as before.
            (false, _) => Some("BEGIN IMMEDIATE; SAVEPOINT write"),
            (true, Some(Ending::Rollback)) => {
                Some("ROLLBACK TO write; RELEASE write; SAVEPOINT write")
            }
        };
        match sql {
            None => writer.savepoint_deferred = true,
            Some(sql) => {
                writer.bookkeeping(sql).await?;
                writer.open = true;
                writer.unfinished = None;
            }
        }
        Ok(Savepoint {
            writer: Some(writer),
            wake: self.wake.clone(),
            audit: Vec::new(),
        })
    }

    /// Commits everything released so far and answers those writers once it is on disk.
    async fn commit_group(&self) {
        let mut writer = self.writer.lock().await;
        writer.recover().await;
        if !writer.open {
            return;
        }
        if self.wal_sync.as_ref().is_some_and(|sync| sync.has_failed()) {
            // Committed now, these writes would be seen and perhaps kept, while their
            // writers are refused.
            writer.fail_group(wal_sync::DISK_FAILED).await;
            return;
        }
        if writer.commit_open_group().await.is_err() {
            return;
        }
        let Some(wal_sync) = &self.wal_sync else {
            writer.answer_waiting(Ok(()));
            return;
        };
        // The next writers take the connection while this group's fsync runs.
        let committed = std::mem::take(&mut writer.waiting);
        drop(writer);
        let outcome = wal_sync.sync().await;
        for waiter in committed {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// Commits what is pending and closes the connection.
    pub async fn close(&self) {
        self.commit_group().await;
        let mut writer = self.writer.lock().await;
        let _ = writer.conn.execute("PRAGMA optimize").await;
    }
}

/// One writer's turn on the connection. Deref gives the connection for its statements.
pub struct Savepoint {
    writer: Option<OwnedMutexGuard<Writer>>,
    wake: Arc<Notify>,
    /// This write's audit rows, handed to the group when it commits.
    audit: Vec<AuditEvent>,
}

impl Savepoint {
    /// Keeps an audit row to be inserted with the group, if this write commits.
    pub fn stage_audit(&mut self, event: &AuditEvent) {
        self.audit.push(event.clone());
    }

    /// Releases the savepoint into the group and waits until the group is committed.
    pub async fn commit(mut self) -> StoreResult<()> {
        let mut writer = self.writer.take().expect("a savepoint commits once");
        if writer.refuses_statements() {
            // Its group was rolled back during its turn (its savepoint could not be
            // opened): nothing of it can commit.
            writer.savepoint_deferred = false;
            drop(writer);
            return Err(StoreError::Unavailable(
                "the write's transaction was rolled back; retry".into(),
            ));
        }
        // A writer that ran no statement never opened its savepoint: the last writer's
        // ending is still the one to send.
        if !std::mem::take(&mut writer.savepoint_deferred) {
            writer.unfinished = Some(Ending::Release);
        }
        writer.audit.append(&mut self.audit);
        let (done, wait) = oneshot::channel();
        writer.waiting.push(done);
        drop(writer);
        self.wake.notify_one();
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(cause)) => Err(StoreError::Unavailable(cause)),
            Err(_) => Err(StoreError::Unavailable("the writer stopped".into())),
        }
    }
}

impl Drop for Savepoint {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            if !std::mem::take(&mut writer.savepoint_deferred) {
                writer.unfinished = Some(Ending::Rollback);
            }
            self.wake.notify_one();
        }
    }
}

/// `&mut *savepoint` is the executor for the write's statements (`deferred.rs`).
impl Deref for Savepoint {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        self.writer.as_ref().expect("live savepoint")
    }
}

impl DerefMut for Savepoint {
    fn deref_mut(&mut self) -> &mut Writer {
        self.writer.as_mut().expect("live savepoint")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{ConnectOptions, Connection};

    /// A group still being written when an fsync fails is rolled back, not committed:
    /// committed, its writes could be read (and perhaps kept) while its writers are
    /// told they were refused.
    #[tokio::test]
    async fn a_group_under_way_when_an_fsync_fails_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut conn = options.connect().await.unwrap();
        conn.execute("CREATE TABLE t (n INTEGER)").await.unwrap();
        let group = GroupWriter::new(conn, Some(WalSync::open(path.clone()).unwrap()));

        let mut first = group.begin().await.unwrap();
        first.execute("INSERT INTO t VALUES (1)").await.unwrap();
        first.commit().await.unwrap();

        let mut under_way = group.begin().await.unwrap();
        under_way.execute("INSERT INTO t VALUES (2)").await.unwrap();
        group.wal_sync.as_ref().unwrap().fail();
        let refused = under_way.commit().await.expect_err("the disk failed");
        assert!(
            refused.to_string().contains("writes are refused"),
            "{refused}"
        );
        assert!(group.begin().await.is_err(), "later writes are refused");

        let mut reader = options.connect().await.unwrap();
        let kept: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut reader)
            .await
            .unwrap();
        assert_eq!(kept, [1], "only the write acknowledged before the failure");
        reader.close().await.unwrap();
    }
}
