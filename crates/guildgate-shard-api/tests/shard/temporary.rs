//! Temporary assignments are undone by the server on time, also after a restart.

use guildgate_core::clock::{Clock, MINUTE};
use guildgate_shard_api::ShardSettings;
use serde_json::json;

use crate::common::{ALL_SCOPES, Shard, eventually};

#[tokio::test]
async fn a_temporary_assignment_expires_across_a_restart() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Strike").await;
    let reply = shard
        .post(
            "/api/v1/assignments/temporary",
            &key,
            json!({ "userId": "42", "netUid": uid, "expiresMinutes": 30 }),
        )
        .await;
    let expires = reply.ok()["expiresAtMs"].as_i64().unwrap();
    assert_eq!(expires, Clock::now(&shard.clock) + 30 * MINUTE);
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignments"],
        json!({ "42": [1] })
    );
    // The server stops with the timer pending, and starts again after it is due.
    let shard = shard.restart(ShardSettings::default()).await;
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignments"],
        json!({ "42": [1] })
    );
    shard.clock.advance(31 * MINUTE);
    eventually("the temporary assignment to be undone", || async {
        shard.get("/api/v1/assignments", &key).await.body["assignments"] == json!({})
    })
    .await;
    let audit = shard.get("/api/v1/audit?limit=5", &key).await;
    let expiry = audit.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "assignment.expire")
        .expect("the expiry is audited")
        .clone();
    assert_eq!(expiry["actorSource"], "system");
    assert_eq!(expiry["target"], format!("42:{uid}"));
}

#[tokio::test]
async fn a_permanent_assign_cancels_the_timer_and_lengths_are_checked() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Strike").await;
    shard
        .post(
            "/api/v1/assignments/temporary",
            &key,
            json!({ "userId": "42", "netUid": uid, "ttlMs": 5_000 }),
        )
        .await
        .ok();
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "42", "netUid": uid }),
        )
        .await
        .ok();
    shard.clock.advance(MINUTE);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignments"],
        json!({ "42": [1] })
    );
    shard
        .post(
            "/api/v1/assignments/temporary",
            &key,
            json!({ "userId": "42", "netUid": uid }),
        )
        .await
        .expect_error(
            400,
            "Give the assignment's length as ttlMs, expiresMinutes or minutes",
        );
    shard
        .post(
            "/api/v1/assignments/temporary",
            &key,
            json!({ "userId": "42", "netUid": uid, "minutes": 100_000 }),
        )
        .await
        .expect_error(400, "A temporary assignment lasts from 1 second to 7 days");
}
