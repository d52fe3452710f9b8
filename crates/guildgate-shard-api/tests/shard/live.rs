//! Comms clients on the WebSocket: the roster, push-to-talk, live configuration and
//! assignments, disconnects, metrics and ACARS.

use guildgate_core::shard::ShardTier;
use guildgate_shard_api::ShardSettings;
use serde_json::{Value, json};

use crate::common::*;

fn names(values: &Value) -> Vec<String> {
    let mut names: Vec<String> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn clients_join_talk_and_follow_the_configuration() {
    let shard = Shard::start_with(ShardSettings {
        sample_every_ms: 50,
        ..ShardSettings::default()
    })
    .await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, alpha) = shard.net(&key, "Alpha").await;
    let (_, bravo) = shard.net(&key, "Bravo").await;
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "101", "netUid": alpha, "action": "assign" }),
        )
        .await
        .ok();
    shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [{ "roleId": "555", "netUids": [bravo] }] }),
        )
        .await
        .ok();

    // Stored assignment plus what the role rule gives.
    let mut one = shard.connect("101", "Pilot One", &["555"]).await;
    assert_eq!(
        names(&one.joined["netUids"]),
        names(&json!([alpha.clone(), bravo.clone()]))
    );
    assert_eq!(one.joined["config"]["nets"].as_array().unwrap().len(), 2);
    let mut two = shard.connect("202", "Pilot Two", &["777"]).await;
    assert_eq!(two.joined["netUids"], json!([]));
    // A client hears its own arrival first, then the others'.
    let joined = one.next_of("user.joined").await;
    assert_eq!(joined["event"]["data"]["userId"], "101");
    let joined = one.next_of("user.joined").await;
    assert_eq!(joined["event"]["data"]["userId"], "202");

    let roster = shard.get("/api/v1/roster", &key).await;
    let body = roster.ok();
    assert_eq!(body["count"], 2);
    let first = &body["operators"][0];
    assert_eq!(first["displayName"], "Pilot One");
    assert_eq!(first["transport"], "desktop");
    assert_eq!(first["netIds"], json!([1, 2]));
    assert_eq!(first["roleIds"], json!(["555"]));
    let no_roles = shard.mint("read:roster").await;
    let body = shard.get("/api/v1/roster", &no_roles).await.body;
    assert!(body["operators"][0].get("roleIds").is_none(), "{body}");

    // Push-to-talk drives the transmit state, the events and the talk time.
    one.send(json!({ "type": "ptt.start", "netUid": alpha }))
        .await;
    let started = two.next_of("ptt.start").await;
    assert_eq!(started["event"]["data"]["displayName"], "Pilot One");
    assert_eq!(started["event"]["data"]["netId"], 1);
    let status = shard.get("/api/v1/status", &key).await;
    let alpha_status = &status.ok()["nets"][0];
    assert_eq!(alpha_status["transmitting"], json!(["Pilot One"]));
    assert_eq!(alpha_status["occupancy"], 1);
    assert_eq!(status.body["transmitting"], json!(["Alpha"]));
    assert_eq!(status.body["connected"], 2);
    two.send(json!({ "type": "ptt.start", "netId": 1 })).await;
    assert_eq!(
        two.next_of("error").await["error"],
        "You are not on net Alpha"
    );
    // A frame the client got wrong is answered with what is wrong; the socket stays open.
    two.send(json!({ "type": "ptt.start", "netId": -1 })).await;
    assert_eq!(
        two.next_of("error").await["error"],
        "netId must be a net's number"
    );
    two.send(json!(["ptt.stop"])).await;
    assert_eq!(
        two.next_of("error").await["error"],
        "Messages must be JSON objects"
    );
    two.send(json!({ "type": "dance" })).await;
    assert!(
        two.next_of("error").await["error"]
            .as_str()
            .unwrap()
            .starts_with("Unknown message type 'dance'")
    );
    shard.clock.advance(3_000);
    one.send(json!({ "type": "ptt.stop" })).await;
    let stopped = two.next_of("ptt.stop").await;
    assert_eq!(stopped["event"]["data"]["durationMs"], 3_000);

    let metrics = shard.get("/api/v1/metrics?sinceMinutes=5", &key).await;
    let body = metrics.ok();
    assert_eq!(body["talkTime"]["totalMs"], 3_000);
    assert_eq!(body["talkTime"]["byNet"][0]["name"], "Alpha");
    assert_eq!(body["connected"], 2);
    assert_eq!(body["peakConnected"], 2);
    assert_eq!(body["transmissions"], 1);
    eventually("an occupancy sample", || async {
        let body = shard.get("/api/v1/metrics", &key).await.body;
        body["occupancy"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["connected"] == 2))
    })
    .await;
    let bad = shard.get("/api/v1/metrics?sinceMinutes=0", &key).await;
    bad.expect_error(400, "sinceMinutes must be a number from 1 to 1440");

    let scrape_as = |accept: &'static str| {
        shard
            .http
            .get(format!("{}/api/v1/metrics/prometheus", shard.base))
            .header("authorization", format!("Bearer {key}"))
            .header("accept", accept)
            .send()
    };
    // Prometheus asks for OpenMetrics by name and gets it.
    let openmetrics = scrape_as(
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    )
    .await
    .unwrap();
    assert!(
        openmetrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let openmetrics = openmetrics.text().await.unwrap();
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    assert!(openmetrics.contains("# TYPE guildgate_shard_joins counter\n"));
    // Any other scraper gets the classic text, whose counters are typed by their samples.
    let text = scrape_as("*/*").await.unwrap();
    assert!(
        text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = text.text().await.unwrap();
    assert!(!text.contains("# EOF") && !text.contains(".."), "{text}");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let joins = scrape
        .samples
        .iter()
        .find(|s| s.metric == "guildgate_shard_joins_total")
        .unwrap();
    assert!(
        matches!(joins.value, prometheus_parse::Value::Counter(_)),
        "{:?}",
        joins.value
    );
    let value = |name: &str, net: Option<&str>| {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && net.is_none_or(|n| s.labels.get("net_name") == Some(n)))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        assert_eq!(sample.labels.get("guild_id"), Some(GUILD));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        value("guildgate_shard_talk_seconds_total", Some("Alpha")),
        3.0
    );
    assert_eq!(value("guildgate_shard_connected_users", None), 2.0);
    assert_eq!(value("guildgate_shard_net_occupancy", Some("Bravo")), 1.0);
    assert_eq!(value("guildgate_shard_transmissions_total", None), 1.0);

    // Configuration and effective assignments follow the owner's changes.
    shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [
                { "roleId": "555", "netUids": [alpha] },
                { "roleId": "777", "netUids": [bravo] },
            ] }),
        )
        .await
        .ok();
    // Both clients get their new effective nets: one loses Bravo, two gains it.
    let assignments = one.next_of("assignments").await;
    assert_eq!(assignments["netUids"], json!([alpha]));
    assert_eq!(assignments["netIds"], json!([1]));
    let assignments = two.next_of("assignments").await;
    assert_eq!(assignments["netUids"], json!([bravo]));
    assert_eq!(assignments["netIds"], json!([2]));
    shard.net(&key, "Charlie").await;
    // A configuration message carries the configuration as it is when sent, so the one
    // for the rules change above may already hold the new net.
    loop {
        let config = two.next_of("config").await;
        if config["config"]["nets"].as_array().unwrap().len() == 3 {
            assert_eq!(config["config"]["nets"][2]["name"], "Charlie");
            break;
        }
    }

    // The owner disconnects a user: a control message, then the connection closes.
    shard
        .post(
            "/api/v1/clients/disconnect",
            &key,
            json!({ "userId": "303" }),
        )
        .await
        .expect_error(404, "User 303 is not connected");
    let reply = shard
        .post(
            "/api/v1/clients/disconnect",
            &key,
            json!({ "userId": "202", "reason": "Wrong squad" }),
        )
        .await;
    assert_eq!(reply.ok()["disconnected"], 1);
    let control = two.next_of("control").await;
    assert_eq!(
        control,
        json!({ "type": "control", "action": "disconnect", "reason": "Wrong squad" })
    );
    assert!(two.next().await.is_none(), "the connection must close");
    let left = one.next_of("user.left").await;
    assert_eq!(left["event"]["data"]["userId"], "202");
    one.close().await;
    eventually("an empty roster", || async {
        shard.get("/api/v1/roster", &key).await.body["count"] == 0
    })
    .await;
    let audit = shard.get("/api/v1/audit?limit=50", &key).await;
    assert!(
        audit.ok()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "disconnect_client" && e["target"] == "202")
    );
}

