//! The write path every surface shares: settle an `Idempotency-Key` (Stripe's rules), open
//! the transaction, and commit the change with its audit row and saved response together.
//! A write dropped before `commit` rolls back and lets its key go, so a retry runs afresh.

use std::sync::Arc;

use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::Millis;
use sha2::{Digest, Sha256};

use crate::{IdempotencyStart, Store, StoreResult, WriteTx};

/// A hold on a key is presumed to belong to a crashed attempt after this long.
const LOCK_MILLIS: Millis = 60_000;
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// What a write with (or without) a key may do.
pub enum Admission {
    Proceed(KeyHold),
    /// Completed before with the same request: answer this again.
    Replay {
        status: u16,
        body: String,
    },
    /// Another request with this key is still running.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}

/// The request a key stands for: its method, path and body bytes (`None` for a call that
/// takes no body).
pub fn fingerprint(method: &str, path: &str, body: Option<&[u8]>) -> [u8; 32] {
    let body_digest: [u8; 32] = body.map_or([0; 32], |body| Sha256::digest(body).into());
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(body_digest);
    hasher.finalize().into()
}

/// Settles `key` (owned by `owner_id`, the token or API key). The transaction is opened
/// afterwards, with [`KeyHold::begin`], so a call refused in between (a rate limit) never
/// takes the database's writer. `fingerprint` is called only when there is a key: a call
/// without one is not remembered, so its request is not hashed.
pub async fn admit(
    store: &Arc<dyn Store>,
    owner_id: &str,
    key: Option<&str>,
    fingerprint: impl FnOnce() -> [u8; 32],
    now: Millis,
) -> StoreResult<Admission> {
    let held = match key {
        None => None,
        Some(key) => match store
            .start_idempotent(owner_id, key, &fingerprint(), now, now - LOCK_MILLIS)
            .await?
        {
            IdempotencyStart::Proceed => Some(key.to_owned()),
            IdempotencyStart::Replay { status, body } => {
                return Ok(Admission::Replay { status, body });
            }
            IdempotencyStart::InFlight => return Ok(Admission::InFlight),
            IdempotencyStart::Mismatch => return Ok(Admission::Mismatch),
        },
    };
    Ok(Admission::Proceed(KeyHold {
        store: store.clone(),
        owner_id: owner_id.to_owned(),
        key: held,
        held_at: now,
    }))
}

/// A settled key (or none). Dropped before its write commits a response, it lets the key
/// go, so a retry runs afresh.
pub struct KeyHold {
    store: Arc<dyn Store>,
    owner_id: String,
    key: Option<String>,
    /// When the hold was taken: which hold is this request's.
    held_at: Millis,
}

impl KeyHold {
    /// Opens the transaction the change will commit in.
    pub async fn begin(self) -> StoreResult<HeldWrite> {
        let tx = self.store.begin().await?;
        Ok(HeldWrite {
            tx: Some(tx),
            hold: self,
        })
    }
}

impl Drop for KeyHold {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let store = self.store.clone();
            let owner_id = std::mem::take(&mut self.owner_id);
            // The write failed, often because the database did: keep trying while the
            // hold lasts, so a retry is not told "in flight" for a minute after the
            // database is back. A late release cannot free a hold a retry has taken over
            // since: it lets go only of the hold taken at `held_at`.
            let held_at = self.held_at;
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let mut wait = std::time::Duration::from_millis(100);
                while let Err(err) = store.release_idempotent(&owner_id, &key, held_at).await {
                    if started.elapsed().as_millis() + wait.as_millis() >= LOCK_MILLIS as u128 {
                        tracing::warn!(%err, "could not release an idempotency key");
                        return;
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_secs(2));
                }
            });
        }
    }
}

/// An open write. Fields drop in order: the transaction rolls back, then the key is let go.
pub struct HeldWrite {
    tx: Option<Box<dyn WriteTx>>,
    hold: KeyHold,
}

impl HeldWrite {
    pub fn tx(&mut self) -> &mut dyn WriteTx {
        self.tx
            .as_deref_mut()
            .expect("the transaction lives until commit")
    }

    /// Commits what the transaction holds so far (an intent, say) and opens the next one;
    /// the key stays held.
    pub async fn checkpoint(&mut self) -> StoreResult<()> {
        let tx = self.tx.take().expect("the transaction lives until commit");
        tx.commit().await?;
        self.tx = Some(self.hold.store.begin().await?);
        Ok(())
    }

    /// Commits what the transaction holds without a saved response, and lets the key go:
    /// for a call that failed after something had to be written down.
    pub async fn commit_without_response(mut self) -> StoreResult<()> {
        let tx = self.tx.take().expect("the transaction lives until commit");
        tx.commit().await
    }

    /// Commits the change, its audit row and (with a key) its response, in one transaction.
    pub async fn commit(mut self, audit: &AuditEvent, status: u16, body: &str) -> StoreResult<()> {
        let mut tx = self.tx.take().expect("the transaction lives until commit");
        tx.append_audit(audit).await?;
        if let Some(key) = &self.hold.key {
            tx.complete_idempotent(&self.hold.owner_id, key, self.hold.held_at, status, body)
                .await?;
        }
        tx.commit().await?;
        // Saved with its response: nothing to let go. (Had the commit failed, the hold
        // would let the key go; had it committed anyway, the release finds no held key.)
        self.hold.key = None;
        Ok(())
    }
}
