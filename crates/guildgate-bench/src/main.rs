//! `guildgate-bench run [--seconds N] [--connections 1,16,64,256] [--cases reads,writes,memory] [--out DIR]`
//!
//! One run on this machine, every figure a ratio taken in that run (scripts/bench.sh
//! installs wrk, HAProxy and nginx from Debian's packages, builds, and calls this):
//!
//! 1. a bare axum route returning the guarded route's JSON from memory (the limit here);
//! 2. guildgate's guarded `GET /api/public/v1/guilds/{g}/strikes?limit=10` (`guildgate serve`);
//! 3. the same read with the guard removed (the page query and the JSON);
//! 4. HAProxy 2.6 and nginx 1.22 checking the bearer against a map of 10,000 keys and
//!    limiting per key, in front of the bare route;
//! 5. the destructive write (strike plus audit row) per second through HTTP, durable
//!    (`GUILDGATE_SQLITE_SYNCHRONOUS=full`: every write fsynced before it is answered);
//! 7. RSS of `guildgate serve` with 100,000 tokens and 1,000,000 audit rows, and with
//!    10,000 idle SSE subscribers (`sse`), each of which must still get the next event;
//!
//! and the scale-out case (`instances`): reads and durable writes on PostgreSQL with the
//! limits in Redis, one instance against two on this machine.
//!
//! Each case runs at each connection count with wrk as the load generator. The table goes
//! to stdout; `results.json` and `throughput.svg` to the output folder (default
//! `target/bench`). Case 6, the micro-benchmarks, is `cargo bench -p guildgate-bench`.
//! `serve-bare PORT` and `serve-unguarded PORT DB` are the servers of cases 1 and 3.

mod instances;
mod report;
mod seed;
mod servers;
mod sse;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use guildgate_core::crypto::SecretKey;
use guildgate_storage::{SqliteStore, Store};
use serde_json::json;

use report::Row;
use servers::{Running, free_port, sibling, spawn};
use wrk::Load;

const BARE: &str = "bare axum route";
const UNGUARDED: &str = "guildgate read, guard removed";
const GUARDED: &str = "guildgate guarded read";
const HAPROXY: &str = "HAProxy map + stick table";
const NGINX: &str = "nginx map + limit_req";
const READ_CASES: [&str; 5] = [BARE, UNGUARDED, GUARDED, HAPROXY, NGINX];

struct Options {
    /// Which groups run: `reads`, `writes`, `memory`, `sse`, `instances` (all by default).
    cases: Vec<String>,
    seconds: u32,
    connections: Vec<u32>,
    out: PathBuf,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        cases: ["reads", "writes", "memory", "sse", "instances"]
            .map(String::from)
            .to_vec(),
        seconds: 5,
        connections: vec![1, 16, 64, 256],
        out: PathBuf::from("target/bench"),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => options.seconds = value.parse().expect("--seconds N"),
            "--connections" => {
                options.connections = value
                    .split(',')
                    .map(|c| c.parse().expect("--connections 1,16"))
                    .collect()
            }
            "--out" => options.out = PathBuf::from(value),
            "--cases" => options.cases = value.split(',').map(str::to_owned).collect(),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve-bare") => serve_in_process(servers::bare_router(), &args[1], None),
        Some("serve-unguarded") => serve_in_process(axum::Router::new(), &args[1], args.get(2)),
        Some("run") | None => run(options(args.get(1..).unwrap_or_default())),
        Some(other) => {
            panic!("unknown command {other}: run, serve-bare PORT, serve-unguarded PORT DB")
        }
    }
}

fn serve_in_process(router: axum::Router, port: &str, database: Option<&String>) {
    let port: u16 = port.parse().expect("a port");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let router = match database {
                Some(db) => {
                    servers::unguarded_router(Arc::new(SqliteStore::open(db).await.unwrap()))
                }
                None => router,
            };
            servers::serve_forever(router, port).await;
        });
}

