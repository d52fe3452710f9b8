//! The crash test: a client keeps writing strikes, bans (sent to a Discord stand-in),
//! ticket claims and tasks, each with an Idempotency-Key and retried until acknowledged,
//! while `guildgate serve` is killed with SIGKILL every 10 s for 60 s and started again.
//! Afterwards every acknowledged write exists exactly once with its audit row, nothing
//! exists that was never acknowledged, and every acknowledged ban is in force at Discord.
//! Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::load::{self, NO_LIMITS, Outcome, Stream, WriteLoad, drive, reconcile};
use common::*;
use guildgate_upstream::discord_stand_in::DiscordStandIn;

const KILLS: usize = 6;
const KILL_EVERY: Duration = Duration::from_secs(10);
const TICKETS: usize = 3_000;

/// Opens `TICKETS` tickets in one statement (the admin CLI opens one per run).
fn open_tickets(db: &Db) -> Vec<String> {
    let ids: Vec<String> = (0..TICKETS)
        .map(|_| guildgate_core::ids::new_ulid())
        .collect();
    let values = ids
        .iter()
        .map(|id| format!("('{id}', '{GUILD}', '{MOD}', 'help', 'open', 0)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO tickets (id, guild_id, opened_by, subject, status, created_at) VALUES {values}"
    );
    let url = db.url.clone();
    run_async(async move { guildgate_storage::testing::execute_raw(&url, &sql).await }).unwrap();
    ids
}

/// A tasks key of the seeded workspace's owner and a list to create tasks in.
fn tasks_setup(db: &Db, port: u16) -> (String, i64) {
    let key = db.workspace_key("folders:write,lists:write,tasks:read,tasks:write");
    let created = |path: &str, body: String| -> serde_json::Value {
        let (status, text) = http_post(port, path, &key, &body);
        assert_eq!(status, 201, "{text}");
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    };
    let folder = created(
        "/api/v1/folders",
        r#"{"workspace_id": 1, "name": "Infra"}"#.to_owned(),
    );
    let list = created(
        "/api/v1/lists",
        format!(
            r#"{{"workspace_id": 1, "folder_id": {}, "name": "Backlog"}}"#,
            folder["id"]
        ),
    );
    (key, list["id"].as_i64().unwrap())
}

fn serve_with_discord(db: &Db, port: u16, discord: &str) -> std::process::Child {
    let mut env: Vec<(&str, &str)> = NO_LIMITS.to_vec();
    env.push(("GUILDGATE_DISCORD_BOT_TOKEN", "bot-token-for-tests"));
    env.push(("GUILDGATE_DISCORD_API_BASE_URL", discord));
    serve(db, port, &env, None)
}

#[test]
fn sigkill_every_ten_seconds_loses_and_doubles_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, discord) = runtime.block_on(DiscordStandIn::start("bot-token-for-tests"));
    let db = seeded();
    let minted = db.mint("crash client", None);
    let token = minted["token"].as_str().unwrap().to_owned();
    db.ok(&[
        "reauth",
        "open",
        "--token-id",
        minted["id"].as_str().unwrap(),
    ]);
    let tickets = open_tickets(&db);
    let port = free_port();
    let mut server = serve_with_discord(&db, port, &discord.base_url());
    let (tasks_key, list) = tasks_setup(&db, port);

    let streams: Vec<(Arc<Stream>, Duration)> = vec![
        (Arc::new(load::strikes(&token)), Duration::from_millis(20)),
        (Arc::new(load::bans(&token)), Duration::from_millis(50)),
        (
            Arc::new(load::claims(&token, tickets)),
            Duration::from_millis(50),
        ),
        (
            Arc::new(load::tasks(&tasks_key, list)),
            Duration::from_millis(20),
        ),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let running: Vec<_> = streams
        .iter()
        .map(|(stream, pace)| {
            drive(
                stream.clone(),
                vec![port],
                1,
                *pace,
                stop.clone(),
                Duration::from_secs(30),
            )
        })
        .collect();

    let started = Instant::now();
    for kill in 1..=KILLS {
        let at = KILL_EVERY * kill as u32;
        std::thread::sleep(at.saturating_sub(started.elapsed()));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        server = serve_with_discord(&db, port, &discord.base_url());
    }
    // A few seconds on the last restart, so recovery shows in what gets acknowledged.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let loads: Vec<WriteLoad> = running.into_iter().map(|r| r.join().unwrap()).collect();
    server.kill().unwrap();
    server.wait().unwrap();

    let mut unanswered = 0;
    for ((stream, _), load) in streams.iter().zip(&loads) {
        assert!(load.wrong.is_empty(), "{}: {:?}", stream.name, load.wrong);
        assert!(
            load.unfinished.is_empty(),
            "{}: {:?}",
            stream.name,
            load.unfinished
        );
        let reconciled = reconcile(&db, stream, load);
        reconciled.assert_exact(load);
        unanswered += load.count(Outcome::NoAnswer);
        eprintln!(
            "crash test, {}: {} acknowledged, {} attempts unanswered (killed or restarting), \
             {} told in flight; lost 0, duplicated 0",
            stream.name,
            reconciled.acknowledged,
            load.count(Outcome::NoAnswer),
            load.count(Outcome::Status(409)),
        );
        // Writes kept being acknowledged after the last restart.
        assert!(
            load.acknowledged_after(KILL_EVERY * KILLS as u32) > 0,
            "{}: nothing acknowledged after the last restart; last answers {:?}",
            stream.name,
            &load.responses[load.responses.len().saturating_sub(5)..]
        );
    }
    assert!(unanswered > 0, "no kill caught a request");
    // Every acknowledged ban is in force where it matters.
    let bans = &loads[1];
    for key in bans.acknowledged.keys() {
        let n: u64 = key.trim_start_matches("bans-").parse().unwrap();
        assert!(
            discord.is_banned(GUILD, &load::banned_user(n)),
            "ban {key} acknowledged but not at Discord"
        );
    }
}
