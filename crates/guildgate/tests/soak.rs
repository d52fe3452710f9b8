//! The soak: a steady load under the limits for 30 minutes (`GUILDGATE_SOAK_MINUTES`),
//! reads, idempotent writes and refused calls mixed, while the server's resident memory
//! and open file descriptors are sampled every 30 seconds. After a five-minute warm-up
//! (a fifth of the run when shorter) neither may keep growing: memory stays within a
//! quarter (plus 10 MB) of its level after the warm-up, descriptors within 20. Not in
//! the suite (it takes half an hour):
//!
//! ```sh
//! cargo test --release -p guildgate --test soak -- --ignored --nocapture
//! ```

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::load::{self, drive};
use common::*;

/// (resident KiB, open descriptors) of `pid`.
fn usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

#[test]
#[ignore = "takes 30 minutes; run by hand (see the file's comment)"]
fn a_steady_load_keeps_memory_and_descriptors_flat() {
    let minutes: u64 = std::env::var("GUILDGATE_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let run = Duration::from_secs(minutes * 60);
    let warm_up = (run / 5).min(Duration::from_secs(300));
    let db = seeded();
    let port = free_port();
    let mut server = serve(&db, port, &load::NO_LIMITS, None);
    let pid = server.id();
    let writer = load::strike_writer(&db, port);
    let reader = db.mint("reader", None)["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    // About 40 writes a second, each with its own key.
    let writes = drive(
        Arc::new(load::strikes(&writer)),
        vec![port],
        2,
        Duration::from_millis(50),
        stop.clone(),
        Duration::from_secs(30),
    );
    // About 200 reads and 20 refusals a second, on fresh connections.
    let reads = AtomicU64::new(0);
    let started = Instant::now();
    let mut samples: Vec<(Duration, u64, usize)> = Vec::new();
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (stop, reader, reads) = (&stop, &reader, &reads);
            scope.spawn(move || {
                let path = format!("/api/public/v1/guilds/{GUILD}/strikes?limit=10");
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let (token, expected) = if n % 10 == worker {
                        ("arkpat_not_a_token", 401)
                    } else {
                        (reader.as_str(), 200)
                    };
                    assert_eq!(http_get(port, &path, token).0, expected);
                    reads.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(9));
                }
            });
        }
        while started.elapsed() < run {
            std::thread::sleep(Duration::from_secs(30).min(run.saturating_sub(started.elapsed())));
            let (rss, fds) = usage(pid);
            eprintln!(
                "soak {:>5.1} min: RSS {:.1} MB, {fds} descriptors, {} reads",
                started.elapsed().as_secs_f64() / 60.0,
                rss as f64 / 1024.0,
                reads.load(Ordering::Relaxed)
            );
            samples.push((started.elapsed(), rss, fds));
            // As a long-running client does: renew the 15-minute re-auth window.
            load::open_window(port, &writer);
        }
        stop.store(true, Ordering::Relaxed);
    });
    let writes = writes.join().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    assert!(writes.wrong.is_empty(), "{:?}", writes.wrong);
    let settled: Vec<_> = samples.iter().filter(|(at, ..)| *at >= warm_up).collect();
    let &&(_, base_rss, base_fds) = settled.first().expect("samples after the warm-up");
    let peak_rss = settled.iter().map(|s| s.1).max().unwrap();
    let peak_fds = settled.iter().map(|s| s.2).max().unwrap();
    eprintln!(
        "soak done: {} writes acknowledged, {} reads; RSS {:.1} -> peak {:.1} MB, \
         descriptors {base_fds} -> peak {peak_fds}",
        writes.acknowledged.len(),
        reads.load(Ordering::Relaxed),
        base_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    assert!(
        peak_rss <= base_rss + base_rss / 4 + 10 * 1024,
        "memory kept growing: {samples:?}"
    );
    assert!(
        peak_fds <= base_fds + 20,
        "descriptors kept growing: {samples:?}"
    );
}