/// Huge limits: the benchmark measures deciding them, not their refusals.
const UNLIMITED: &str = "1000000000/1000000000/1";

fn guildgate(
    db: &str,
    key: &SecretKey,
    synchronous: &str,
    envs: &[(&str, String)],
) -> (Running, u16) {
    let port = free_port();
    let mut command = Command::new(sibling("guildgate"));
    command
        .args([
            "serve",
            "--database",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("GUILDGATE_SECRET_KEY", key.encode())
        .env("GUILDGATE_SQLITE_SYNCHRONOUS", synchronous)
        .env("GUILDGATE_LOG_LEVEL", "warn")
        .envs(envs.iter().map(|(k, v)| (k, v)));
    for limit in [
        "PER_IP",
        "READ",
        "REVERSIBLE",
        "DESTRUCTIVE",
        "AGGREGATE_READ",
        "AGGREGATE_REVERSIBLE",
        "AGGREGATE_DESTRUCTIVE",
    ] {
        command.env(format!("GUILDGATE_LIMIT_{limit}"), UNLIMITED);
    }
    (spawn("guildgate", &mut command, port), port)
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn run(options: Options) {
    std::fs::create_dir_all(&options.out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("report.lua");
    std::fs::write(&script, wrk::REPORT_LUA).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = SecretKey::generate();
    let db = format!("sqlite://{}/bench.db", dir.path().display());
    let secrets = runtime.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let secrets = seed::guild_with_tokens(&store, &key.secret_hasher(), 1).await;
        store.close().await;
        secrets
    });
    println!(
        "guildgate bench: {}s per point, connections {:?}, wrk on loopback, {} cores",
        options.seconds,
        options.connections,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let wants = |group: &str| options.cases.iter().any(|c| c == group);
    let (guarded, guarded_port) = guildgate(&db, &key, "full", &[]);
    let bearer = format!("Bearer {}", secrets[0]);
    let rows = if wants("reads") {
        read_cases(&options, &script, dir.path(), &db, guarded_port, &bearer)
    } else {
        Vec::new()
    };

    // 5: the destructive write, durable, at the highest connection count.
    let strike = strike_body();
    let write_url = format!(
        "http://127.0.0.1:{guarded_port}/api/public/v1/guilds/{}/strikes",
        seed::GUILD
    );
    let write_load = Load {
        url: &write_url,
        auth: Some(&bearer),
        body: Some(&strike),
    };
    let write_connections = (*options.connections.iter().max().unwrap_or(&64)).min(64);
    let writes = wrk::run(&script, &write_load, write_connections, options.seconds);
    drop(guarded);

    let scale_out = wants("instances")
        .then(|| instances::run(&runtime, &script, &key, write_connections, options.seconds));

    // 7: memory with 100,000 tokens and 1,000,000 audit rows.
    let memory = wants("memory").then(|| memory(&runtime, dir.path(), &key, options.seconds));
    let subscribers = wants("sse").then(|| sse::run(&runtime, dir.path(), &key));

    report::print_table(&rows);
    let at = |case: &str, c: u32| {
        rows.iter()
            .find(|r| r.case == case && r.connections == c)
            .map(|r| r.figures.clone())
    };
    let mut ratios = Vec::new();
    println!("\nratios per connection count (same run):");
    for &c in &options.connections {
        let (Some(bare), Some(unguarded), Some(guarded), Some(haproxy), Some(nginx)) = (
            at(BARE, c),
            at(UNGUARDED, c),
            at(GUARDED, c),
            at(HAPROXY, c),
            at(NGINX, c),
        ) else {
            continue;
        };
        let entry = json!({
            "connections": c,
            "guarded_over_unguarded": guarded.rps / unguarded.rps,
            "guard_added_p99_ms": guarded.p99_ms - unguarded.p99_ms,
            "guarded_over_bare": guarded.rps / bare.rps,
            "guarded_over_haproxy": guarded.rps / haproxy.rps,
            "guarded_over_nginx": guarded.rps / nginx.rps,
            "haproxy_over_bare": haproxy.rps / bare.rps,
            "nginx_over_bare": nginx.rps / bare.rps,
        });
        println!(
            "  {c:>3} conns: guarded/unguarded {:.2} (target >= 0.90), added p99 {:+.3} ms (target <= 0.5), guarded/HAProxy {:.2}, guarded/nginx {:.2} (targets >= 1.2), HAProxy/bare {:.2}, nginx/bare {:.2}",
            entry["guarded_over_unguarded"].as_f64().unwrap(),
            entry["guard_added_p99_ms"].as_f64().unwrap(),
            entry["guarded_over_haproxy"].as_f64().unwrap(),
            entry["guarded_over_nginx"].as_f64().unwrap(),
            entry["haproxy_over_bare"].as_f64().unwrap(),
            entry["nginx_over_bare"].as_f64().unwrap(),
        );
        ratios.push(entry);
    }
    println!(
        "\ndestructive write POST /strikes, durability full (fsynced before answered), {} connections: {:.0} writes/s (target >= 15,000), p99 {:.3} ms, {} errors",
        write_connections, writes.rps, writes.p99_ms, writes.errors
    );
    match memory {
        Some((rss, peak, requests)) => println!(
            "memory: RSS {:.1} MB (peak {:.1} MB) with 100,000 tokens and 1,000,000 audit rows after {requests} requests over all tokens (target <= 100 MB)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0,
        ),
        None => println!("memory: not measured in this run (--cases memory)"),
    }
    match &subscribers {
        Some(Ok(s)) => println!(
            "memory: RSS {:.1} MB (peak {:.1} MB) with {} idle SSE subscribers, {:.1} MB before them (target <= 200 MB); the next event reached {} of them within {:.0} ms",
            s.rss_kib as f64 / 1024.0,
            s.peak_rss_kib as f64 / 1024.0,
            s.subscribers,
            s.idle_rss_kib as f64 / 1024.0,
            s.delivered,
            s.fan_out_ms,
        ),
        Some(Err(why)) => println!("SSE subscribers: not measured: {why}"),
        None => println!("SSE subscribers: not measured in this run (--cases sse)"),
    }
    let scale_out = scale_out.map(|served| instances::report(&served, write_connections));
    let results = json!({
        "machine": {"cores": std::thread::available_parallelism().map_or(1, |n| n.get())},
        "seconds_per_point": options.seconds,
        "reads": report::rows_json(&rows),
        "ratios": ratios,
        "destructive_write": {"durability": "full: the WAL fsynced before each write is answered", "connections": write_connections, "figures": writes},
        "instances": scale_out,
        "sse_subscribers": subscribers.and_then(Result::ok),
        "memory": memory.map(|(rss, peak, requests)| json!({"tokens": 100_000, "audit_rows": 1_000_000, "rss_kib": rss, "peak_rss_kib": peak, "requests": requests})),
    });
    let json_path = options.out.join("results.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    let svg = options.out.join("throughput.svg");
    report::plot(&rows, &READ_CASES, &svg);
    println!("\nwrote {} and {}", json_path.display(), svg.display());
}

/// Cases 1-4: every read server against every connection count. The servers other than
/// guildgate run only for as long as this does.
fn read_cases(
    options: &Options,
    script: &Path,
    dir: &Path,
    db: &str,
    guarded_port: u16,
    bearer: &str,
) -> Vec<Row> {
    let proxy_keys: Vec<String> = (0..10_000)
        .map(|i| format!("bench-key-{i:05}-{}", guildgate_core::ids::new_ulid()))
        .collect();
    let proxy_bearer = format!("Bearer {}", proxy_keys[5_000]);

    let bare_port = free_port();
    let bare = spawn(
        "bare",
        Command::new(std::env::current_exe().unwrap()).args(["serve-bare", &bare_port.to_string()]),
        bare_port,
    );
    let unguarded_port = free_port();
    let unguarded = spawn(
        "unguarded",
        Command::new(std::env::current_exe().unwrap()).args([
            "serve-unguarded",
            &unguarded_port.to_string(),
            db,
        ]),
        unguarded_port,
    );
    let haproxy_port = free_port();
    let haproxy = servers::haproxy(dir, haproxy_port, bare_port, &proxy_keys);
    let nginx_port = free_port();
    let nginx = servers::nginx(dir, nginx_port, bare_port, &proxy_keys);

    let targets = [
        (BARE, format!("http://127.0.0.1:{bare_port}/strikes"), None),
        (
            UNGUARDED,
            format!("http://127.0.0.1:{unguarded_port}/strikes"),
            None,
        ),
        (
            GUARDED,
            format!(
                "http://127.0.0.1:{guarded_port}/api/public/v1/guilds/{}/strikes?limit=10",
                seed::GUILD
            ),
            Some(bearer),
        ),
        (
            HAPROXY,
            format!("http://127.0.0.1:{haproxy_port}/strikes"),
            Some(proxy_bearer.as_str()),
        ),
        (
            NGINX,
            format!("http://127.0.0.1:{nginx_port}/strikes"),
            Some(proxy_bearer.as_str()),
        ),
    ];
    let mut rows = Vec::new();
    for (case, url, auth) in &targets {
        let load = Load {
            url,
            auth: *auth,
            body: None,
        };
        let warm = wrk::run(script, &load, 16, 1);
        assert_eq!(warm.errors, 0, "{case} answers errors: check its setup");
        for &connections in &options.connections {
            let figures = wrk::run(script, &load, connections, options.seconds);
            rows.push(Row {
                case,
                connections,
                figures,
            });
        }
    }
    drop((haproxy, nginx, unguarded, bare));
    rows
}

const TOKEN_CYCLE_LUA: &str = r#"
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local path = os.getenv("BENCH_PATH")
request = function()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]})
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d}\n', summary.requests, summary.errors.status))
end
"#;

