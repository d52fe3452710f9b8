//! The real binary acting upstream: RCON on a loopback game server, Discord through its
//! stand-in, and a crash between the two that the next start repairs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

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
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(&db, port, &[], Some(&log));
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
    let port = free_port();
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
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(
        &db,
        port,
        &[
            ("GUILDGATE_DISCORD_BOT_TOKEN", "bot-token-for-tests"),
            ("GUILDGATE_DISCORD_API_BASE_URL", &discord.base_url()),
        ],
        Some(&log),
    );
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
