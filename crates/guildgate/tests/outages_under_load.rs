//! PostgreSQL and Redis stopped and restarted while writers keep writing (each write with
//! an Idempotency-Key, retried until acknowledged, as a careful client does). What each
//! request got is checked against the documented outcomes, and afterwards the database
//! holds every acknowledged strike exactly once, with its audit row, and nothing that
//! was not acknowledged. Runs in the suite's PostgreSQL pass.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::load::{NO_LIMITS, Outcome, drive, reconcile, strike_writer, strikes};
use common::*;
use guildgate_storage::testing::{POSTGRES_ENV, ScratchPostgres, ScratchRedis};

const WORKERS: usize = 3;

fn stop(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Reads during the load, until `stop`; returns the status of each.
fn drive_reads(
    ports: Vec<u16>,
    token: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u16>> {
    std::thread::spawn(move || {
        let path = format!("/api/public/v1/guilds/{GUILD}/strikes?limit=10");
        let mut statuses = Vec::new();
        let mut turn = 0;
        while !stop.load(Ordering::Relaxed) {
            statuses.push(http_get(ports[turn % ports.len()], &path, &token).0);
            turn += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        statuses
    })
}

#[test]
fn postgres_restarted_under_load_loses_and_doubles_nothing() {
    if std::env::var(POSTGRES_ENV).is_err() {
        return;
    }
    let pg = ScratchPostgres::start();
    let db = seed(Db {
        url: pg.url(),
        _dir: tempfile::tempdir().unwrap(),
    });
    let port = free_port();
    let server = serve(&db, port, &NO_LIMITS, None);
    let writer = strike_writer(&db, port);
    let stop_load = Arc::new(AtomicBool::new(false));
    let stream = Arc::new(strikes(&writer));
    let load = drive(
        stream.clone(),
        vec![port],
        WORKERS,
        Duration::ZERO,
        stop_load.clone(),
        Duration::from_secs(20),
    );
    let reads = drive_reads(vec![port], writer, stop_load.clone());
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1_500));
    let down_at = started.elapsed();
    pg.stop();
    // Longer than a request waits for a database connection (3 s), so calls in the
    // outage are answered with the retryable error rather than held until it ends.
    std::thread::sleep(Duration::from_secs(4));
    pg.start_again();
    let up_at = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    stop_load.store(true, Ordering::Relaxed);
    let load = load.join().unwrap();
    let reads = reads.join().unwrap();
    stop(server);

    assert!(load.wrong.is_empty(), "{:?}", load.wrong);
    assert!(load.unfinished.is_empty(), "{:?}", load.unfinished);
    // Writes were acknowledged before the outage, refused as retryable during it, and
    // acknowledged again after it without a restart of guildgate.
    assert!(
        load.acknowledged_after(Duration::ZERO) > load.acknowledged_after(down_at),
        "nothing acknowledged before the outage"
    );
    assert!(
        load.count(Outcome::Status(503)) > 0,
        "the outage was not felt"
    );
    assert!(
        load.acknowledged_after(up_at) > 0,
        "writes did not resume after the database came back"
    );
    assert!(reads.iter().all(|s| *s == 200 || *s == 503), "{reads:?}");
    assert!(reads.contains(&200));
    let reconciled = reconcile(&db, &stream, &load);
    reconciled.assert_exact(&load);
    eprintln!(
        "postgres restart under load: {} writes acknowledged, {} refused as retryable, {} in flight, \
         {} reads; lost 0, duplicated 0",
        reconciled.acknowledged,
        load.count(Outcome::Status(503)),
        load.count(Outcome::Status(409)),
        reads.len()
    );
}

#[test]
fn redis_restarted_under_load_fails_writes_closed_and_recovers() {
    if std::env::var(POSTGRES_ENV).is_err() {
        return;
    }
    let mut redis = ScratchRedis::start();
    let db = seeded();
    let redis_url = redis.url();
    let mut env: Vec<(&str, &str)> = NO_LIMITS.to_vec();
    env.push(("GUILDGATE_REDIS_URL", &redis_url));
    let (port_a, port_b) = (free_port(), free_port());
    let a = serve(&db, port_a, &env, None);
    let b = serve(&db, port_b, &env, None);
    let writer = strike_writer(&db, port_a);
    let stop_load = Arc::new(AtomicBool::new(false));
    let stream = Arc::new(strikes(&writer));
    let load = drive(
        stream.clone(),
        vec![port_a, port_b],
        WORKERS,
        Duration::ZERO,
        stop_load.clone(),
        Duration::from_secs(20),
    );
    let reads = drive_reads(vec![port_a, port_b], writer, stop_load.clone());
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1_500));
    redis.stop();
    std::thread::sleep(Duration::from_secs(2));
    redis.restart();
    let up_at = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    stop_load.store(true, Ordering::Relaxed);
    let load = load.join().unwrap();
    let reads = reads.join().unwrap();
    stop(a);
    stop(b);

    assert!(load.wrong.is_empty(), "{:?}", load.wrong);
    assert!(load.unfinished.is_empty(), "{:?}", load.unfinished);
    // Reads fail open: every one was answered, none refused for want of Redis.
    assert!(reads.iter().all(|s| *s == 200), "{reads:?}");
    // Writes fail closed while Redis is down, and resume by themselves after.
    assert!(
        load.count(Outcome::Status(503)) > 0,
        "the outage was not felt"
    );
    assert!(
        load.acknowledged_after(up_at) > 0,
        "writes did not resume after Redis came back"
    );
    let reconciled = reconcile(&db, &stream, &load);
    reconciled.assert_exact(&load);
    eprintln!(
        "redis restart under load: {} writes acknowledged, {} refused as retryable, \
         {} reads all answered; lost 0, duplicated 0",
        reconciled.acknowledged,
        load.count(Outcome::Status(503)),
        reads.len()
    );
}