#[tokio::test]
async fn a_join_without_a_valid_token_is_refused() {
    let shard = Shard::start().await;
    let mut socket = shard
        .open_socket(json!({ "type": "join", "token": "gcli_forged.sig" }))
        .await;
    assert_eq!(
        socket.next().await.unwrap(),
        json!({ "type": "error", "error": "Invalid client token" })
    );
    assert!(socket.next().await.is_none());

    let expired = shard.client_token_until("101", "Late", &[], {
        use guildgate_core::clock::Clock;
        shard.clock.now() - 1
    });
    let mut socket = shard
        .open_socket(json!({ "type": "join", "token": expired }))
        .await;
    assert_eq!(
        socket.next().await.unwrap()["error"],
        "Client token has expired; ask the owner for a new one"
    );

    let mut socket = shard.open_socket(json!({ "type": "ptt.start" })).await;
    assert_eq!(
        socket.next().await.unwrap()["error"],
        "The first message must be {\"type\":\"join\",\"token\":\"gcli_...\"}"
    );

    // A plain GET is told what the endpoint is.
    let reply = shard.get("/ws", "unused").await;
    reply.expect_error(
        400,
        "This endpoint is a WebSocket: connect with an Upgrade: websocket request",
    );
}

#[tokio::test]
async fn acars_reaches_clients_on_premium_shards_within_its_own_budget() {
    let shard = Shard::start().await;
    let key = shard.mint("write:acars,manage:features").await;
    let alert = json!({ "text": "Briefing in 5", "senderName": "Ops", "alertType": "critical" });
    shard
        .post("/api/v1/acars", &key, alert.clone())
        .await
        .expect_error(
            403,
            "ACARS needs a premium shard; this shard is on the free tier",
        );
    shard.set_tier(ShardTier::Premium).await;
    let reply = shard.post("/api/v1/acars", &key, alert.clone()).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    shard
        .post(
            "/api/v1/features",
            &key,
            json!({ "features": { "acarsEnabled": true } }),
        )
        .await
        .ok();
    // Every call counts against the shard's ACARS budget (2 at once, 6 a minute); 20 s
    // give the two spent above back.
    shard.clock.advance(20_000);
    shard
        .post(
            "/api/v1/acars",
            &key,
            json!({ "text": "x", "alertType": "loud" }),
        )
        .await
        .expect_error(
            400,
            "alertType must be one of critical, emergency, non-emergency",
        );

    let mut client = shard.connect("101", "Pilot One", &[]).await;
    let reply = shard.post("/api/v1/acars", &key, alert.clone()).await;
    let body = reply.ok();
    assert_eq!(body["routed"], 1);
    assert_eq!(body["clients"], 1);
    assert_eq!(body["delivered"], true);
    assert_eq!(body["durationMs"], 8_000);
    let overlay = client.next_of("acars").await;
    assert_eq!(overlay["text"], "Briefing in 5");
    assert_eq!(overlay["senderName"], "Ops");
    assert_eq!(overlay["alertType"], "critical");

    // Two at once per shard, whatever the key: the third is refused and costs nothing.
    let other = shard.mint("write:acars").await;
    let reply = shard.post("/api/v1/acars", &other, alert.clone()).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(reply.headers["ratelimit-policy"], "\"acars\";q=2;w=20");
    // A key without write:acars is refused by scope, not by the ACARS budget.
    let reader = shard.mint("read:status").await;
    shard
        .post("/api/v1/acars", &reader, alert)
        .await
        .expect_error(403, "Missing scope: this endpoint requires write:acars");
}

