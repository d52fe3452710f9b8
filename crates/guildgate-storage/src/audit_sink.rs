//! Audit rows that record no change of state (reads and refusals) and token last-use
//! stamps are written in batches by one background task, so a read costs no write
//! transaction of its own. Rows of state changes never come here: they commit with the
//! change itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::Store;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::Millis;
use tokio::sync::{mpsc, oneshot};

enum Message {
    Event(Box<AuditEvent>),
    Touch(String, Millis, String),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Message>,
    /// The last stamp queued per token: a token used again within a second from the same
    /// address needs no new stamp (the time shown is to the second).
    /// Keyed on a hash of the token id: no copy of the id per token held.
    recent: Arc<Mutex<HashMap<u64, (Millis, IpAddr)>>>,
    stats: Arc<Stats>,
}

/// Called with how long each batch of rows took to commit (the operators' metrics).
pub type CommitObserver = Box<dyn Fn(Duration) + Send + Sync>;

#[derive(Default)]
struct Stats {
    /// Rows handed to the sink and neither written nor given up on yet.
    rows_pending: AtomicU64,
    rows_written: AtomicU64,
    /// Rows given up on after the database refused them five times.
    rows_dropped: AtomicU64,
    on_commit: OnceLock<CommitObserver>,
}

/// Stamps of one token closer together than this are not queued again.
const TOUCH_EVERY: Millis = 1_000;
const MAX_RECENT: usize = 100_000;

const BATCH: usize = 512;
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);
const QUEUE: usize = 65_536;
/// How long the writer lets rows gather before it writes them (see `run`).
const LINGER: Duration = Duration::from_millis(5);

impl AuditSink {
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::<Stats>::default();
        tokio::spawn(run(store, rx, stats.clone()));
        Self {
            tx,
            recent: Arc::default(),
            stats,
        }
    }

    /// Audit rows handed over and not yet written (queued, or in a batch being written or
    /// retried).
    pub fn queue_depth(&self) -> u64 {
        self.stats.rows_pending.load(Ordering::Relaxed)
    }

    /// Audit rows given up on after the database refused them repeatedly.
    pub fn rows_dropped(&self) -> u64 {
        self.stats.rows_dropped.load(Ordering::Relaxed)
    }

    /// Audit rows this sink has committed.
    pub fn rows_written(&self) -> u64 {
        self.stats.rows_written.load(Ordering::Relaxed)
    }

    /// Sets, once, what is told each batch's commit time.
    pub fn observe_commits(&self, observer: CommitObserver) {
        let _ = self.stats.on_commit.set(observer);
    }

    /// Queues a row. Under overload the caller waits for room rather than lose the row.
    pub async fn record(&self, event: AuditEvent) {
        self.stats.rows_pending.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Message::Event(Box::new(event))).await.is_err() {
            self.stats.rows_pending.fetch_sub(1, Ordering::Relaxed);
            self.stats.rows_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!("audit writer has stopped; an audit row was not written");
        }
    }

    /// Records a token's last use (time and client address), at most once a second.
    pub async fn touch_token(&self, token_id: &str, at: Millis, ip: IpAddr) {
        {
            let key = {
                use std::hash::{BuildHasher, RandomState};
                static SEED: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
                SEED.get_or_init(RandomState::new).hash_one(token_id)
            };
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((last, last_ip)) = recent.get(&key)
                && at - *last < TOUCH_EVERY
                && *last_ip == ip
            {
                return;
            }
            if recent.len() >= MAX_RECENT {
                recent.clear();
            }
            recent.insert(key, (at, ip));
        }
        let _ = self
            .tx
            .try_send(Message::Touch(token_id.to_owned(), at, ip.to_string()));
    }

    /// Returns once everything queued before the call is in the database.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Message>, stats: Arc<Stats>) {
    let mut events = Vec::with_capacity(BATCH);
    let mut touches = Vec::new();
    let mut waiters = Vec::new();
    let mut backlog = false;
    while let Some(first) = rx.recv().await {
        // A pause after the first row lets the rows behind it gather into one
        // transaction: without it, under load this task was woken, and a commit made,
        // for every few dozen rows. Nobody waits on these rows but a flush: one that finds
        // the writer idle is served at once, one sent during the pause waits for it.
        if !backlog && !matches!(first, Message::Flush(_)) {
            tokio::time::sleep(LINGER).await;
        }
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(e) => events.push(*e),
                Message::Touch(id, at, ip) => touches.push((id, at, ip)),
                Message::Flush(done) => waiters.push(done),
            }
            if events.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        backlog = events.len() >= BATCH;
        write(&*store, &mut events, &mut touches, &stats).await;
        for done in waiters.drain(..) {
            let _ = done.send(());
        }
    }
    write(&*store, &mut events, &mut touches, &stats).await;
}

async fn write(
    store: &dyn Store,
    events: &mut Vec<AuditEvent>,
    touches: &mut Vec<(String, Millis, String)>,
    stats: &Stats,
) {
    // An audit row is not given up lightly: while the database is unreachable the batch
    // waits for it, up to ten minutes (the queue behind it fills, and then callers wait
    // for room); a batch the database refuses is retried a few times. Rows given up on
    // are counted.
    let mut refusals = 0;
    let mut attempt: u32 = 0;
    let first_try = Instant::now();
    while !events.is_empty() && refusals < 5 && first_try.elapsed() < GIVE_UP_AFTER {
        attempt += 1;
        let started = Instant::now();
        match store.append_audit(events).await {
            Ok(()) => {
                if let Some(observe) = stats.on_commit.get() {
                    observe(started.elapsed());
                }
                let rows = events.len() as u64;
                stats.rows_written.fetch_add(rows, Ordering::Relaxed);
                stats.rows_pending.fetch_sub(rows, Ordering::Relaxed);
                events.clear();
            }
            Err(err) => {
                if !matches!(err, crate::StoreError::Unavailable(_)) {
                    refusals += 1;
                }
                tracing::error!(%err, rows = events.len(), attempt, "audit batch failed");
                let wait = Duration::from_millis(100 << attempt.min(5));
                tokio::time::sleep(wait.min(Duration::from_secs(2))).await;
            }
        }
    }
    if !events.is_empty() {
        let rows = events.len() as u64;
        stats.rows_dropped.fetch_add(rows, Ordering::Relaxed);
        stats.rows_pending.fetch_sub(rows, Ordering::Relaxed);
        events.clear();
    }
    if !touches.is_empty() {
        // Newest use first per token, then keep only that one.
        touches.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        touches.dedup_by(|a, b| a.0 == b.0);
        if let Err(err) = store.touch_tokens(touches).await {
            tracing::warn!(%err, "could not record token last use");
        }
        touches.clear();
    }
}
