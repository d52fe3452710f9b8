//! The SSE stream: event names, the `{id, type, guildId, at, data}` body, live delivery
//! and resume with Last-Event-ID.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{ALL_SCOPES, GUILD, Shard};

/// Reads `count` events from an open SSE response: (id, event name, data).
async fn read_events(resp: &mut reqwest::Response, count: usize) -> Vec<(String, String, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            };
            if let (Some(id), Some(kind), Some(data)) = (field("id"), field("event"), field("data"))
            {
                events.push((id, kind, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

async fn open_stream(shard: &Shard, key: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut req = shard
        .http
        .get(format!("{}/api/v1/stream", shard.base))
        .header("authorization", format!("Bearer {key}"));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    resp
}

#[tokio::test]
async fn writes_reach_a_live_stream_and_a_reconnect_resumes_after_its_last_id() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let mut live = open_stream(&shard, &key, None).await;
    let (_, uid) = shard.net(&key, "Command").await;
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "7", "netUid": uid }),
        )
        .await
        .ok();
    shard
        .post("/api/v1/operation", &key, json!({ "open": true }))
        .await
        .ok();
    let events = read_events(&mut live, 4).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "config.changed",
            "assignments.changed",
            "operation.opened",
            "config.changed"
        ]
    );
    let (id, kind, body) = &events[1];
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["type"], kind.as_str());
    assert_eq!(body["guildId"], GUILD);
    assert!(body["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["changes"][0]["userId"], "7");
    assert_eq!(body["data"]["changes"][0]["netUid"], uid.as_str());
    drop(live);

    // Missed while disconnected: sent on reconnect, after the last id seen, in order.
    shard
        .post("/api/v1/operation", &key, json!({ "open": false }))
        .await
        .ok();
    let mut resumed = open_stream(&shard, &key, Some(&events[1].0)).await;
    let replay = read_events(&mut resumed, 4).await;
    let ids: Vec<u64> = replay.iter().map(|e| e.0.parse().unwrap()).collect();
    let first: u64 = events[2].0.parse().unwrap();
    assert_eq!(ids, [first, first + 1, first + 2, first + 3]);
    assert_eq!(replay[2].1, "operation.closed");
    // And then follows live.
    shard.net(&key, "Air").await;
    let next = read_events(&mut resumed, 1).await;
    assert_eq!(next[0].1, "config.changed");
    assert_eq!(next[0].0.parse::<u64>().unwrap(), first + 4);
}

#[tokio::test]
async fn a_bad_last_event_id_is_refused_and_keys_without_read_events_cannot_listen() {
    let shard = Shard::start().await;
    let key = shard.mint("read:events").await;
    let reply = shard
        .http
        .get(format!("{}/api/v1/stream", shard.base))
        .header("authorization", format!("Bearer {key}"))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let other = shard.mint("read:status").await;
    shard
        .get("/api/v1/stream", &other)
        .await
        .expect_error(403, "Missing scope: this endpoint requires read:events");
}

#[tokio::test]
async fn events_of_another_guild_never_reach_this_stream() {
    let shard = Shard::start().await;
    let ours = shard.mint(ALL_SCOPES).await;
    let theirs = shard.mint_in(crate::common::OTHER_GUILD, ALL_SCOPES).await;
    let mut live = open_stream(&shard, &ours, None).await;
    shard.net(&theirs, "Their Net").await;
    shard.net(&ours, "Our Net").await;
    let events = read_events(&mut live, 1).await;
    assert_eq!(events[0].2["data"]["net"]["name"], "Our Net");
}

#[tokio::test]
async fn a_stream_on_one_instance_sees_writes_made_on_another() {
    let a = Shard::start().await;
    if !guildgate_storage::is_postgres(&a.url) {
        // One SQLite file serves one instance; the suite's PostgreSQL run covers this.
        return;
    }
    let b = a.twin(guildgate_shard_api::ShardSettings::default()).await;
    let key = a.mint(ALL_SCOPES).await;
    let mut on_b = open_stream(&b, &key, None).await;
    let mut client_on_b = b.connect("101", "Pilot One", &[]).await;
    // Wait until B's own join event went by, so the next one is A's write.
    let joined = read_events(&mut on_b, 1).await;
    assert_eq!(joined[0].1, "user.joined");
    let (_, uid) = a.net(&key, "Made on A").await;
    let events = read_events(&mut on_b, 1).await;
    assert_eq!(events[0].1, "config.changed");
    assert_eq!(events[0].2["data"]["net"]["netUid"], uid.as_str());
    let config = client_on_b.next_of("config").await;
    assert_eq!(config["config"]["nets"][0]["name"], "Made on A");
    // B's own writes reach its stream once, though the database announces them too.
    b.net(&key, "Made on B").await;
    a.net(&key, "Made on A again").await;
    let events = read_events(&mut on_b, 2).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.2["data"]["net"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Made on B", "Made on A again"]);
}