#[tokio::test]
async fn ready_checks_collect_answers_and_count_the_silent_as_afk() {
    let shard = Shard::start().await;
    let key = shard
        .mint("read:ready-checks,write:ready-checks,read:status")
        .await;
    let quick = shard
        .post(
            "/api/v1/ready-checks",
            &key,
            json!({ "id": "quick", "name": "Quick check", "durationSeconds": 1 }),
        )
        .await;
    assert_eq!(quick.ok()["created"], true);
    shard
        .post(
            "/api/v1/ready-checks",
            &key,
            json!({ "id": "full", "name": "Step off", "message": "Engines on?" }),
        )
        .await
        .ok();
    let list = shard.get("/api/v1/ready-checks", &key).await;
    assert_eq!(list.ok()["templates"].as_array().unwrap().len(), 2);
    shard
        .post(
            "/api/v1/ready-checks/start",
            &key,
            json!({ "templateId": "quick" }),
        )
        .await
        .expect_error(
            409,
            "No operators are connected; a ready check needs someone to ask",
        );

    let mut one = shard.connect("101", "Pilot One", &[]).await;
    let mut two = shard.connect("202", "Pilot Two", &["777"]).await;
    let started = shard
        .post(
            "/api/v1/ready-checks/start",
            &key,
            json!({ "templateId": "quick", "initiatorName": "Lead" }),
        )
        .await;
    let session_id = started.ok()["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(started.body["session"]["summary"]["pending"], 2);
    let asked = one.next_of("ready-check.started").await;
    assert_eq!(asked["event"]["data"]["sessionId"], session_id.as_str());
    assert_eq!(asked["event"]["data"]["initiatorName"], "Lead");
    shard
        .post(
            "/api/v1/ready-checks/start",
            &key,
            json!({ "templateId": "full" }),
        )
        .await
        .expect_error(
            409,
            &format!("A ready check is already running ({session_id}); wait for it to complete"),
        );
    one.send(
        json!({ "type": "ready-check.response", "sessionId": session_id, "response": "ready" }),
    )
    .await;
    let answered = two.next_of("ready-check.response").await;
    assert_eq!(answered["event"]["data"]["summary"]["ready"], 1);
    // Pilot Two never answers: after the template's second the session completes.
    let done = two.next_of("ready-check.completed").await;
    assert_eq!(
        done["event"]["data"]["summary"],
        json!({ "total": 2, "pending": 0, "ready": 1, "declined": 0, "afk": 1, "allReady": false })
    );
    let status = shard
        .get(&format!("/api/v1/ready-checks/status/{session_id}"), &key)
        .await;
    let session = &status.ok()["session"];
    assert_eq!(session["status"], "completed");
    assert_eq!(session["responses"][1]["response"], "afk");

    // When everyone answers, the session completes at once.
    let started = shard
        .post(
            "/api/v1/ready-checks/start",
            &key,
            json!({ "templateId": "full" }),
        )
        .await;
    let session_id = started.ok()["sessionId"].as_str().unwrap().to_owned();
    for (socket, answer) in [(&mut one, "ready"), (&mut two, "declined")] {
        socket
            .send(json!({ "type": "ready-check.response", "sessionId": session_id, "response": answer }))
            .await;
    }
    // Pilot One has the first session's completion still queued; skip to this one's.
    let done = loop {
        let done = one.next_of("ready-check.completed").await;
        if done["event"]["data"]["sessionId"] == session_id.as_str() {
            break done;
        }
    };
    assert_eq!(done["event"]["data"]["summary"]["declined"], 1);
    let latest = shard.get("/api/v1/ready-checks/status", &key).await;
    assert_eq!(latest.ok()["session"]["sessionId"], session_id.as_str());
    one.send(
        json!({ "type": "ready-check.response", "sessionId": session_id, "response": "ready" }),
    )
    .await;
    assert_eq!(
        one.next_of("error").await["error"],
        format!("Ready check {session_id} is not running")
    );

    let gone = shard
        .call(
            reqwest::Method::DELETE,
            "/api/v1/ready-checks/quick",
            &key,
            None,
        )
        .await;
    assert_eq!(gone.ok()["deleted"], true);
    shard
        .post(
            "/api/v1/ready-checks/start",
            &key,
            json!({ "templateId": "quick" }),
        )
        .await
        .expect_error(404, "Ready check template quick not found");
    let reader = shard.mint("read:status").await;
    shard
        .get("/api/v1/ready-checks", &reader)
        .await
        .expect_error(
            403,
            "Missing scope: this endpoint requires read:ready-checks",
        );
}

#[tokio::test]
async fn push_to_talk_ends_with_the_net_and_a_held_key_starts_once() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, alpha) = shard.net(&key, "Alpha").await;
    for user in ["101", "202"] {
        shard
            .post(
                "/api/v1/assignments",
                &key,
                json!({ "userId": user, "netUid": alpha }),
            )
            .await
            .ok();
    }
    let mut one = shard.connect("101", "Pilot One", &[]).await;
    let mut two = shard.connect("202", "Pilot Two", &[]).await;
    // A key held down repeats ptt.start: one transmission, one event.
    for _ in 0..3 {
        one.send(json!({ "type": "ptt.start", "netUid": alpha }))
            .await;
    }
    two.next_of("ptt.start").await;
    shard.clock.advance(2_000);
    // Taken off the net mid-transmission: the transmission ends with it.
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "101", "netUid": alpha, "action": "unassign" }),
        )
        .await
        .ok();
    let stopped = two.next_of("ptt.stop").await;
    assert_eq!(stopped["event"]["data"]["durationMs"], 2_000);
    let metrics = shard.get("/api/v1/metrics", &key).await;
    assert_eq!(metrics.ok()["transmissions"], 1);
    assert_eq!(metrics.body["transmitting"], 0);
    let status = shard.get("/api/v1/status", &key).await;
    assert_eq!(status.ok()["transmitting"], json!([]));
}

#[tokio::test]
async fn a_client_that_stops_answering_leaves_the_roster() {
    let shard = Shard::start_with(ShardSettings {
        keep_alive_secs: 1,
        ..ShardSettings::default()
    })
    .await;
    let key = shard.mint("read:roster").await;
    // Joined, then never reads again: no answer to the server's pings.
    let _silent = shard.connect("101", "Pilot One", &[]).await;
    assert_eq!(shard.get("/api/v1/roster", &key).await.ok()["count"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(4_500)).await;
    assert_eq!(shard.get("/api/v1/roster", &key).await.ok()["count"], 0);
}
