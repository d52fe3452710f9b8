//! List pages answered from memory while nothing has changed: a read made by every
//! guarded list call would otherwise hand a query to SQLite's worker threads each time.
//! An entry is served only while the store's data generation is the one it was read
//! under (every committed change of this process bumps it, so a write acknowledged to a
//! client is seen by the next read) and for at most a second (so a change made by another
//! process, such as the admin CLI, is seen within it).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guildgate_core::model::Page;

/// Above this many pages the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;
const TTL: Duration = Duration::from_secs(1);

struct Entry {
    generation: u64,
    at: Instant,
    page: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ReadCache {
    pub fn get<T: Clone + 'static>(&self, key: &str, generation: u64) -> Option<Page<T>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        if entry.generation != generation || entry.at.elapsed() >= TTL {
            return None;
        }
        entry.page.downcast_ref::<Page<T>>().cloned()
    }

    pub fn put<T: Clone + Send + Sync + 'static>(
        &self,
        key: String,
        generation: u64,
        page: &Page<T>,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                page: Arc::new(page.clone()),
            },
        );
    }
}
