//! The rate limiter every surface draws from: the in-process buckets of one instance, or
//! buckets shared by every instance (Redis, behind [`SharedBuckets`]), decided the same
//! way (token buckets, all or nothing). When the shared store cannot be reached, a read
//! goes through (logged) and a write is refused as retryable: losing a limiter must not
//! stop people from reading, nor let destructive calls through unmetered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use crate::clock::{Clock, Millis};
use crate::limits::{BucketRequest, Decision, LocalLimiter, outcome};

/// Buckets kept outside the process.
#[async_trait]
pub trait SharedBuckets: Send + Sync {
    /// Each bucket's level after the call (one taken from every bucket when all hold one
    /// and `consume`), and whether the call is allowed; one round trip.
    async fn evaluate(
        &self,
        requests: &[BucketRequest],
        now: Millis,
        consume: bool,
    ) -> Result<(bool, Vec<f64>), String>;
}

/// The shared buckets a server uses, if any (set once at start, handed to each surface).
#[derive(Clone, Default)]
pub struct SharedLimits(pub Option<Arc<dyn SharedBuckets>>);

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "SharedLimits(shared)"
        } else {
            "SharedLimits(in process)"
        })
    }
}

/// What a call does, which decides what happens when the shared buckets are unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Goes through, logged.
    Read,
    /// Refused with a retryable "unavailable".
    Write,
    /// The charge of a call already answered (the address budget of a call refused before
    /// it drew it): goes through like a read, and is no call let through.
    Settle,
}

/// The shared buckets could not be reached for a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterDown;

pub struct Limiter {
    clock: Arc<dyn Clock>,
    local: LocalLimiter,
    shared: SharedLimits,
    tally: Tally,
    /// Calls decided without the shared store: reads let through, writes refused.
    unreachable: [AtomicU64; 2],
}

impl Limiter {
    /// In-process buckets only.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with(clock, SharedLimits::default())
    }

    pub fn with(clock: Arc<dyn Clock>, shared: SharedLimits) -> Self {
        Self {
            local: LocalLimiter::new(clock.clone()),
            clock,
            shared,
            tally: Tally::default(),
            unreachable: Default::default(),
        }
    }

    /// Takes one call from every bucket, or from none when any is empty.
    pub async fn decide(
        &self,
        requests: &[BucketRequest],
        access: Access,
    ) -> Result<Decision, LimiterDown> {
        let decision = self.evaluate(requests, access, true).await?;
        for request in requests {
            self.tally.count(request.name, decision.allowed);
        }
        Ok(decision)
    }

    /// Decisions so far: (bucket name, allowed, count).
    pub fn decisions(&self) -> Vec<(&'static str, bool, u64)> {
        self.tally.read()
    }

    /// Calls decided while the shared store was unreachable: (reads let through, writes
    /// refused). A `peek` is not a decision and is not counted.
    pub fn unreachable_decisions(&self) -> (u64, u64) {
        let [reads, writes] = &self.unreachable;
        (
            reads.load(Ordering::Relaxed),
            writes.load(Ordering::Relaxed),
        )
    }

    /// What `decide` would answer, taking nothing.
    pub async fn peek(
        &self,
        requests: &[BucketRequest],
        access: Access,
    ) -> Result<Decision, LimiterDown> {
        self.evaluate(requests, access, false).await
    }

    async fn evaluate(
        &self,
        requests: &[BucketRequest],
        access: Access,
        consume: bool,
    ) -> Result<Decision, LimiterDown> {
        let Some(shared) = &self.shared.0 else {
            return Ok(if consume {
                self.local.decide(requests)
            } else {
                self.local.peek(requests)
            });
        };
        match shared.evaluate(requests, self.clock.now(), consume).await {
            Ok((allowed, levels)) => Ok(outcome(requests.iter().zip(levels), allowed, consume)),
            Err(cause) => match access {
                Access::Settle => Ok(Decision {
                    allowed: true,
                    retry_after_secs: 0,
                    buckets: Vec::new(),
                }),
                Access::Read => {
                    if consume {
                        self.unreachable[0].fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::warn!(%cause, "rate-limit store unreachable; letting a read through");
                    Ok(Decision {
                        allowed: true,
                        retry_after_secs: 0,
                        buckets: Vec::new(),
                    })
                }
                Access::Write => {
                    if consume {
                        self.unreachable[1].fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::warn!(%cause, "rate-limit store unreachable; refusing a write");
                    Err(LimiterDown)
                }
            },
        }
    }
}

/// Decisions counted per bucket name for the operators' metrics. Counted on every call, so
/// without a lock: a bucket name claims a slot once, then each decision is one atomic add.
/// There are a dozen bucket names; names beyond the slots are counted under "other".
struct Tally {
    slots: [TallySlot; TALLY_SLOTS],
    other: [AtomicU64; 2],
}

const TALLY_SLOTS: usize = 32;

#[derive(Default)]
struct TallySlot {
    name: OnceLock<&'static str>,
    /// Refused, allowed.
    counts: [AtomicU64; 2],
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| TallySlot::default()),
            other: Default::default(),
        }
    }
}

impl Tally {
    fn count(&self, name: &'static str, allowed: bool) {
        let counts = self
            .slots
            .iter()
            .find(|slot| *slot.name.get_or_init(|| name) == name)
            .map_or(&self.other, |slot| &slot.counts);
        counts[usize::from(allowed)].fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> Vec<(&'static str, bool, u64)> {
        let named = self
            .slots
            .iter()
            .filter_map(|slot| Some((*slot.name.get()?, &slot.counts)));
        named
            .chain(std::iter::once(("other", &self.other)))
            .flat_map(|(name, counts)| {
                [false, true].map(|allowed| {
                    (
                        name,
                        allowed,
                        counts[usize::from(allowed)].load(Ordering::Relaxed),
                    )
                })
            })
            .filter(|(_, _, count)| *count > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_each_bucket_and_outcome_apart() {
        let tally = Tally::default();
        for _ in 0..3 {
            tally.count("ip", true);
        }
        tally.count("token", true);
        tally.count("ip", false);
        let mut read = tally.read();
        read.sort();
        assert_eq!(
            read,
            vec![("ip", false, 1), ("ip", true, 3), ("token", true, 1)]
        );
    }

    #[test]
    fn names_beyond_the_slots_count_as_other() {
        let tally = Tally::default();
        let names: Vec<&'static str> = (0..TALLY_SLOTS + 2)
            .map(|i| &*Box::leak(format!("bucket{i}").into_boxed_str()))
            .collect();
        for name in &names {
            tally.count(name, true);
        }
        let read = tally.read();
        assert_eq!(read.len(), TALLY_SLOTS + 1);
        assert!(read.contains(&("other", true, 2)));
    }
}
