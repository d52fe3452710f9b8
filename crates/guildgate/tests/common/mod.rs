//! Helpers for the tests that drive the real binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub mod load;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_guildgate");
pub const GUILD: &str = "100000000000000000";
pub const OWNER: &str = "583912000000000001";
pub const MOD: &str = "583912000000000002";

pub struct Db {
    pub url: String,
    pub _dir: tempfile::TempDir,
}

impl Db {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Its own thread and runtime: sync tests call this, and so do async ones.
        let path = dir.path().to_owned();
        let url = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(guildgate_storage::testing::scratch_database_url(&path))
        })
        .join()
        .unwrap()
        .unwrap();
        Db { url, _dir: dir }
    }

    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["admin", "--database", &self.url])
            .args(args)
            .arg("--json")
            .env_remove("GUILDGATE_SECRET_KEY")
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A guild token of the owner named `name` (`--capabilities` when given): the
    /// `token mint` answer, with `token` and `id`.
    pub fn mint(&self, name: &str, capabilities: Option<&str>) -> Value {
        let mut args = vec![
            "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", name,
        ];
        if let Some(capabilities) = capabilities {
            args.extend(["--capabilities", capabilities]);
        }
        self.ok(&args)
    }

    /// A `scok_` key for the seeded guild's shard with `scopes`.
    pub fn shard_key(&self, scopes: &str) -> String {
        let minted = self.ok(&[
            "shard-key",
            "mint",
            "--guild",
            GUILD,
            "--name",
            "ops",
            "--scopes",
            scopes,
        ]);
        minted["key"].as_str().unwrap().to_owned()
    }

    /// A new workspace (id 1 on a fresh database) owned by ana@example.com, and an `arca_`
    /// key of its owner with `scopes`.
    pub fn workspace_key(&self, scopes: &str) -> String {
        self.ok(&[
            "workspace",
            "create",
            "--name",
            "Ops Team",
            "--owner-email",
            "ana@example.com",
        ]);
        let minted = self.ok(&[
            "tasks-key",
            "mint",
            "--workspace",
            "1",
            "--label",
            "ci",
            "--scopes",
            scopes,
        ]);
        minted["key"].as_str().unwrap().to_owned()
    }

    /// Runs `query` (one text column) on the database, outside the server.
    pub fn query(&self, sql: &str) -> Vec<String> {
        let (url, sql) = (self.url.clone(), sql.to_owned());
        run_async(async move {
            guildgate_storage::testing::query_text(&url, &sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }

    pub fn fails(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(!out.status.success(), "{args:?} should fail");
        serde_json::from_slice(&out.stderr).unwrap()
    }
}

/// Runs `future` to its end on a runtime of its own (on its own thread, so sync tests and
/// async ones can both call it).
pub fn run_async<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(future))
        .join()
        .unwrap()
}

pub fn seeded() -> Db {
    seed(Db::new())
}

/// The guild, its owner and a moderator, on `db`.
pub fn seed(db: Db) -> Db {
    db.ok(&[
        "guild", "create", "--id", GUILD, "--name", "Test", "--owner", OWNER, "--tier", "pro",
    ]);
    db.ok(&[
        "member",
        "add",
        "--guild",
        GUILD,
        "--user",
        MOD,
        "--capabilities",
        "strikes.read,strikes.write",
    ]);
    db
}

pub fn http_get(port: u16, path: &str, token: &str) -> (u16, String) {
    http_get_with(port, path, &format!("Authorization: Bearer {token}"))
}

