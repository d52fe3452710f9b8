//! Group commit on SQLite's one writer connection.
//!
//! Every write transaction runs as a savepoint inside one shared SQLite transaction, and
//! one `COMMIT` (one fsync under `synchronous=FULL`) makes everything released since the
//! last one durable. A writer is acknowledged only after the commit that carries its
//! savepoint, so nothing is acknowledged before it is on disk; under load, many requests
//! share each fsync. Writers still take the connection one at a time (SQLite has one
//! writer), but each holds it only for its statements, not for the disk.
//!
//! A savepoint dropped without `commit` is rolled back to by whoever takes the connection
//! next; the other savepoints of the group are untouched. If a `COMMIT` fails, every
//! writer of the group gets the error and none of their changes stay.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Executor, SqliteConnection};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

use crate::{StoreError, StoreResult};

struct Writer {
    conn: SqliteConnection,
    /// The shared transaction is open (`BEGIN IMMEDIATE` ran, `COMMIT` has not).
    open: bool,
    /// A savepoint was dropped without commit: roll back to it before anything else.
    rollback_pending: bool,
    /// Writers whose savepoints are released, waiting for the next commit.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
}

impl Writer {
    async fn settle(&mut self) -> StoreResult<()> {
        if self.rollback_pending {
            self.rollback_pending = false;
            self.conn
                .execute("ROLLBACK TO write; RELEASE write")
                .await?;
        }
        Ok(())
    }
}

/// Runs one of the statements every write repeats as a cached prepared statement (a bare
/// `&str` is parsed again each time, and these run for every write).
async fn prepared(sql: &'static str, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

#[derive(Clone)]
pub struct GroupWriter {
    writer: Arc<Mutex<Writer>>,
    wake: Arc<Notify>,
}

impl GroupWriter {
    /// Takes over `conn` and starts the task that commits groups.
    pub fn new(conn: SqliteConnection) -> Self {
        let group = GroupWriter {
            writer: Arc::new(Mutex::new(Writer {
                conn,
                open: false,
                rollback_pending: false,
                waiting: Vec::new(),
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

    /// Starts a write: the connection, inside a fresh savepoint.
    pub async fn begin(&self) -> StoreResult<Savepoint> {
        let mut writer = self.writer.clone().lock_owned().await;
        writer.settle().await?;
        if !writer.open {
            prepared("BEGIN IMMEDIATE", &mut writer.conn).await?;
            writer.open = true;
        }
        prepared("SAVEPOINT write", &mut writer.conn).await?;
        Ok(Savepoint {
            writer: Some(writer),
            wake: self.wake.clone(),
        })
    }

    /// Commits everything released so far and answers those writers.
    async fn commit_group(&self) {
        let mut writer = self.writer.lock().await;
        if let Err(err) = writer.settle().await {
            tracing::error!(%err, "could not roll back an abandoned write");
        }
        if !writer.open {
            return;
        }
        let result = prepared("COMMIT", &mut writer.conn).await;
        if result.is_err() {
            // A failed COMMIT may leave the transaction open: end it, losing the group.
            let _ = writer.conn.execute("ROLLBACK").await;
        }
        writer.open = false;
        let outcome = result.map_err(|e| e.to_string());
        for waiter in writer.waiting.drain(..) {
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
}

impl Savepoint {
    /// Releases the savepoint and waits until the group it joined is committed.
    pub async fn commit(mut self) -> StoreResult<()> {
        let mut writer = self.writer.take().expect("a savepoint commits once");
        if let Err(err) = prepared("RELEASE write", &mut writer.conn).await {
            writer.rollback_pending = true;
            self.wake.notify_one();
            return Err(err.into());
        }
        let (done, wait) = oneshot::channel();
        writer.waiting.push(done);
        drop(writer);
        self.wake.notify_one();
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(cause)) => Err(StoreError::Unavailable(format!("commit failed: {cause}"))),
            Err(_) => Err(StoreError::Unavailable("the writer stopped".into())),
        }
    }
}

impl Drop for Savepoint {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            writer.rollback_pending = true;
            self.wake.notify_one();
        }
    }
}

impl Deref for Savepoint {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.writer.as_ref().expect("live savepoint").conn
    }
}

impl DerefMut for Savepoint {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.writer.as_mut().expect("live savepoint").conn
    }
}
