//! Micro-benchmarks of the guard's hot path (issue 9, case 6):
//! - a presented token: parse + checksum, keyed hash, token-cache hit;
//! - one limiter decision over the three buckets of a read (target <= 200 ns);
//! - a sentinel rendered from its template and a presented one compared;
//! - the error envelope serialised.
//!
//! `cargo bench -p guildgate-bench --bench hot_path`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use guildgate_core::clock::SystemClock;
use guildgate_core::crypto::SecretKey;
use guildgate_core::error::ApiError;
use guildgate_core::limits::{BucketRequest, LocalLimiter, Rate};
use guildgate_core::sentinel::{SentinelTemplate, verify};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_guild_api::TokenCache;
use guildgate_storage::SqliteStore;

/// The allocator `guildgate serve` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn token_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(async {
        SqliteStore::open(&format!("sqlite://{}/bench.db", dir.path().display()))
            .await
            .unwrap()
    });
    let hasher = SecretKey::generate().secret_hasher();
    let cache = TokenCache::new(Duration::from_secs(3600));
    let secret = GUILD_TOKEN.generate().expose().to_owned();
    // Warm the cache: the benchmark measures the hit every call after the first takes.
    runtime
        .block_on(cache.find(&store, hasher.hash(&secret)))
        .unwrap();
    c.bench_function("token: parse + checksum + keyed hash + cache hit", |b| {
        b.to_async(&runtime).iter(|| async {
            let parsed = GUILD_TOKEN.parse(black_box(&secret)).unwrap();
            let hash = hasher.hash(parsed.expose());
            black_box(cache.find(&store, hash).await.unwrap())
        })
    });
    c.bench_function("token: parse + checksum only", |b| {
        b.iter(|| GUILD_TOKEN.parse(black_box(&secret)).unwrap())
    });
}

fn limiter(c: &mut Criterion) {
    let limiter = LocalLimiter::new(Arc::new(SystemClock));
    let buckets = [
        BucketRequest {
            name: "ip",
            key: "ip:127.0.0.1".into(),
            rate: Rate::new(u32::MAX, u32::MAX, 1),
        },
        BucketRequest {
            name: "token",
            key: "token:01JV3JZ5B0C7D8E9F0G1H2J3K4:read".into(),
            rate: Rate::new(u32::MAX, u32::MAX, 1),
        },
        BucketRequest {
            name: "user",
            key: "user:100000000000000000:583912000000000001:read".into(),
            rate: Rate::new(u32::MAX, u32::MAX, 1),
        },
    ];
    c.bench_function(
        "limiter: one decision over three buckets (target <= 200 ns)",
        |b| b.iter(|| black_box(limiter.decide(black_box(&buckets)))),
    );
}

fn sentinel(c: &mut Criterion) {
    const STRIKE: SentinelTemplate =
        SentinelTemplate("ADD STRIKE TO USER {user_id} IN GUILD {guildId} SEVERITY {severity}");
    let presented =
        "add strike to user 583912000000000000 in guild 100000000000000000 severity minor";
    c.bench_function("sentinel: render + compare", |b| {
        b.iter(|| {
            let expected = STRIKE.render(&[
                ("user_id", "583912000000000000"),
                ("guildId", "100000000000000000"),
                ("severity", "MINOR"),
            ]);
            black_box(verify(STRIKE, &expected, Some(black_box(presented))))
        })
    });
}

fn envelope(c: &mut Criterion) {
    let err = ApiError::rate_limited(12).with_detail("tier", "destructive");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    c.bench_function("envelope: error to response body", |b| {
        b.to_async(&runtime).iter(|| async {
            let response =
                guildgate_guild_api::envelope(black_box(&err), "req_01JV3JZ5B0C7D8E9F0G1H2J3K4");
            black_box(
                axum::body::to_bytes(response.into_body(), 4096)
                    .await
                    .unwrap(),
            )
        })
    });
}

criterion_group!(benches, token_path, limiter, sentinel, envelope);
criterion_main!(benches);
