//! A write's statements run through `&mut Writer`, which sends the writer's deferred
//! `SAVEPOINT` (and the last writer's `RELEASE`) in front of its first statement: one
//! round trip to SQLite's worker thread for both, where there were two. While one writer
//! holds the connection every other writer waits, so a round trip saved here is one saved
//! for every write.
//!
//! SQLite runs the statements of one text in order and stops at the first error, and
//! sqlx yields one result per finished statement. So when the bookkeeping statements'
//! results have come back, they ran: only then does the writer count its savepoint as
//! open. Should the text fail or be cut off before that, the writer stays marked
//! interrupted: its later statements are refused and the next writer to take the
//! connection rolls the group back (`Writer::recover`), as for any cut-off bookkeeping.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, ready};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use sqlx::sqlite::{SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, Sqlite};

use super::{Ending, Writer};

/// The bookkeeping that can ride in front of a statement. It fails only when the writer's
/// flags are wrong or SQLite has rolled the transaction back on its own (a full disk, an
/// I/O error); either way the writer is then left interrupted.
const OPEN: &str = "SAVEPOINT write";
const RELEASE_AND_OPEN: &str = "RELEASE write; SAVEPOINT write";

/// Combined texts are kept (sqlx needs the text to outlive the statement, and keeps it
/// prepared). Statement texts come from this crate's code, so there are few; past this
/// many, the bookkeeping goes in a round trip of its own rather than grow the set.
const MAX_COMBINED: usize = 2_048;

type Step = Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>;

impl Writer {
    /// The bookkeeping owed before this writer's first statement, and how many
    /// statements it is.
    fn owed(&self) -> Option<(&'static str, usize)> {
        if !self.savepoint_deferred {
            return None;
        }
        Some(match self.unfinished {
            None => (OPEN, 1),
            Some(Ending::Release) => (RELEASE_AND_OPEN, 2),
            Some(Ending::Rollback) => unreachable!("a rollback is never deferred"),
        })
    }

    /// Interrupted, or the group was rolled back during this turn (`fail_group`): no
    /// statement may run outside the shared transaction.
    pub(super) fn refuses_statements(&self) -> bool {
        self.interrupted || !self.open
    }

    /// The owed bookkeeping ran: the savepoint is open.
    fn savepoint_opened(&mut self) {
        self.savepoint_deferred = false;
        self.unfinished = None;
        self.interrupted = false;
    }
}

/// `prefix; sql`, kept for the life of the process.
fn combined(prefix: &'static str, sql: &str) -> Option<&'static str> {
    type Texts = Mutex<HashMap<Box<str>, &'static str>>;
    static AFTER_OPEN: OnceLock<Texts> = OnceLock::new();
    static AFTER_RELEASE_AND_OPEN: OnceLock<Texts> = OnceLock::new();
    let texts = if prefix == OPEN {
        &AFTER_OPEN
    } else {
        &AFTER_RELEASE_AND_OPEN
    };
    let mut texts = texts
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(text) = texts.get(sql) {
        return Some(text);
    }
    if texts.len() >= MAX_COMBINED {
        return None;
    }
    let text: &'static str = Box::leak(format!("{prefix}; {sql}").into_boxed_str());
    texts.insert(sql.into(), text);
    Some(text)
}

fn refused() -> sqlx::Error {
    sqlx::Error::Protocol("this write's savepoint could not be opened; it is given up".into())
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("open", &self.open)
            .field("unfinished", &self.unfinished)
            .field("savepoint_deferred", &self.savepoint_deferred)
            .field("interrupted", &self.interrupted)
            .finish_non_exhaustive()
    }
}

/// The steps of a combined text, less the bookkeeping's own results. The writer counts
/// as interrupted from the first poll (when the text is sent) until those results are in.
struct Bookkept<'e> {
    steps: BoxStream<'e, Step>,
    /// Bookkeeping statements whose results have not come back yet.
    owed: usize,
    unfinished: &'e mut Option<Ending>,
    savepoint_deferred: &'e mut bool,
    interrupted: &'e mut bool,
}

impl Stream for Bookkept<'_> {
    type Item = Step;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Step>> {
        let this = &mut *self;
        loop {
            if this.owed > 0 {
                *this.interrupted = true;
            }
            let step = ready!(this.steps.poll_next_unpin(cx));
            if this.owed > 0 && matches!(step, Some(Ok(Either::Left(_)))) {
                this.owed -= 1;
                if this.owed == 0 {
                    *this.savepoint_deferred = false;
                    *this.unfinished = None;
                    *this.interrupted = false;
                }
                continue;
            }
            return Poll::Ready(step);
        }
    }
}

impl<'c> Executor<'c> for &'c mut Writer {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(self, mut query: E) -> BoxStream<'e, Step>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        if self.refuses_statements() {
            return stream::once(async { Err(refused()) }).boxed();
        }
        let Some((prefix, statements)) = self.owed() else {
            return self.conn.fetch_many(query);
        };
        let Some(text) = combined(prefix, query.sql()) else {
            // The bookkeeping on its own, then the statement.
            let mut query = Some(query);
            return stream::once(async move {
                self.bookkeeping(prefix).await.map_err(|_| refused())?;
                self.savepoint_opened();
                Ok::<_, sqlx::Error>(self)
            })
            .map_ok(move |writer| {
                let query = query.take().expect("one statement");
                writer.conn.fetch_many(query)
            })
            .try_flatten()
            .boxed();
        };
        let arguments = match query.take_arguments() {
            Ok(arguments) => arguments,
            Err(err) => return stream::once(async { Err(sqlx::Error::Encode(err)) }).boxed(),
        };
        let persistent = query.persistent();
        let combined = sqlx::query_with(text, arguments.unwrap_or_default()).persistent(persistent);
        let Writer {
            conn,
            unfinished,
            savepoint_deferred,
            interrupted,
            ..
        } = self;
        Box::pin(Bookkept {
            steps: conn.fetch_many(combined),
            owed: statements,
            unfinished,
            savepoint_deferred,
            interrupted,
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        if self.owed().is_none() && !self.refuses_statements() {
            // sqlx's own, which stops SQLite after the first row.
            return self.conn.fetch_optional(query);
        }
        Box::pin(async move {
            let mut steps = self.fetch_many(query);
            while let Some(step) = steps.try_next().await? {
                if let Either::Right(row) = step {
                    return Ok(Some(row));
                }
            }
            Ok(None)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.conn.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.conn.describe(sql)
    }
}
