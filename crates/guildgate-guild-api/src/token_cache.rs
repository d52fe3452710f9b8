//! Token lookups, remembered briefly. A guarded call would otherwise spend a database
//! round trip finding its token (with its issuer and guild) before anything else. An entry
//! is served only while the store's auth generation is unchanged (so a revocation or a lost
//! capability committed by this process takes effect at once) and for at most `ttl` (so a
//! change made by another process, such as the admin CLI, takes effect within it).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use guildgate_core::model::TokenAuth;
use guildgate_storage::{Store, StoreResult};

/// Above this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 20_000;

struct Entry {
    found: Option<TokenAuth>,
    generation: u64,
    at: Instant,
}

pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Lookups answered from memory and lookups that went to the database, so far.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The token with this secret hash (unknown ones are remembered too).
    pub async fn find(
        &self,
        store: &dyn Store,
        secret_hash: [u8; 32],
    ) -> StoreResult<Option<TokenAuth>> {
        let generation = store.auth_generation();
        if !self.ttl.is_zero() {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = entries.get(&secret_hash)
                && entry.generation == generation
                && entry.at.elapsed() < self.ttl
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.found.clone());
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found = store.token_by_hash(&secret_hash).await?;
        if !self.ttl.is_zero() {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                secret_hash,
                Entry {
                    found: found.clone(),
                    generation,
                    at: Instant::now(),
                },
            );
        }
        Ok(found)
    }
}