/// Seeds 100,000 tokens and 1,000,000 audit rows, serves them, sends requests spread over
/// every token, and reads the server's resident memory: `(rss, peak, requests)`.
fn memory(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    key: &SecretKey,
    seconds: u32,
) -> (u64, u64, u64) {
    let db = format!("sqlite://{}/memory.db", dir.display());
    let secrets = runtime.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let secrets = seed::guild_with_tokens(&store, &key.secret_hasher(), 100_000).await;
        seed::audit_rows(&store, 1_000_000).await;
        store.close().await;
        secrets
    });
    let tokens = dir.join("tokens.txt");
    std::fs::write(&tokens, secrets.join("\n")).unwrap();
    let script = dir.join("cycle.lua");
    std::fs::write(&script, TOKEN_CYCLE_LUA).unwrap();
    let (server, port) = guildgate(&db, key, "full", &[]);
    let output = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            "16",
            "-d",
            &format!("{}s", seconds.max(10)),
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .env("BENCH_TOKENS", &tokens)
        .env(
            "BENCH_PATH",
            format!("/api/public/v1/guilds/{}/strikes?limit=10", seed::GUILD),
        )
        .output()
        .expect("wrk runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let requests = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["requests"].as_u64())
        .unwrap_or(0);
    let (rss, peak) = rss_kib(server.child.id());
    (rss, peak, requests)
}

/// The destructive write every write case sends: a strike with its typed confirmation.
fn strike_body() -> String {
    json!({
        "user_id": seed::TARGET, "reason": "bench", "severity": "MINOR",
        "_confirmation": format!("ADD STRIKE TO USER {} IN GUILD {} SEVERITY MINOR", seed::TARGET, seed::GUILD),
    })
    .to_string()
}
