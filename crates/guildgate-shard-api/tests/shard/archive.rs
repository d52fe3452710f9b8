//! The archive: a removed net is kept, searched, edited and restored with its uid.

use reqwest::Method;
use serde_json::json;

use crate::common::{ALL_SCOPES, Shard};

#[tokio::test]
async fn archive_then_restore_keeps_the_uid_assignments_and_rules() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Air Wing").await;
    shard.net(&key, "Ground").await;
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "77", "netUid": uid }),
        )
        .await
        .ok();
    shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [{ "roleId": "555", "netUids": [uid] }] }),
        )
        .await
        .ok();
    shard
        .call(Method::DELETE, &format!("/api/v1/nets/{uid}"), &key, None)
        .await
        .ok();
    let before = shard.get("/api/v1/archive/sync/status", &key).await;
    assert_eq!(before.ok()["pendingOps"], 0);
    let edited = shard
        .call(
            Method::PATCH,
            &format!("/api/v1/archive/{uid}"),
            &key,
            Some(json!({ "notes": "Friday op air", "tags": ["friday", "air"] })),
        )
        .await;
    assert_eq!(edited.ok()["entry"]["notes"], "Friday op air");
    let after = shard.get("/api/v1/archive/sync/status", &key).await;
    assert_ne!(
        after.ok()["checkpoint"]["hash"],
        before.body["checkpoint"]["hash"]
    );
    assert_eq!(
        after.body["checkpoint"]["version"].as_i64().unwrap(),
        before.body["checkpoint"]["version"].as_i64().unwrap() + 1
    );
    let found = shard.get("/api/v1/archive?q=friday&tag=air", &key).await;
    assert_eq!(found.ok()["total"], 1);
    assert_eq!(found.body["entries"][0]["uid"], uid.as_str());
    assert_eq!(
        shard.get("/api/v1/archive?tag=sea", &key).await.ok()["total"],
        0
    );

    // Slot 1 is free again, but Ground holds 2: the restored net takes slot 1, its old uid.
    shard
        .post(
            &format!("/api/v1/archive/{uid}/restore"),
            &key,
            json!({ "netId": 3 }),
        )
        .await
        .expect_error(400, "Unknown restore option field 'netId'. Fields: name");
    let restored = shard
        .post(&format!("/api/v1/archive/{uid}/restore"), &key, json!({}))
        .await;
    assert_eq!(restored.ok()["netUid"], uid.as_str());
    assert_eq!(restored.body["netId"], 1);
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignmentsByUid"]["77"],
        json!([uid])
    );
    assert_eq!(
        shard.get("/api/v1/rules", &key).await.body["rules"][0]["netUids"],
        json!([uid])
    );
    shard
        .post(&format!("/api/v1/archive/{uid}/restore"), &key, json!({}))
        .await
        .expect_error(409, &format!("Net {uid} is already active"));

    let created = shard
        .post(
            "/api/v1/archive",
            &key,
            json!({ "name": "Old Sea Net", "tags": ["sea"] }),
        )
        .await;
    let new_uid = created.ok()["entry"]["uid"].as_str().unwrap().to_owned();
    assert_eq!(created.body["created"], true);
    let deleted = shard
        .call(
            Method::DELETE,
            &format!("/api/v1/archive/{new_uid}"),
            &key,
            None,
        )
        .await;
    assert_eq!(deleted.ok()["deleted"], true);
    shard
        .get(&format!("/api/v1/archive/{new_uid}"), &key)
        .await
        .expect_error(404, "Archive entry not found");
    shard
        .post("/api/v1/archive", &key, json!({ "name": "X", "colour": "red" }))
        .await
        .expect_error(
            400,
            "Unknown archive field 'colour'. Editable: name, notes, tags, assignments, roleIds, relayTargetNetUids",
        );
}

#[tokio::test]
async fn an_entry_read_back_can_be_edited_and_sent_whole() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Air Wing").await;
    let removed = shard
        .call(Method::DELETE, &format!("/api/v1/nets/{uid}"), &key, None)
        .await;
    let archived_at = removed.ok()["entry"]["archivedAt"].clone();
    let path = format!("/api/v1/archive/{uid}");
    let mut entry = shard.get(&path, &key).await.ok()["entry"].clone();
    entry["notes"] = json!("kept for Friday");
    entry["archivedAt"] = json!("1999-01-01T00:00:00.000Z");
    entry["lastNetId"] = json!(99);

    let patched = shard
        .call(Method::PATCH, &path, &key, Some(entry.clone()))
        .await;
    assert_eq!(patched.ok()["entry"]["notes"], "kept for Friday");
    // What the server keeps is its own: the values sent for those fields are not taken.
    assert_eq!(patched.body["entry"]["archivedAt"], archived_at);
    assert_eq!(patched.body["entry"]["lastNetId"], 1);
    let upserted = shard.post("/api/v1/archive", &key, entry).await;
    assert_eq!(upserted.ok()["created"], false);
    assert_eq!(upserted.body["entry"]["uid"], uid.as_str());
}

#[tokio::test]
async fn no_entry_or_net_can_take_the_public_nets_uid() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let public_uid = guildgate_core::shard::PUBLIC_NET_UID;
    shard
        .post(
            "/api/v1/archive",
            &key,
            json!({ "netUid": public_uid, "name": "Squatter" }),
        )
        .await
        .expect_error(
            400,
            "The public net is virtual: it takes no assignments, rules or edits here; show, hide or remove it through /api/v1/public-net",
        );
    assert_eq!(shard.get("/api/v1/archive", &key).await.ok()["total"], 0);
}
