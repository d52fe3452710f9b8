//! Operation presets: saved, listed, applied through central validation (all or
//! nothing), deleted by URL-encoded name.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn net_names(shard: &Shard, key: &str) -> Vec<String> {
    let status = shard.get("/api/v1/status", key).await;
    status.ok()["nets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_preset_builds_tonights_board_and_a_bad_one_changes_nothing() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, command) = shard.net(&key, "Command").await;
    let (_, old) = shard.net(&key, "Old Net").await;

    let saved = shard
        .post(
            "/api/v1/presets",
            &key,
            json!({
                "name": "Friday Op",
                "nets": ["command", { "name": "Alpha" }],
                "assignments": [
                    { "userId": "101", "netName": "Alpha" },
                    { "userId": "102", "netName": "Command" },
                ],
                "operation": "open",
            }),
        )
        .await;
    assert_eq!(saved.ok()["created"], true);
    let listed = shard.get("/api/v1/presets", &key).await;
    assert_eq!(listed.ok()["presets"][0]["name"], "Friday Op");
    assert_eq!(listed.body["presets"][0]["operationOpen"], true);

    // An option the server does not know is refused before anything is applied: a
    // `dryRun` that went unnoticed would apply the preset for real.
    shard
        .post(
            "/api/v1/presets/Friday%20Op/apply",
            &key,
            json!({ "dryRun": true }),
        )
        .await
        .expect_error(
            400,
            "Unknown apply option field 'dryRun'. Fields: clearAssignments, removeOtherNets, operationOpen",
        );
    assert_eq!(net_names(&shard, &key).await, ["Command", "Old Net"]);

    let applied = shard
        .post(
            "/api/v1/presets/Friday%20Op/apply",
            &key,
            json!({ "removeOtherNets": true }),
        )
        .await;
    let body = applied.ok();
    assert_eq!(body["created"], 1);
    // Matched by name ignoring case, then renamed to the preset's spelling.
    assert_eq!(body["renamed"], 1);
    assert_eq!(body["nets"][0]["netUid"], command.as_str());
    assert!(body["archived"].get(&old).is_some(), "{body}");
    assert_eq!(body["assignments"], json!({ "applied": 2, "skipped": 0 }));
    assert_eq!(body["operationOpen"], true);
    assert_eq!(net_names(&shard, &key).await, ["command", "Alpha"]);
    let archived = shard.get(&format!("/api/v1/archive/{old}"), &key).await;
    assert_eq!(archived.ok()["entry"]["name"], "Old Net");
    let map = shard.get("/api/v1/assignments", &key).await;
    assert_eq!(map.ok()["assignments"]["102"], json!([1]));

    let again = shard
        .post("/api/v1/presets/Friday%20Op/apply", &key, json!({}))
        .await;
    assert_eq!(again.ok()["created"], 0);
    assert_eq!(
        again.body["assignments"],
        json!({ "applied": 0, "skipped": 2 })
    );

    // A preset naming a net that exists nowhere is refused whole.
    let version = shard.get("/api/v1/status", &key).await.body["configVersion"].clone();
    shard
        .post(
            "/api/v1/presets",
            &key,
            json!({
                "name": "Broken",
                "nets": ["Bravo"],
                "assignments": [{ "userId": "101", "netName": "Zulu" }],
            }),
        )
        .await
        .ok();
    shard
        .post("/api/v1/presets/Broken/apply", &key, json!({}))
        .await
        .expect_error(
            404,
            "The preset assigns user 101 to net 'Zulu', which does not exist",
        );
    // Eleven nets do not fit a free shard: refused by the validation authority.
    let many: Vec<String> = (1..=11).map(|i| format!("Net {i}")).collect();
    shard
        .post(
            "/api/v1/presets",
            &key,
            json!({ "name": "Big", "nets": many }),
        )
        .await
        .ok();
    let big = shard
        .post("/api/v1/presets/Big/apply", &key, json!({}))
        .await;
    assert_eq!(big.status, 409, "{}", big.body);
    let status = shard.get("/api/v1/status", &key).await;
    assert_eq!(status.ok()["configVersion"], version);
    assert_eq!(net_names(&shard, &key).await, ["command", "Alpha"]);

    shard
        .post("/api/v1/presets", &key, json!({ "name": "X", "squads": [] }))
        .await
        .expect_error(
            400,
            "Unknown preset field 'squads'. Fields: name, nets, assignments, operationOpen, operation",
        );
    shard
        .post(
            "/api/v1/presets",
            &key,
            json!({ "name": "X", "nets": [""] }),
        )
        .await
        .expect_error(400, "preset net names must be 1 to 32 characters, got ''");
    let deleted = shard
        .call(Method::DELETE, "/api/v1/presets/Friday%20Op", &key, None)
        .await;
    assert_eq!(deleted.ok()["name"], "Friday Op");
    shard
        .call(Method::DELETE, "/api/v1/presets/Friday%20Op", &key, None)
        .await
        .expect_error(404, "Preset 'Friday Op' not found");
    let reader = shard.mint("read:status").await;
    shard
        .get("/api/v1/presets", &reader)
        .await
        .expect_error(403, "Missing scope: this endpoint requires write:presets");
}
