//! `cargo run --release -p guildgate-bench -- [SECONDS] [CONNECTIONS]`
//!
//! Starts, in this process on loopback, guildgate's guild surface over a temporary SQLite
//! database and a bare axum route that returns the same JSON body from memory, then drives
//! each case with CONNECTIONS concurrent keep-alive clients for SECONDS. Prints requests/s
//! and p50/p99 latency per case and the guarded/bare ratio, and writes the figures as JSON
//! to target/bench.json. Rate limits are raised out of the way: the cost of deciding them
//! is measured, not their refusals.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use guildgate_core::audit::ActorSource;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{Clock, SystemClock};
use guildgate_core::crypto::SecretKey;
use guildgate_core::ids::new_ulid;
use guildgate_core::limits::{LimitsConfig, Rate};
use guildgate_core::model::{Guild, GuildTier, Member, ReauthWindow, Ticket, TokenRecord};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_guild_api::{AppState, GuildApiConfig, RecordOnly};
use guildgate_storage::{SqliteStore, Store};
use serde_json::{Value, json};

const GUILD: &str = "100000000000000000";
const OWNER: &str = "583912000000000001";
const TARGET: &str = "583912000000000000";

struct Figures {
    name: &'static str,
    requests: usize,
    errors: usize,
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn seed(store: &SqliteStore, key: &SecretKey) -> (String, String, String) {
    let now = SystemClock.now();
    let secret = GUILD_TOKEN.generate();
    let token = TokenRecord {
        id: new_ulid(),
        guild_id: GUILD.into(),
        user_id: OWNER.into(),
        name: "bench".into(),
        capabilities: CapabilitySet::all(),
        allowed_cidrs: vec![],
        allow_self_reauth: false,
        created_at: now,
        expires_at: None,
        revoked_at: None,
        revoked_reason: None,
        last_used_at: None,
        last_used_ip: None,
        source: "cli".into(),
        replaced_by: None,
    };
    let ticket = new_ulid();
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&Guild {
        id: GUILD.into(),
        name: "bench".into(),
        owner_id: OWNER.into(),
        tier: GuildTier::Pro,
        mcp_enabled: false,
        created_at: now,
    })
    .await
    .unwrap();
    tx.upsert_member(&Member {
        guild_id: GUILD.into(),
        user_id: OWNER.into(),
        capabilities: CapabilitySet::all(),
        added_at: now,
    })
    .await
    .unwrap();
    tx.insert_token(&token, &key.secret_hasher().hash(secret.expose()))
        .await
        .unwrap();
    tx.open_window(&ReauthWindow {
        window_id: new_ulid(),
        token_id: token.id.clone(),
        opened_at: now,
        expires_at: now + 24 * 3_600_000,
        opened_by: ActorSource::Cli,
    })
    .await
    .unwrap();
    tx.insert_ticket(&Ticket {
        id: ticket.clone(),
        guild_id: GUILD.into(),
        opened_by: TARGET.into(),
        subject: "bench".into(),
        status: "open".into(),
        claimed_by: None,
        claimed_at: None,
        created_at: now,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (token.id, secret.expose().to_owned(), ticket)
}

async fn drive(
    name: &'static str,
    url: String,
    token: Option<String>,
    body: Option<Value>,
    seconds: u64,
    connections: usize,
) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (url, token, body) = (url.clone(), token.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::with_capacity(100_000);
            let mut errors = 0;
            while Instant::now() < deadline {
                let mut req = match &body {
                    Some(b) => client.post(&url).json(b),
                    None => client.get(&url),
                };
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let t0 = Instant::now();
                match req.send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
                latencies.push(t0.elapsed().as_micros() as u64);
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (latencies, e) = worker.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Figures {
        name,
        requests: all.len(),
        errors,
        rps: all.len() as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}/bench.db", dir.path().display()))
            .await
            .unwrap(),
    );
    let key = SecretKey::generate();
    let (_token_id, secret, ticket) = seed(&store, &key).await;
    let unlimited = Rate::new(u32::MAX / 2, u32::MAX / 2, 1);
    let limits = LimitsConfig {
        per_ip: unlimited,
        read: unlimited,
        reversible: unlimited,
        destructive: unlimited,
        aggregate_read: unlimited,
        aggregate_reversible: unlimited,
        aggregate_destructive: unlimited,
    };
    let config = GuildApiConfig {
        limits,
        ..GuildApiConfig::default()
    };
    let state = AppState::new(
        store.clone(),
        Arc::new(SystemClock),
        &key,
        config,
        Arc::new(RecordOnly),
    );
    let guarded = serve(guildgate_guild_api::router(state)).await;
    let empty_page = json!({ "data": [], "next_cursor": null });
    let bare = serve(Router::new().route(
        "/strikes",
        get(move || async move { axum::Json(empty_page.clone()) }),
    ))
    .await;

    // The same read with the guard removed: the page query and the JSON, nothing else.
    let unguarded_store = store.clone();
    let unguarded = serve(Router::new().route(
        "/strikes",
        get(move || {
            let store = unguarded_store.clone();
            async move {
                let page = guildgate_core::model::PageRequest {
                    limit: 10,
                    before: None,
                };
                axum::Json(store.strikes(GUILD, &page).await.unwrap())
            }
        }),
    ))
    .await;
    let base = format!("http://{guarded}/api/public/v1/guilds/{GUILD}");
    let strike = json!({
        "user_id": TARGET, "reason": "bench", "severity": "MINOR",
        "_confirmation": format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR"),
    });
    let read_url = format!("{base}/strikes?limit=10");
    println!(
        "guildgate bench: {seconds}s per case, {connections} connections, loopback, SQLite in a temp dir"
    );
    let mut results = vec![
        drive(
            "bare axum route (same JSON body)",
            format!("http://{bare}/strikes"),
            None,
            None,
            seconds,
            connections,
        )
        .await,
    ];
    // The reads are measured on an empty guild, as the bare route answers an empty page.
    results.push(
        drive(
            "unguarded read (same query, no guard)",
            format!("http://{unguarded}/strikes"),
            None,
            None,
            seconds,
            connections,
        )
        .await,
    );
    results.push(
        drive(
            "guarded read GET /strikes?limit=10",
            read_url,
            Some(secret.clone()),
            None,
            seconds,
            connections,
        )
        .await,
    );
    results.push(
        drive(
            "reversible write POST /tickets/{id}/claim",
            format!("{base}/tickets/{ticket}/claim"),
            Some(secret.clone()),
            Some(json!({})),
            seconds,
            connections,
        )
        .await,
    );
    results.push(
        drive(
            "destructive write POST /strikes",
            format!("{base}/strikes"),
            Some(secret),
            Some(strike),
            seconds,
            connections,
        )
        .await,
    );

    println!(
        "{:<44} {:>10} {:>8} {:>10} {:>10}",
        "case", "req/s", "errors", "p50 (ms)", "p99 (ms)"
    );
    for f in &results {
        println!(
            "{:<44} {:>10.0} {:>8} {:>10.3} {:>10.3}",
            f.name,
            f.rps,
            f.errors,
            f.p50_us as f64 / 1000.0,
            f.p99_us as f64 / 1000.0
        );
    }
    let ratio = results[2].rps / results[0].rps;
    let guard_ratio = results[2].rps / results[1].rps;
    let added_p99 = (results[2].p99_us as f64 - results[1].p99_us as f64) / 1000.0;
    println!("guarded read / bare route throughput ratio: {ratio:.2}");
    println!(
        "guarded read / unguarded read throughput ratio: {guard_ratio:.2} (added p99 {added_p99:.3} ms)"
    );
    let json = json!({
        "seconds": seconds,
        "connections": connections,
        "cases": results.iter().map(|f| json!({
            "name": f.name, "requests": f.requests, "errors": f.errors, "rps": f.rps,
            "p50_ms": f.p50_us as f64 / 1000.0, "p99_ms": f.p99_us as f64 / 1000.0,
        })).collect::<Vec<_>>(),
        "guarded_read_over_bare": ratio,
        "guarded_read_over_unguarded": guard_ratio,
        "guard_added_p99_ms": added_p99,
    });
    let _ = std::fs::create_dir_all("target");
    std::fs::write(
        "target/bench.json",
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}
