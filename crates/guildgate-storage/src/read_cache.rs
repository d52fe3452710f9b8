//! Reads answered from memory while nothing has changed (list pages, a token's open
//! re-auth window): each would otherwise hand a query to SQLite's worker threads.
//! An entry is served only while the store's data generation is the one it was read
//! under (every committed change of this process bumps it, so a write acknowledged to a
//! client is seen by the next read) and for at most a second (so a change made by another
//! process, such as the admin CLI, is seen within it).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Above this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;
const TTL: Duration = Duration::from_secs(1);

struct Entry {
    generation: u64,
    at: Instant,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ReadCache {
    pub fn get<T: Clone + 'static>(&self, key: &str, generation: u64) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        if entry.generation != generation || entry.at.elapsed() >= TTL {
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    pub fn put<T: Clone + Send + Sync + 'static>(&self, key: String, generation: u64, value: &T) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                value: Arc::new(value.clone()),
            },
        );
    }
}
