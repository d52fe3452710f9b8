//! No secret rests in plain text: after a run that mints every kind of secret (a guild
//! token, a tasks key, a shard key, a webhook signing secret, an RCON password, a comms
//! client token), uses each, and sends each where it does not belong, none of them
//! appears in the server's debug log, in any error body, or anywhere in the database.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn no_secret_appears_in_logs_error_bodies_or_the_database() {
    let db = seeded();
    let guild_token = db.mint("bot", None)["token"].as_str().unwrap().to_owned();
    let tasks_key = db.workspace_key("tasks:read");
    let shard_key = db.shard_key("read:status,read:events");
    let client_token = db.ok(&[
        "shard",
        "client-token",
        "--guild",
        GUILD,
        "--user",
        "583912000000000042",
        "--name",
        "Pilot",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rcon_password = "hunter2-rcon-very-secret";
    add_server(&db, free_port(), rcon_password);

    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(
        &db,
        port,
        &[
            ("GUILDGATE_LOG_FORMAT", "json"),
            ("GUILDGATE_LOG_LEVEL", "debug"),
            ("GUILDGATE_WEBHOOK_ALLOW_PRIVATE_TARGETS", "1"),
        ],
        Some(&log),
    );
    let (status, created) = http_post(
        port,
        "/api/v1/webhooks",
        &shard_key,
        r#"{"url": "http://127.0.0.1:9/hook", "events": ["config.changed"]}"#,
    );
    assert_eq!(status, 200, "{created}");
    let created_json = body_json(&created);
    let webhook_secret = created_json["secret"]
        .as_str()
        .or_else(|| created_json["webhook"]["secret"].as_str())
        .unwrap_or_else(|| panic!("no secret in {created}"))
        .to_owned();

    let secrets = [
        ("guild token", guild_token.as_str()),
        ("tasks key", tasks_key.as_str()),
        ("shard key", shard_key.as_str()),
        ("comms client token", client_token.as_str()),
        ("webhook secret", webhook_secret.as_str()),
        ("RCON password", rcon_password),
    ];
    // Each secret used where it belongs, and sent where it does not (as a bearer token,
    // an API key, and, for the issued ones a client might paste anywhere, in a path), so
    // refusals and their logs see it too. (An owner's own RCON password, sent in a URL,
    // could not be told from any other text.)
    let mut bodies = Vec::new();
    for (name, secret) in &secrets {
        let mut paths = vec![
            format!("/api/public/v1/guilds/{GUILD}/strikes"),
            "/api/v1/tasks".to_owned(),
            "/api/v1/status".to_owned(),
        ];
        if *name != "RCON password" {
            paths.push(format!("/api/public/v1/guilds/{GUILD}/strikes/{secret}"));
            paths.push(format!("/api/v1/tasks/{secret}"));
            paths.push(format!("/api/v1/nets/{secret}"));
            paths.push(format!("/nowhere/{secret}"));
        }
        for path in paths {
            bodies.push(http_get(port, &path, secret).1);
            bodies.push(http_get_with(port, &path, &format!("X-API-Key: {secret}")).1);
        }
    }
    let servers = http_get(
        port,
        &format!("/api/public/v1/guilds/{GUILD}/servers"),
        &guild_token,
    );
    assert_eq!(servers.0, 200, "{}", servers.1);
    bodies.push(servers.1);
    server.kill().unwrap();
    server.wait().unwrap();

    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("request_id"), "the debug log was written");
    let url = db.url.clone();
    let stored = run_async(async move {
        guildgate_storage::testing::database_contents(&url)
            .await
            .unwrap()
    });
    for (name, secret) in secrets {
        // The whole secret, and its random part alone (a token without its prefix).
        let random = secret.split_once('_').map_or(secret, |(_, rest)| rest);
        for needle in [secret, random] {
            assert!(!logged.contains(needle), "{name} in the log");
            assert!(!stored.contains(needle), "{name} in the database");
            for body in &bodies {
                let without_echo: Value = body_json(body);
                assert!(
                    !without_echo.to_string().contains(needle),
                    "{name} in an error body: {body}"
                );
            }
        }
    }
}
