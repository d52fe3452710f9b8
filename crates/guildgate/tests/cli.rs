//! The real binary: the admin CLI as ops scripts call it, and `serve` answering both surfaces.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

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

#[test]
fn serve_answers_a_minted_token_and_logs_no_secret() {
    let db = seeded();
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(&db, port, &[], Some(&log));
    let (status, text) = http_get(
        port,
        &format!("/api/public/v1/guilds/{GUILD}/strikes?limit=10"),
        &secret,
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"next_cursor\":null"));
    let (status, text) = http_get(port, "/ready", "");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.ends_with("{\"database\":\"ok\",\"ready\":true}"),
        "{text}"
    );
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

    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    let (status, text) = http_get(port, "/api/v1/me", &key);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("ana@example.com"));
    let (status, text) = http_get(port, "/api/v1/nope", &key);
    assert_eq!(status, 404);
    assert!(text.ends_with("{\"error\":\"Route not found\"}"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("\r\nx-request-id: req_"),
        "an unknown path's answer carries a request id too: {text}"
    );
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

#[test]
fn a_client_token_from_the_cli_joins_the_served_shard() {
    let db = seeded();
    let issued = db.ok(&[
        "shard",
        "client-token",
        "--guild",
        GUILD,
        "--user",
        "583912000000000042",
        "--name",
        "Pilot One",
        "--roles",
        "700000000000000001",
        "--days",
        "7",
    ]);
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gcli_"), "{token}");
    assert_eq!(issued["roleIds"], serde_json::json!(["700000000000000001"]));
    let bad = db.fails(&[
        "shard",
        "client-token",
        "--guild",
        GUILD,
        "--user",
        "1",
        "--name",
        "x",
        "--days",
        "0",
    ]);
    assert_eq!(bad["error"]["code"], "VALIDATION_FAILED");
    let unknown = db.fails(&[
        "shard",
        "client-token",
        "--guild",
        "123",
        "--user",
        "1",
        "--name",
        "x",
    ]);
    assert_eq!(unknown["error"]["code"], "NOT_FOUND");

    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    let (mut socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/ws")).unwrap();
    let join = serde_json::json!({ "type": "join", "token": token });
    socket
        .send(tungstenite::Message::text(join.to_string()))
        .unwrap();
    let greeting: Value = serde_json::from_str(socket.read().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(greeting["type"], "joined");
    assert_eq!(greeting["displayName"], "Pilot One");
    assert_eq!(greeting["guildId"], GUILD);

    // After a revocation the token no longer joins; one issued later does.
    db.ok(&[
        "shard",
        "revoke-client",
        "--guild",
        GUILD,
        "--user",
        "583912000000000042",
    ]);
    let join_with = |token: &str| -> Value {
        let (mut socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/ws")).unwrap();
        let join = serde_json::json!({ "type": "join", "token": token });
        socket
            .send(tungstenite::Message::text(join.to_string()))
            .unwrap();
        serde_json::from_str(socket.read().unwrap().to_text().unwrap()).unwrap()
    };
    assert_eq!(
        join_with(&token)["error"],
        "This client token has been revoked; ask the owner for a new one"
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let fresh = db.ok(&[
        "shard",
        "client-token",
        "--guild",
        GUILD,
        "--user",
        "583912000000000042",
        "--name",
        "Pilot One",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(join_with(&fresh)["type"], "joined");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn operators_metrics_count_calls_on_their_own_listener() {
    let db = seeded();
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    let (mut server, port, metrics_port) = serve_with_metrics(&db);
    let strikes = format!("/api/public/v1/guilds/{GUILD}/strikes");
    for _ in 0..3 {
        assert_eq!(http_get(port, &strikes, &secret).0, 200);
    }
    assert_eq!(http_get(port, &strikes, "arkpat_wrong").0, 401);
    // Not on the public listener.
    assert_eq!(http_get(port, "/metrics", "").0, 404);
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The reads' audit rows are committed by the batch writer shortly after the answers.
    let text = scrape_once_audit_written(metrics_port, 3.0);
    // The whole scrape is valid exposition text.
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |metric: &str, labels: &[(&str, &str)]| metric_sum(&text, metric, labels);
    let calls = "guildgate_http_request_duration_seconds_count";
    let route = "/api/public/v1/guilds/{guild_id}/strikes";
    assert_eq!(
        value(
            calls,
            &[("route", route), ("status", "2xx"), ("surface", "guild")]
        ),
        3.0,
        "{text}"
    );
    assert_eq!(value(calls, &[("route", route), ("status", "4xx")]), 1.0);
    assert_eq!(value("guildgate_database_up", &[]), 1.0);
    assert!(
        value(
            "guildgate_rate_limit_decisions_total",
            &[("surface", "guild"), ("outcome", "allowed")]
        ) >= 3.0,
        "{text}"
    );
    assert_eq!(value("guildgate_webhook_backlog", &[]), 0.0);
    assert_eq!(value("guildgate_upstream_outbox_backlog", &[]), 0.0);
    // The three reads looked their token up three times: the first in the database, the
    // next from memory (unless a second passed in between).
    let lookups = "guildgate_token_cache_lookups_total";
    let (hits, misses) = (
        value(lookups, &[("result", "hit")]),
        value(lookups, &[("result", "miss")]),
    );
    assert_eq!(hits + misses, 3.0, "{text}");
    assert!(hits >= 1.0 && misses >= 1.0, "{text}");
    // Each read's audit row has been committed by the batch writer, none still queued.
    assert!(
        value("guildgate_audit_rows_written_total", &[]) >= 3.0,
        "{text}"
    );
    assert_eq!(value("guildgate_audit_queue_depth", &[]), 0.0);
    assert_eq!(value("guildgate_audit_rows_dropped_total", &[]), 0.0);
    assert!(value("guildgate_audit_commit_duration_seconds_count", &[]) >= 1.0);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn liveness_probes_leave_the_audit_log_alone() {
    let db = seeded();
    let (mut server, port, metrics_port) = serve_with_metrics(&db);
    for _ in 0..5 {
        assert_eq!(http_get_with(port, "/health", "Accept: */*").0, 200);
        assert_eq!(
            http_get_with(port, "/api/v1/openapi.json", "Accept: */*").0,
            200
        );
    }
    // A refused call on a guild route is audited. The audit queue is written in order, so
    // once it is empty, the probes' rows would be in too, had they any.
    let strikes = format!("/api/public/v1/guilds/{GUILD}/strikes");
    assert_eq!(http_get(port, &strikes, "arkpat_wrong").0, 401);
    let text = scrape_once_audit_written(metrics_port, 1.0);
    assert_eq!(
        metric_sum(&text, "guildgate_audit_rows_written_total", &[]),
        1.0,
        "only the refused call is audited\n{text}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn json_logs_carry_each_calls_request_id() {
    let db = seeded();
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(
        &db,
        port,
        &[
            ("GUILDGATE_LOG_FORMAT", "json"),
            ("GUILDGATE_LOG_LEVEL", "debug"),
        ],
        Some(&log),
    );
    let (status, raw) = http_get(port, "/api/v1/status", "scok_not_a_real_key");
    assert_eq!(status, 401, "{raw}");
    let request_id = raw
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap()
        .trim()
        .to_owned();
    std::thread::sleep(std::time::Duration::from_millis(200));
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<Value> = logged
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "answered"
            && l["span"]["request_id"] == request_id.as_str()
            && l["fields"]["status"] == 401),
        "no log line for {request_id}: {logged}"
    );
    assert!(!logged.contains("scok_not_a_real_key"), "no key in the log");
}