/// A GET carrying one header line of the caller's (`Name: value`).
pub fn http_get_with(port: u16, path: &str, header: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

pub fn http_post(port: u16, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    (text[9..12].parse().unwrap(), text)
}

impl Db {
    /// `admin ... --json` with `secret` piped to standard input (the `--password-stdin` commands).
    pub fn admin_with_stdin(&self, args: &[&str], secret: &str) -> Output {
        let mut child = Command::new(BIN)
            .args(["admin", "--database", &self.url])
            .args(args)
            .arg("--json")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

pub fn add_server(db: &Db, port: u16, password: &str) -> String {
    let out = db.admin_with_stdin(
        &[
            "server",
            "add",
            "--guild",
            GUILD,
            "--name",
            "eu-1",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--password-stdin",
        ],
        password,
    );
    assert!(out.status.success());
    let server: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
    server["id"].as_str().unwrap().to_owned()
}

/// A loopback port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `guildgate serve` on `db` with `envs`, its log in `log` (or discarded), and
/// returns once it listens.
pub fn serve(
    db: &Db,
    port: u16,
    envs: &[(&str, &str)],
    log: Option<&tempfile::NamedTempFile>,
) -> std::process::Child {
    let stderr = match log {
        Some(log) => std::process::Stdio::from(log.reopen().unwrap()),
        None => std::process::Stdio::null(),
    };
    let child = Command::new(BIN)
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .envs(envs.iter().copied())
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait_for(port);
    child
}

/// `serve` against a Discord stand-in, optionally aborting right after the upstream call.
pub fn start_server(
    db: &Db,
    port: u16,
    crash_after_upstream: bool,
    discord: &str,
) -> std::process::Child {
    let mut envs = vec![
        ("GUILDGATE_DISCORD_BOT_TOKEN", "bot-token-for-tests"),
        ("GUILDGATE_DISCORD_API_BASE_URL", discord),
    ];
    if crash_after_upstream {
        envs.push(("GUILDGATE_FAULT_CRASH_AFTER_UPSTREAM", "1"));
    }
    serve(db, port, &envs, None)
}

pub fn http_post_with(
    port: u16,
    path: &str,
    token: &str,
    body: &str,
    idempotency_key: &str,
) -> (u16, String) {
    match load::try_post(port, path, token, body, idempotency_key) {
        (load::Outcome::Status(status), text) => (status, text),
        (load::Outcome::NoAnswer, err) => panic!("POST {path} got no answer: {err}"),
    }
}

/// The JSON body of a raw HTTP response (`null` when there is none).
pub fn body_json(raw: &str) -> Value {
    serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap_or("null")).unwrap_or(Value::Null)
}

/// Waits until a server listens on `port`.
pub fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `guildgate serve` on `db` with the operators' metrics on a listener of their own:
/// (the server, its port, the metrics port).
pub fn serve_with_metrics(db: &Db) -> (std::process::Child, u16, u16) {
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let server = serve(
        db,
        port,
        &[("GUILDGATE_METRICS_LISTEN", metrics_address.as_str())],
        None,
    );
    (server, port, metrics_port)
}

/// A scrape taken once the batched audit writer has nothing queued and has written at
/// least `rows` rows (or after five seconds, for the caller's assertions to explain).
pub fn scrape_once_audit_written(metrics_port: u16, rows: f64) -> String {
    let mut text = scrape_metrics(metrics_port);
    for _ in 0..100 {
        if metric_sum(&text, "guildgate_audit_queue_depth", &[]) == 0.0
            && metric_sum(&text, "guildgate_audit_rows_written_total", &[]) >= rows
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        text = scrape_metrics(metrics_port);
    }
    text
}

/// The operators' metrics served on `port`, as text.
pub fn scrape_metrics(port: u16) -> String {
    let (status, raw) = http_get(port, "/metrics", "");
    assert_eq!(status, 200, "{raw}");
    raw.split("\r\n\r\n").nth(1).unwrap().to_owned()
}

/// The sum of the samples of `metric` whose labels include `labels`, from scraped text.
/// A metric with no such sample fails the test: a renamed or missing metric is not 0.
pub fn metric_sum(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let samples: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("not a sample: {l}"))
        })
        .collect();
    assert!(!samples.is_empty(), "no {metric} {labels:?} in:\n{text}");
    samples.iter().sum()
}
