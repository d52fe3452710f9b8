//! The real binary: the admin CLI as ops scripts call it, and `serve` answering a token.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_guildgate");
const GUILD: &str = "100000000000000000";
const OWNER: &str = "583912000000000001";
const MOD: &str = "583912000000000002";

struct Db {
    url: String,
    _dir: tempfile::TempDir,
}

impl Db {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}/g.db", dir.path().display()),
            _dir: dir,
        }
    }

    fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["admin", "--database", &self.url])
            .args(args)
            .arg("--json")
            .env_remove("GUILDGATE_SECRET_KEY")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(!out.status.success(), "{args:?} should fail");
        serde_json::from_slice(&out.stderr).unwrap()
    }
}

fn seeded() -> Db {
    let db = Db::new();
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

#[test]
fn minting_prints_the_secret_once_and_enforces_the_snapshot_ceiling() {
    let db = seeded();
    let minted = db.ok(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        MOD,
        "--name",
        "bot",
        "--allow-self-reauth",
    ]);
    let secret = minted["token"].as_str().unwrap();
    assert!(secret.starts_with("arkpat_") && secret.len() == 55);
    assert_eq!(
        minted["capabilities"],
        serde_json::json!(["strikes.read", "strikes.write"])
    );
    assert_eq!(minted["id"].as_str().unwrap().len(), 26);
    let listed = db.ok(&["token", "list", "--guild", GUILD]);
    assert!(
        !listed.to_string().contains(&secret[7..]),
        "list never shows a secret"
    );
    assert_eq!(listed["data"][0]["status"], "active");

    let beyond = db.fails(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        MOD,
        "--name",
        "x",
        "--capabilities",
        "bans.write",
    ]);
    assert_eq!(beyond["error"]["code"], "CAPABILITY_DENIED");
    let stranger = db.fails(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        "583912000000000009",
        "--name",
        "x",
    ]);
    assert_eq!(stranger["error"]["code"], "FORBIDDEN");
    let past = db.fails(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        MOD,
        "--name",
        "x",
        "--expires-at",
        "2001-01-01T00:00:00Z",
    ]);
    assert_eq!(past["error"]["code"], "VALIDATION_FAILED");
    let bad_cap = db.fails(&[
        "member",
        "set-capabilities",
        "--guild",
        GUILD,
        "--user",
        MOD,
        "--capabilities",
        "strikes.nuke",
    ]);
    assert!(
        bad_cap["error"]["message"]
            .as_str()
            .unwrap()
            .contains("strikes.nuke")
    );
}

#[test]
fn leaving_the_guild_or_pro_revokes_tokens() {
    let db = seeded();
    let moderator = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", MOD, "--name", "mod bot",
    ]);
    let owner = db.ok(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        OWNER,
        "--name",
        "owner bot",
    ]);
    let removed = db.ok(&["member", "remove", "--guild", GUILD, "--user", MOD]);
    assert_eq!(removed["revoked_tokens"], 1);
    let status = |id: &Value| {
        let listed = db.ok(&["token", "list", "--guild", GUILD]);
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == *id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&moderator["id"]), "revoked");
    assert_eq!(status(&owner["id"]), "active");
    let free = db.ok(&["guild", "set-tier", "--id", GUILD, "--tier", "free"]);
    assert_eq!(free["revoked_tokens"], 1);
    assert_eq!(status(&owner["id"]), "revoked");
    let refused = db.fails(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "again",
    ]);
    assert_eq!(refused["error"]["code"], "FEATURE_NOT_ENABLED");
}

#[test]
fn an_unknown_config_key_stops_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("guildgate.toml");
    std::fs::write(&file, "listen_adress = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_adress"));
}

fn http_get(port: u16, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

#[test]
fn serve_answers_a_minted_token_and_logs_no_secret() {
    let db = seeded();
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    wait_for(port);
    let (status, text) = http_get(
        port,
        &format!("/api/public/v1/guilds/{GUILD}/strikes?limit=10"),
        &secret,
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"next_cursor\":null"));
    let mut mistyped = secret.clone().into_bytes();
    mistyped[10] = if mistyped[10] == b'A' { b'B' } else { b'A' };
    let mistyped = String::from_utf8(mistyped).unwrap();
    let (status, _) = http_get(
        port,
        &format!("/api/public/v1/guilds/{GUILD}/strikes"),
        &mistyped,
    );
    assert_eq!(status, 401);
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let exit = server.wait().unwrap();
    assert!(exit.success(), "graceful shutdown on SIGTERM");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("record-only"), "{logged}");
    assert!(!logged.contains(&secret[7..]));
}

