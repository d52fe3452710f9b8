//! The rate limiter every surface draws from: the in-process buckets of one instance, or
//! buckets shared by every instance (Redis, behind [`SharedBuckets`]), decided the same
//! way (token buckets, all or nothing). When the shared store cannot be reached, a read
//! goes through (logged) and a write is refused as retryable: losing a limiter must not
//! stop people from reading, nor let destructive calls through unmetered.

use std::sync::Arc;

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
}

/// The shared buckets could not be reached for a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterDown;

pub struct Limiter {
    clock: Arc<dyn Clock>,
    local: LocalLimiter,
    shared: SharedLimits,
    /// (bucket name, allowed) -> decisions taken, for the operators' metrics.
    tally: std::sync::Mutex<std::collections::BTreeMap<(&'static str, bool), u64>>,
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
            tally: std::sync::Mutex::default(),
        }
    }

    /// Takes one call from every bucket, or from none when any is empty.
    pub async fn decide(
        &self,
        requests: &[BucketRequest],
        access: Access,
    ) -> Result<Decision, LimiterDown> {
        let decision = self.evaluate(requests, access, true).await?;
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        for request in requests {
            *tally.entry((request.name, decision.allowed)).or_default() += 1;
        }
        Ok(decision)
    }

    /// Decisions so far: (bucket name, allowed, count).
    pub fn decisions(&self) -> Vec<(&'static str, bool, u64)> {
        let tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        tally
            .iter()
            .map(|((name, allowed), count)| (*name, *allowed, *count))
            .collect()
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
                Access::Read => {
                    tracing::warn!(%cause, "rate-limit store unreachable; letting a read through");
                    Ok(Decision {
                        allowed: true,
                        retry_after_secs: 0,
                        buckets: Vec::new(),
                    })
                }
                Access::Write => {
                    tracing::warn!(%cause, "rate-limit store unreachable; refusing a write");
                    Err(LimiterDown)
                }
            },
        }
    }
}
