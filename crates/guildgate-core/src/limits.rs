//! Token-bucket rate limits, decided all-or-nothing: a call refused by one bucket
//! consumes from none. Time comes from the injected clock, so tests advance it by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::clock::{Clock, MINUTE, Millis};
use crate::policy::Tier;

/// A bucket's shape: it holds `capacity` calls and refills `refill` calls every `per_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub capacity: u32,
    pub refill: u32,
    pub per_secs: u32,
}

impl Rate {
    pub const fn new(capacity: u32, refill: u32, per_secs: u32) -> Self {
        Self {
            capacity,
            refill,
            per_secs,
        }
    }

    pub fn per_milli(&self) -> f64 {
        self.refill as f64 / (self.per_secs as f64 * 1000.0)
    }

    /// Seconds for an empty bucket to fill: the policy window advertised in headers.
    pub fn window_secs(&self) -> u64 {
        (self.capacity as u64 * self.per_secs as u64).div_ceil(self.refill.max(1) as u64)
    }
}

/// Every limit of the guild surface. The defaults are the documented ones.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Per client IP on `/api/public/v1/*`: 600 requests per 5 minutes.
    pub per_ip: Rate,
    pub read: Rate,
    pub reversible: Rate,
    pub destructive: Rate,
    /// The per-user-per-guild aggregate over all of a user's tokens, per tier.
    pub aggregate_read: Rate,
    pub aggregate_reversible: Rate,
    pub aggregate_destructive: Rate,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_ip: Rate::new(600, 600, 300),
            read: Rate::new(120, 60, 60),
            reversible: Rate::new(30, 10, 60),
            destructive: Rate::new(6, 1, 60),
            // One step above the per-token limit: two tokens' worth, so a user with three
            // tokens cannot triple a budget.
            aggregate_read: Rate::new(240, 120, 60),
            aggregate_reversible: Rate::new(60, 20, 60),
            aggregate_destructive: Rate::new(12, 2, 60),
        }
    }
}

impl LimitsConfig {
    pub fn token_rate(&self, tier: Tier) -> Rate {
        match tier {
            Tier::Read => self.read,
            Tier::Reversible => self.reversible,
            Tier::Destructive => self.destructive,
        }
    }

    pub fn aggregate_rate(&self, tier: Tier) -> Rate {
        match tier {
            Tier::Read => self.aggregate_read,
            Tier::Reversible => self.aggregate_reversible,
            Tier::Destructive => self.aggregate_destructive,
        }
    }
}

/// One bucket a call draws from: its key, its shape and a short name for the headers.
#[derive(Clone, Debug)]
pub struct BucketRequest {
    pub name: &'static str,
    pub key: String,
    pub rate: Rate,
}

/// What one bucket looks like after the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketState {
    pub name: &'static str,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    pub window_secs: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// Seconds until every refusing bucket has a call to give (0 when allowed).
    pub retry_after_secs: u64,
    pub buckets: Vec<BucketState>,
}

impl Decision {
    /// The bucket closest to refusing: the one the `X-RateLimit-*` headers describe.
    pub fn tightest(&self) -> Option<&BucketState> {
        tightest(&self.buckets)
    }
}

/// Of `buckets`, the one with the smallest share of its limit left.
pub fn tightest(buckets: &[BucketState]) -> Option<&BucketState> {
    buckets.iter().min_by(|a, b| {
        (a.remaining as u64 * b.limit as u64).cmp(&(b.remaining as u64 * a.limit as u64))
    })
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Millis,
}

/// FNV-1a from a per-process random basis: bucket keys are short, and SipHash was a third
/// of a decision's time. The random basis keeps collisions from being precomputed.
#[derive(Clone)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[derive(Clone)]
struct KeyHasherBuilder(u64);

impl std::hash::BuildHasher for KeyHasherBuilder {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// The in-process limiter: one instance's budgets, in memory.
pub struct LocalLimiter {
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<String, Bucket, KeyHasherBuilder>>,
}

const SWEEP_EVERY: usize = 10_000;

impl LocalLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::with_hasher(KeyHasherBuilder(
                0xcbf2_9ce4_8422_2325 ^ rand::random::<u64>(),
            ))),
        }
    }

    /// Takes one call from every bucket, or from none when any is empty.
    pub fn decide(&self, requests: &[BucketRequest]) -> Decision {
        self.evaluate(requests, true)
    }

    /// What `decide` would answer, taking nothing.
    pub fn peek(&self, requests: &[BucketRequest]) -> Decision {
        self.evaluate(requests, false)
    }

    fn evaluate(&self, requests: &[BucketRequest], consume: bool) -> Decision {
        let now = self.clock.now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_EVERY && map.len().is_power_of_two() {
            // Drop buckets idle long enough to be full again: they carry no information.
            map.retain(|_, b| now - b.updated < 10 * MINUTE);
        }
        // The usual calls (one to three distinct buckets) find each bucket once.
        match requests {
            [a] => decide_disjoint(&mut map, [a], now, consume),
            [a, b] if a.key != b.key => decide_disjoint(&mut map, [a, b], now, consume),
            [a, b, c] if a.key != b.key && a.key != c.key && b.key != c.key => {
                decide_disjoint(&mut map, [a, b, c], now, consume)
            }
            _ => decide_any(&mut map, requests, now, consume),
        }
    }
}

