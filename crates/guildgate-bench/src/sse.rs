//! The idle-subscriber case (7b): RSS of `guildgate serve` holding 10,000 open
//! `GET /api/v1/stream` server-sent event streams, and whether all of them are still live:
//! one Owner API write afterwards must reach every subscriber.
//!
//! The subscribers are raw HTTP/1.1 connections from this process (a load generator's
//! idle connections would not read the stream). The shard API allows each key 600 calls a
//! minute, so the subscribers share enough keys to stay under it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guildgate_core::crypto::SecretKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};

use crate::servers::sibling;
use crate::{guildgate, rss_kib, seed};

pub const SUBSCRIBERS: usize = 10_000;
/// Under the shard API's 600 calls a minute per key, with room for the write.
const SUBSCRIBERS_PER_KEY: usize = 500;
/// Connections being opened at once.
const OPENING_AT_ONCE: usize = 200;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Subscribers {
    pub subscribers: usize,
    /// The server before any stream is opened (after a few calls), KiB.
    pub idle_rss_kib: u64,
    /// With every stream open, KiB.
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// Subscribers that received the event of the write made once all were open.
    pub delivered: usize,
    /// From the write's answer to the last subscriber's copy of the event.
    pub fan_out_ms: f64,
}

/// Runs the case, or says why it cannot (the open-file limit is the usual reason).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    key: &SecretKey,
) -> Result<Subscribers, String> {
    let needed = (SUBSCRIBERS + 1_000) as u64;
    let limit = open_file_limit();
    if limit < needed {
        return Err(format!(
            "the open-file limit is {limit}, {needed} are needed (ulimit -n; scripts/bench.sh raises it)"
        ));
    }
    let db = format!("sqlite://{}/sse.db", dir.display());
    let keys = mint_shard_keys(&db, key, SUBSCRIBERS.div_ceil(SUBSCRIBERS_PER_KEY));
    let (server, port) = guildgate(&db, key, "full", &[]);
    let pid = server.child.id();
    runtime.block_on(async move {
        for _ in 0..10 {
            let (status, _) = call(port, "GET", "/api/v1/status", &keys[0], "").await?;
            if status != 200 {
                return Err(format!("GET /api/v1/status answered {status}"));
            }
        }
        let (idle_rss_kib, _) = rss_kib(pid);
        let ready = Arc::new(Barrier::new(SUBSCRIBERS + 1));
        let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
        let mut subscribers = tokio::task::JoinSet::new();
        for n in 0..SUBSCRIBERS {
            let key = keys[n / SUBSCRIBERS_PER_KEY].clone();
            let (ready, opening) = (ready.clone(), opening.clone());
            subscribers.spawn(async move {
                let permit = opening.acquire_owned().await.expect("open");
                // Bounded, so one stuck connection cannot hold the others at the barrier.
                let stream = tokio::time::timeout(Duration::from_secs(30), subscribe(port, &key))
                    .await
                    .unwrap_or_else(|_| Err("the stream did not answer within 30 s".into()));
                drop(permit);
                ready.wait().await;
                let mut stream = stream?;
                wait_for_event(&mut stream, "event: operation.opened").await
            });
        }
        ready.wait().await;
        // Idle for a moment, as subscribers mostly are, before reading the memory.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (rss_kib, peak_rss_kib) = rss_kib(pid);
        let (status, body) = call(
            port,
            "POST",
            "/api/v1/operation",
            &keys[0],
            r#"{"open":true}"#,
        )
        .await?;
        if status != 200 {
            return Err(format!("POST /api/v1/operation answered {status}: {body}"));
        }
        let written = Instant::now();
        let mut delivered = 0;
        let mut first_failure = None;
        while let Some(outcome) = subscribers.join_next().await {
            match outcome.expect("a subscriber task") {
                Ok(()) => delivered += 1,
                Err(why) => {
                    first_failure.get_or_insert(why);
                }
            }
        }
        let fan_out_ms = written.elapsed().as_secs_f64() * 1000.0;
        if let Some(why) = first_failure {
            eprintln!(
                "SSE case: {} subscribers failed, first: {why}",
                SUBSCRIBERS - delivered
            );
        }
        drop(server);
        Ok(Subscribers {
            subscribers: SUBSCRIBERS,
            idle_rss_kib,
            rss_kib,
            peak_rss_kib,
            delivered,
            fan_out_ms,
        })
    })
}

fn open_file_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(0)
}

/// A shard (the bench guild) and `count` keys that may follow its events and open an
/// operation, through the admin CLI as an owner would.
fn mint_shard_keys(db: &str, key: &SecretKey, count: usize) -> Vec<String> {
    let admin = |args: &[&str]| {
        let output = Command::new(sibling("guildgate"))
            .args(["admin", "--database", db])
            .args(args)
            .arg("--json")
            .env("GUILDGATE_SECRET_KEY", key.encode())
            .output()
            .expect("guildgate admin runs");
        assert!(
            output.status.success(),
            "guildgate admin {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("admin prints JSON")
    };
    admin(&[
        "guild",
        "create",
        "--id",
        seed::GUILD,
        "--name",
        "bench",
        "--owner",
        seed::OWNER,
    ]);
    (0..count)
        .map(|n| {
            let minted = admin(&[
                "shard-key",
                "mint",
                "--guild",
                seed::GUILD,
                "--name",
                &format!("subscribers-{n}"),
                "--scopes",
                "read:status,read:events,write:operation",
            ]);
            minted["key"].as_str().expect("a minted key").to_owned()
        })
        .collect()
}

fn request(method: &str, path: &str, key: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads until the end of the response head; returns it and what came after it.
async fn read_head(stream: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("closed before the response head".into());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buffer).into_owned(), rest));
        }
    }
}

fn status_of(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One call on its own connection (`Connection: close` is not needed: the body is read by
/// its length).
async fn call(
    port: u16,
    method: &str,
    path: &str,
    key: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request(method, path, key, body).as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (head, mut rest) = read_head(&mut stream).await?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut chunk = [0u8; 4096];
    while rest.len() < length {
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        rest.extend_from_slice(&chunk[..read]);
    }
    Ok((
        status_of(&head),
        String::from_utf8_lossy(&rest).into_owned(),
    ))
}

/// Opens one event stream and checks it is one.
async fn subscribe(port: u16, key: &str) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(request("GET", "/api/v1/stream", key, "").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (head, _) = read_head(&mut stream).await?;
    if status_of(&head) != 200 || !head.to_ascii_lowercase().contains("text/event-stream") {
        return Err(format!(
            "the stream answered {}",
            head.lines().next().unwrap_or("")
        ));
    }
    Ok(stream)
}

/// Reads the stream until `marker` arrives (30 s at most).
async fn wait_for_event(stream: &mut TcpStream, marker: &str) -> Result<(), String> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| format!("no {marker} within 30 s"))?
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the stream closed".into());
        }
        seen.extend_from_slice(&chunk[..read]);
        if seen.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            return Ok(());
        }
    }
}
