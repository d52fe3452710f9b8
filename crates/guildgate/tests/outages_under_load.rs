//! PostgreSQL and Redis stopped and restarted while writers keep writing (each write with
//! an Idempotency-Key, retried until acknowledged, as a careful client does). What each
//! request got is checked against the documented outcomes, and afterwards the database
//! holds every acknowledged strike exactly once, with its audit row, and nothing that
//! was not acknowledged. Runs in the suite's PostgreSQL pass.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::load::{
    NO_LIMITS, Outcome, Stream, WriteLoad, drive, reconcile, strike_writer, strikes,
};
use common::*;
use guildgate_storage::testing::{POSTGRES_ENV, ScratchPostgres, ScratchRedis};

const WORKERS: usize = 3;

fn stop(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The servers' WARN and ERROR lines, to say why a call got an answer it should not have.
fn warnings(log: &tempfile::NamedTempFile) -> String {
    std::fs::read_to_string(log.path())
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect::<Vec<_>>()
        .join("\n")
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

/// What the clients saw while `outage` ran under load: the writes, the reads' statuses,
/// and when the outage began and ended, counted from the start of the load.
struct UnderOutage {
    stream: Arc<Stream>,
    load: WriteLoad,
    reads: Vec<u16>,
    down_at: Duration,
    up_at: Duration,
}

/// Idempotent strike writes and reads on `ports`; after 1.5 s `outage` runs (it stops a
/// dependency and starts it again), and the load goes on 3 s after it.
fn under_outage(db: &Db, ports: Vec<u16>, outage: impl FnOnce()) -> UnderOutage {
    let writer = strike_writer(db, ports[0]);
    let stop_load = Arc::new(AtomicBool::new(false));
    let stream = Arc::new(strikes(&writer));
    let load = drive(
        stream.clone(),
        ports.clone(),
        WORKERS,
        Duration::ZERO,
        stop_load.clone(),
        Duration::from_secs(20),
    );
    let reads = drive_reads(ports, writer, stop_load.clone());
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1_500));
    let down_at = started.elapsed();
    outage();
    let up_at = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    stop_load.store(true, Ordering::Relaxed);
    UnderOutage {
        stream,
        load: load.join().unwrap(),
        reads: reads.join().unwrap(),
        down_at,
        up_at,
    }
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
    let log = tempfile::NamedTempFile::new().unwrap();
    let server = serve(&db, port, &NO_LIMITS, Some(&log));
    let UnderOutage {
        stream,
        load,
        reads,
        down_at,
        up_at,
    } = under_outage(&db, vec![port], || {
        pg.stop();
        // Longer than a request waits for a database connection (3 s), so calls in the
        // outage are answered with the retryable error rather than held until it ends.
        std::thread::sleep(Duration::from_secs(4));
        pg.start_again();
    });
    stop(server);

    assert!(
        load.wrong.is_empty(),
        "{:?}\nserver warnings and errors:\n{}",
        load.wrong,
        warnings(&log)
    );
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
    let log = tempfile::NamedTempFile::new().unwrap();
    let a = serve(&db, port_a, &env, Some(&log));
    let b = serve(&db, port_b, &env, Some(&log));
    let UnderOutage {
        stream,
        load,
        reads,
        up_at,
        ..
    } = under_outage(&db, vec![port_a, port_b], || {
        redis.stop();
        std::thread::sleep(Duration::from_secs(2));
        redis.restart();
    });
    stop(a);
    stop(b);

    assert!(
        load.wrong.is_empty(),
        "{:?}\nserver warnings and errors:\n{}",
        load.wrong,
        warnings(&log)
    );
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