type Buckets = HashMap<String, Bucket, KeyHasherBuilder>;

/// A bucket's level now: what it held, refilled for the time since, up to capacity.
fn level_of(bucket: Option<&Bucket>, request: &BucketRequest, now: Millis) -> f64 {
    match bucket {
        Some(b) => (b.tokens + (now - b.updated).max(0) as f64 * request.rate.per_milli())
            .min(request.rate.capacity as f64),
        None => request.rate.capacity as f64,
    }
}

fn decide_disjoint<const N: usize>(
    map: &mut Buckets,
    requests: [&BucketRequest; N],
    now: Millis,
    consume: bool,
) -> Decision {
    let mut found = map.get_disjoint_mut(requests.map(|r| r.key.as_str()));
    let mut levels = [0f64; N];
    for i in 0..N {
        levels[i] = level_of(found[i].as_deref(), requests[i], now);
    }
    let allowed = levels.iter().all(|level| *level >= 1.0);
    let mut new = [false; N];
    if allowed && consume {
        for i in 0..N {
            levels[i] -= 1.0;
            let bucket = Bucket {
                tokens: levels[i],
                updated: now,
            };
            match found[i].as_deref_mut() {
                Some(existing) => *existing = bucket,
                None => new[i] = true,
            }
        }
    }
    for i in (0..N).filter(|i| new[*i]) {
        map.insert(
            requests[i].key.clone(),
            Bucket {
                tokens: levels[i],
                updated: now,
            },
        );
    }
    outcome(requests.into_iter().zip(levels), allowed, consume)
}

/// Any number of buckets, the same key possibly more than once.
fn decide_any(
    map: &mut Buckets,
    requests: &[BucketRequest],
    now: Millis,
    consume: bool,
) -> Decision {
    let mut levels: Vec<f64> = requests
        .iter()
        .map(|r| level_of(map.get(r.key.as_str()), r, now))
        .collect();
    let allowed = levels.iter().all(|level| *level >= 1.0);
    if allowed && consume {
        for (request, level) in requests.iter().zip(levels.iter_mut()) {
            *level -= 1.0;
            map.insert(
                request.key.clone(),
                Bucket {
                    tokens: *level,
                    updated: now,
                },
            );
        }
    }
    outcome(requests.iter().zip(levels), allowed, consume)
}

/// The decision, with each bucket's state for the headers and the wait when refused.
pub(crate) fn outcome<'a>(
    levels: impl Iterator<Item = (&'a BucketRequest, f64)>,
    allowed: bool,
    consume: bool,
) -> Decision {
    let mut retry_after_secs = 0;
    let mut buckets = Vec::with_capacity(4);
    for (request, level) in levels {
        let per_milli = request.rate.per_milli();
        if !(allowed && consume) && level < 1.0 {
            let wait_ms = (1.0 - level) / per_milli;
            retry_after_secs = retry_after_secs
                .max((wait_ms / 1000.0).ceil() as u64)
                .max(1);
        }
        let missing = request.rate.capacity as f64 - level;
        buckets.push(BucketState {
            name: request.name,
            limit: request.rate.capacity,
            remaining: level.floor().max(0.0) as u32,
            reset_secs: (missing / per_milli / 1000.0).ceil() as u64,
            window_secs: request.rate.window_secs(),
        });
    }
    Decision {
        allowed,
        retry_after_secs,
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, SECOND};

    fn req(name: &'static str, key: &str, rate: Rate) -> BucketRequest {
        BucketRequest {
            name,
            key: key.into(),
            rate,
        }
    }

    #[test]
    fn buckets_drain_and_refill_with_the_clock() {
        let clock = ManualClock::starting_at(0);
        let limiter = LocalLimiter::new(Arc::new(clock.clone()));
        let rate = Rate::new(6, 1, 60);
        for i in 0..6 {
            let d = limiter.decide(&[req("token", "t", rate)]);
            assert!(d.allowed);
            assert_eq!(d.buckets[0].remaining, 5 - i);
        }
        let refused = limiter.decide(&[req("token", "t", rate)]);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 60);
        clock.advance(59 * SECOND);
        assert!(!limiter.decide(&[req("token", "t", rate)]).allowed);
        clock.advance(SECOND);
        assert!(limiter.decide(&[req("token", "t", rate)]).allowed);
    }

    #[test]
    fn a_refusal_consumes_from_no_bucket() {
        let limiter = LocalLimiter::new(Arc::new(ManualClock::starting_at(0)));
        let small = Rate::new(1, 1, 60);
        let big = Rate::new(100, 100, 60);
        assert!(
            limiter
                .decide(&[req("token", "a", small), req("ip", "ip", big)])
                .allowed
        );
        let refused = limiter.decide(&[req("token", "a", small), req("ip", "ip", big)]);
        assert!(!refused.allowed);
        // The ip bucket still has 99: the refused call took nothing from it.
        let d = limiter.decide(&[req("ip", "ip", big)]);
        assert_eq!(d.buckets[0].remaining, 98);
        assert_eq!(refused.tightest().unwrap().name, "token");
    }
}