#[test]
fn one_server_answers_both_surfaces_in_their_own_shapes() {
    let db = Db::new();
    let ws = db.ok(&[
        "workspace",
        "create",
        "--name",
        "Ops Team",
        "--owner-email",
        "ana@example.com",
    ]);
    assert_eq!(ws["slug"], "ops-team");
    let added = db.ok(&[
        "workspace",
        "add-member",
        "--workspace",
        "1",
        "--email",
        "vic@example.com",
        "--role",
        "viewer",
    ]);
    assert_eq!(added["role"], "viewer");
    let bad_role = db.fails(&[
        "workspace",
        "add-member",
        "--workspace",
        "1",
        "--email",
        "x@example.com",
        "--role",
        "boss",
    ]);
    assert_eq!(bad_role["error"]["code"], "VALIDATION_FAILED");
    let minted = db.ok(&[
        "tasks-key",
        "mint",
        "--workspace",
        "1",
        "--label",
        "ci",
        "--scopes",
        "users:read,tasks:read",
    ]);
    let key = minted["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("arca_") && key.len() == 69);
    assert_eq!(
        minted["scopes"],
        serde_json::json!(["users:read", "tasks:read"])
    );
    let stranger = db.fails(&[
        "tasks-key",
        "mint",
        "--workspace",
        "1",
        "--label",
        "x",
        "--scopes",
        "tasks:read",
        "--user",
        "nobody@example.com",
    ]);
    assert_eq!(stranger["error"]["code"], "NOT_FOUND");
    let bad_scope = db.fails(&[
        "tasks-key",
        "mint",
        "--workspace",
        "1",
        "--label",
        "x",
        "--scopes",
        "tasks:admin",
    ]);
    assert!(
        bad_scope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tasks:admin")
    );
    let listed = db.ok(&["tasks-key", "list", "--workspace", "1"]);
    assert!(!listed.to_string().contains(&key[5..]));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(port);
    let (status, text) = http_get(port, "/api/v1/me", &key);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("ana@example.com"));
    let (status, text) = http_get(port, "/api/v1/nope", &key);
    assert_eq!(status, 404);
    assert!(text.ends_with("{\"error\":\"Route not found\"}"), "{text}");
    let (status, text) = http_get(port, "/api/public/v1/nope", &key);
    assert_eq!(status, 404);
    assert!(text.contains("\"code\":\"NOT_FOUND\""), "{text}");
    let (status, text) = http_get(port, "/openapi.json", &key);
    assert_eq!(status, 200);
    assert!(
        text.contains("\"openapi\":\"3.1.0\"")
            && text.contains("create_task")
            && text.contains("add_strike")
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

fn http_post(port: u16, path: &str, token: &str, body: &str) -> (u16, String) {
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

fn add_server(db: &Db, port: u16, password: &str) -> String {
    let mut child = Command::new(BIN)
        .args([
            "admin",
            "--database",
            &db.url,
            "server",
            "add",
            "--guild",
            GUILD,
            "--name",
            "eu-1",
        ])
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--password-stdin",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let server: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
    server["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rcon_runs_on_a_real_server_and_a_wrong_password_never_leaks() {
    let rcon = guildgate_upstream::stand_in::start("hunter2-rcon", false).await;
    let db = seeded();
    let good = add_server(&db, rcon.port(), "hunter2-rcon");
    let bad = add_server(&db, rcon.port(), "wrong-secret-pw");
    let minted = db.ok(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        OWNER,
        "--name",
        "ops",
        "--capabilities",
        "rcon.run",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    db.ok(&[
        "reauth",
        "open",
        "--token-id",
        minted["id"].as_str().unwrap(),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    wait_for(port);
    let run = |server_id: String, command: &'static str| {
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || {
            let body = serde_json::json!({
                "command": command,
                "_confirmation": format!("RUN RCON ON SERVER {server_id} IN GUILD {GUILD}"),
            });
            http_post(
                port,
                &format!("/api/public/v1/guilds/{GUILD}/servers/{server_id}/rcon/run"),
                &secret,
                &body.to_string(),
            )
        })
    };
    let status_secret = secret.clone();
    let (status, text) = tokio::task::spawn_blocking(move || {
        http_get(port, "/api/public/v1/status", &status_secret)
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("\"rcon\":\"live\"") && text.contains("\"discord\":\"record-only\""),
        "{text}"
    );
    let (status, text) = run(good, "echo kicked PlayerName").await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("\"output\":\"kicked PlayerName\"")
            && text.contains("\"status\":\"completed\""),
        "{text}"
    );
    let (status, text) = run(bad, "echo x").await.unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("UPSTREAM_UNAVAILABLE") && text.contains("refused the stored RCON password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-pw") && !text.contains("hunter2"));
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        !logged.contains("wrong-secret-pw") && !logged.contains("hunter2"),
        "{logged}"
    );
}

fn start_server(
    db: &Db,
    port: u16,
    crash_after_upstream: bool,
    discord: &str,
) -> std::process::Child {
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("GUILDGATE_DISCORD_BOT_TOKEN", "bot-token-for-tests")
        .env("GUILDGATE_DISCORD_API_BASE_URL", discord)
        .stderr(std::process::Stdio::null());
    if crash_after_upstream {
        command.env("GUILDGATE_FAULT_CRASH_AFTER_UPSTREAM", "1");
    }
    let child = command.spawn().unwrap();
    wait_for(port);
    child
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_discord_and_the_record_is_reconciled_at_the_next_start() {
    let (_, discord) =
        guildgate_upstream::discord_stand_in::DiscordStandIn::start("bot-token-for-tests").await;
    let base = discord.base_url();
    let db = seeded();
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "ops",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    db.ok(&[
        "reauth",
        "open",
        "--token-id",
        minted["id"].as_str().unwrap(),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (secret_a, base_a) = (secret.clone(), base.clone());
    let db = tokio::task::spawn_blocking(move || {
        let mut doomed = start_server(&db, port, true, &base_a);
        let body = format!(
            "{{\"user_id\":\"583912000000000000\",\"reason\":\"raid\",\"_confirmation\":\"BAN USER 583912000000000000 IN GUILD {GUILD} PERMANENT\"}}"
        );
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /api/public/v1/guilds/{GUILD}/bans HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {secret_a}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.is_empty(), "the process died before answering: {answer}");
        assert!(!doomed.wait().unwrap().success(), "aborted by the fault");
        db
    })
    .await
    .unwrap();
    // Discord banned the user; guildgate has no record of it yet.
    assert!(discord.is_banned(GUILD, "583912000000000000"));

    // The next start finds the pending intent, applies it again and records it once.
    let (bans, audit) = tokio::task::spawn_blocking(move || {
        let mut server = start_server(&db, port, false, &base);
        let started = Instant::now();
        let bans = loop {
            let (status, text) = http_get(
                port,
                &format!("/api/public/v1/guilds/{GUILD}/bans"),
                &secret,
            );
            assert_eq!(status, 200, "{text}");
            if text.contains("583912000000000000") || started.elapsed() > Duration::from_secs(10) {
                break text;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let (_, audit) = http_get(
            port,
            &format!("/api/public/v1/guilds/{GUILD}/audit?limit=100"),
            &secret,
        );
        server.kill().unwrap();
        server.wait().unwrap();
        // A third start has nothing left to reconcile.
        let mut third = start_server(&db, port, false, &base);
        std::thread::sleep(Duration::from_millis(300));
        let (_, again) = http_get(
            port,
            &format!("/api/public/v1/guilds/{GUILD}/audit?limit=100"),
            &secret,
        );
        assert_eq!(again.matches("\"method\":\"RECONCILE\"").count(), 1);
        third.kill().unwrap();
        third.wait().unwrap();
        (bans, audit)
    })
    .await
    .unwrap();
    assert_eq!(
        bans.matches("\"user_id\":\"583912000000000000\"").count(),
        1,
        "{bans}"
    );
    assert_eq!(
        audit.matches("\"method\":\"RECONCILE\"").count(),
        1,
        "{audit}"
    );
    let puts = discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 2, "the crashed attempt and the idempotent re-send");
}

fn http_post_with(
    port: u16,
    path: &str,
    token: &str,
    body: &str,
    idempotency_key: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    (text[9..12].parse().unwrap(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn bans_reach_discord_and_a_discord_outage_loses_nothing() {
    use guildgate_upstream::discord_stand_in::{DiscordStandIn, FailKind};
    let (_, discord) = DiscordStandIn::start("bot-token-for-tests").await;
    let db = seeded();
    let minted = db.ok(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        OWNER,
        "--name",
        "CI deploy bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    db.ok(&[
        "reauth",
        "open",
        "--token-id",
        minted["id"].as_str().unwrap(),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--database",
            &db.url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("GUILDGATE_DISCORD_BOT_TOKEN", "bot-token-for-tests")
        .env("GUILDGATE_DISCORD_API_BASE_URL", discord.base_url())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    wait_for(port);
    let ban = |user: &'static str, key: &'static str| {
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || {
            let body = format!(
                "{{\"user_id\":\"{user}\",\"reason\":\"raid\",\"_confirmation\":\"BAN USER {user} IN GUILD {GUILD} PERMANENT\"}}"
            );
            http_post_with(
                port,
                &format!("/api/public/v1/guilds/{GUILD}/bans"),
                &secret,
                &body,
                key,
            )
        })
    };
    let status_secret = secret.clone();
    let (_, status) = tokio::task::spawn_blocking(move || {
        http_get(port, "/api/public/v1/status", &status_secret)
    })
    .await
    .unwrap();
    assert!(status.contains("\"discord\":\"discord\""), "{status}");

    let (code, text) = ban("583912000000000010", "ban-a").await.unwrap();
    assert_eq!(code, 201, "{text}");
    assert!(discord.is_banned(GUILD, "583912000000000010"));
    let put = discord
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT ban");
    assert_eq!(put.path, format!("/guilds/{GUILD}/bans/583912000000000010"));
    let reason = put.audit_reason.unwrap();
    assert!(
        reason.contains("raid") && reason.contains("CI deploy bot"),
        "{reason}"
    );

    // Discord fails once: 503, nothing recorded; the retry with the same key acts once.
    discord.fail_next(1, FailKind::ServerError);
    let (code, text) = ban("583912000000000011", "ban-b").await.unwrap();
    assert_eq!(code, 503, "{text}");
    assert!(
        text.contains("UPSTREAM_UNAVAILABLE") && text.contains("\"retryable\":true"),
        "{text}"
    );
    assert!(!discord.is_banned(GUILD, "583912000000000011"));
    let list_secret = secret.clone();
    let list = move || {
        let secret = list_secret.clone();
        tokio::task::spawn_blocking(move || {
            http_get(
                port,
                &format!("/api/public/v1/guilds/{GUILD}/bans"),
                &secret,
            )
        })
    };
    let (_, bans) = list().await.unwrap();
    assert!(!bans.contains("583912000000000011"), "{bans}");
    let (code, first) = ban("583912000000000011", "ban-b").await.unwrap();
    assert_eq!(code, 201, "{first}");
    let (code, replay) = ban("583912000000000011", "ban-b").await.unwrap();
    assert_eq!(code, 201);
    assert!(replay.contains("idempotent-replayed: true"), "{replay}");
    assert!(discord.is_banned(GUILD, "583912000000000011"));
    let puts = discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("583912000000000011"))
        .count();
    assert_eq!(
        puts, 2,
        "the failed attempt and the retry; the replay sent nothing"
    );
    let (_, bans) = list().await.unwrap();
    assert_eq!(bans.matches("583912000000000011").count(), 1, "{bans}");

    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(!logged.contains("bot-token-for-tests"), "{logged}");
}

/// Waits until a server listens on `port`.
fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
