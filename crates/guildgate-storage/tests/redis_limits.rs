//! The Redis rate-limit buckets against a real redis-server: the same decisions as the
//! in-process limiter, one budget for several instances, all or nothing, and the
//! read-open/write-closed rule while Redis is down.

use std::sync::Arc;

use guildgate_core::clock::{Clock, ManualClock};
use guildgate_core::limiter::{Access, Limiter, LimiterDown, SharedLimits};
use guildgate_core::limits::{BucketRequest, LocalLimiter, Rate};
use guildgate_storage::redis_limits::RedisBuckets;
use guildgate_storage::testing::ScratchRedis;

fn bucket(name: &'static str, key: &str, rate: Rate) -> BucketRequest {
    BucketRequest {
        name,
        key: key.to_owned(),
        rate,
    }
}

fn shared(redis: &ScratchRedis, clock: &ManualClock) -> Limiter {
    let buckets = RedisBuckets::open(&redis.url()).unwrap();
    Limiter::with(
        Arc::new(clock.clone()),
        SharedLimits(Some(Arc::new(buckets))),
    )
}

#[tokio::test]
async fn redis_decides_as_the_in_process_limiter_does() {
    let redis = ScratchRedis::start();
    let clock = ManualClock::starting_at(1_000_000);
    let remote = shared(&redis, &clock);
    let local = LocalLimiter::new(Arc::new(clock.clone()));
    let calls = [
        bucket("destructive", "tok:a:destructive", Rate::new(6, 6, 60)),
        bucket("ip", "ip:1.2.3.4", Rate::new(10, 10, 1)),
    ];
    // Eight calls 100 ms apart drain the 6-call bucket, then 20 s refill two calls.
    for step in 0..12 {
        clock.advance(if step == 9 { 20_000 } else { 100 });
        let expected = local.decide(&calls);
        let got = remote.decide(&calls, Access::Write).await.unwrap();
        assert_eq!(got, expected, "call {step}");
    }
}

#[tokio::test]
async fn instances_share_one_budget_and_a_refused_call_takes_nothing() {
    let redis = ScratchRedis::start();
    let clock = ManualClock::starting_at(5_000_000);
    let (a, b) = (shared(&redis, &clock), shared(&redis, &clock));
    let destructive = Rate::new(6, 6, 60);
    let token = bucket("destructive", "tok:t:destructive", destructive);
    let mut allowed = 0;
    for call in 0..10 {
        let instance = if call % 2 == 0 { &a } else { &b };
        if instance
            .decide(std::slice::from_ref(&token), Access::Write)
            .await
            .unwrap()
            .allowed
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 6, "six across both instances, not six each");

    // A second bucket that is empty refuses the call; the first keeps its call.
    let roomy = bucket("read", "tok:t:read", Rate::new(5, 5, 60));
    let refused = a
        .decide(&[roomy.clone(), token.clone()], Access::Write)
        .await
        .unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after_secs >= 1);
    let peek = b.peek(&[roomy], Access::Read).await.unwrap();
    assert_eq!(peek.buckets[0].remaining, 5);
}

#[tokio::test]
async fn with_redis_down_reads_go_through_and_writes_are_refused() {
    let mut redis = ScratchRedis::start();
    let clock = ManualClock::starting_at(9_000_000);
    let limiter = shared(&redis, &clock);
    let call = [bucket("read", "tok:x:read", Rate::new(2, 2, 60))];
    assert!(limiter.decide(&call, Access::Read).await.unwrap().allowed);
    redis.stop();
    let read = limiter.decide(&call, Access::Read).await.unwrap();
    assert!(read.allowed && read.buckets.is_empty());
    assert_eq!(limiter.decide(&call, Access::Write).await, Err(LimiterDown));
    // Back by itself once Redis is: the bucket starts full again (Redis kept nothing).
    redis.restart();
    let mut back = false;
    for _ in 0..50 {
        if limiter.decide(&call, Access::Write).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "the limiter did not reconnect to Redis");
    let _ = clock.now();
}
