//! The documented quick start and the write endpoints, as a script would use them.

use guildgate_core::shard::ShardTier;
use reqwest::Method;
use serde_json::json;

use crate::common::{ALL_SCOPES, Shard};

#[tokio::test]
async fn the_three_quick_start_steps() {
    let shard = Shard::start().await;
    let status_key = shard.mint("read:status").await;
    let status = shard.get("/api/v1/status", &status_key).await;
    let body = status.ok();
    assert_eq!(body["ok"], true);
    assert_eq!(body["guildName"], "Test Wing");
    assert_eq!(body["operationOpen"], false);
    assert_eq!(body["shard"]["connectedOperators"], 0);

    let key = shard.mint(ALL_SCOPES).await;
    let (net_id, net_uid) = shard.net(&key, "Strike Net").await;
    assert_eq!(net_id, 1);
    assert!(
        net_uid.starts_with("net_") && net_uid.len() == 28,
        "{net_uid}"
    );
    let assigned = shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "123456789012345678", "netUid": net_uid, "action": "assign" }),
        )
        .await;
    assert_eq!(assigned.ok()["netId"], 1);
    let map = shard.get("/api/v1/assignments", &key).await;
    assert_eq!(
        map.ok()["assignments"],
        json!({ "123456789012345678": [1] })
    );
    let unassigned = shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "123456789012345678", "netUid": net_uid, "action": "unassign" }),
        )
        .await;
    assert_eq!(unassigned.ok()["changed"], true);
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignments"],
        json!({})
    );

    let rules = shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [{ "roleId": "1505521308744679464", "netUids": [net_uid] }] }),
        )
        .await;
    assert_eq!(rules.ok()["rules"][0]["netIds"], json!([1]));
    let read = shard.get("/api/v1/rules", &key).await;
    assert_eq!(read.ok()["rules"][0]["roleId"], "1505521308744679464");
    // The same net by uid, by id and in a second rule for the role: kept once.
    let merged = shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [
                { "roleId": "1505521308744679464", "netUids": [net_uid, net_uid], "netIds": ["1"] },
                { "roleId": "1505521308744679464", "netUids": [net_uid] },
            ]}),
        )
        .await;
    assert_eq!(
        merged.ok()["rules"],
        json!([{
            "roleId": "1505521308744679464", "netUids": [net_uid], "netIds": [1],
        }])
    );
}

#[tokio::test]
async fn nets_keep_their_uid_across_rename_and_reuse_slots_after_removal() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, alpha) = shard.net(&key, "Alpha").await;
    let (_, bravo) = shard.net(&key, "Bravo").await;
    let renamed = shard
        .post(
            "/api/v1/nets/rename",
            &key,
            json!({ "netId": 1, "name": "Air Wing" }),
        )
        .await;
    assert_eq!(renamed.ok()["netUid"], alpha);
    assert_eq!(renamed.body["net"]["name"], "Air Wing");
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "5", "netUid": alpha }),
        )
        .await
        .ok();
    let removed = shard
        .call(Method::DELETE, &format!("/api/v1/nets/{alpha}"), &key, None)
        .await;
    assert_eq!(removed.ok()["archived"], true);
    assert_eq!(removed.body["entry"]["name"], "Air Wing");
    assert_eq!(removed.body["entry"]["assignments"], json!(["5"]));
    let (slot, reused) = shard.net(&key, "Charlie").await;
    assert_eq!(slot, 1);
    assert_ne!(reused, alpha);
    let by_body = shard
        .post("/api/v1/nets/remove", &key, json!({ "netUid": bravo }))
        .await;
    assert_eq!(by_body.ok()["netUid"], bravo);
    shard
        .post("/api/v1/nets/remove", &key, json!({ "netUid": bravo }))
        .await
        .expect_error(404, &format!("Net {bravo} not found"));
    shard
        .post("/api/v1/nets", &key, json!({ "name": "charlie" }))
        .await
        .expect_error(409, "A net named 'charlie' already exists");
    shard
        .post("/api/v1/nets", &key, json!({}))
        .await
        .expect_error(400, "name is required");
    shard
        .call(Method::DELETE, "/api/v1/nets/seven", &key, None)
        .await
        .expect_error(
            400,
            "'seven' is neither a netUid (net_...) nor a numeric netId",
        );
}

#[tokio::test]
async fn free_shards_hold_ten_nets_and_premium_twenty() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    for i in 1..=10 {
        shard.net(&key, &format!("Net {i}")).await;
    }
    shard
        .post("/api/v1/nets", &key, json!({ "name": "Net 11" }))
        .await
        .expect_error(
            409,
            "This shard already holds 10 nets; a free shard holds at most 10; remove or archive a net first, or upgrade to premium for 20",
        );
    shard.set_tier(ShardTier::Premium).await;
    for i in 11..=20 {
        shard.net(&key, &format!("Net {i}")).await;
    }
    let refused = shard
        .post("/api/v1/nets", &key, json!({ "name": "Net 21" }))
        .await;
    assert_eq!(refused.status, 409);
    let status = shard.get("/api/v1/status", &key).await;
    assert_eq!(status.ok()["netCount"], 20);
    assert_eq!(status.body["shard"]["tier"], "premium");
}

#[tokio::test]
async fn bulk_reports_each_item_and_applies_the_good_ones() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Command").await;
    let reply = shard
        .post(
            "/api/v1/assignments/bulk",
            &key,
            json!({ "action": "assign", "assignments": [
                { "userId": "1", "netUid": uid },
                { "userId": "2", "netId": 1 },
                { "userId": "3", "netId": 9 },
                { "userId": "not-a-user", "netId": 1 },
                { "userId": "1", "netId": 1, "action": "unassign" },
            ]}),
        )
        .await;
    let body = reply.ok();
    let oks: Vec<bool> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [true, true, false, false, true]);
    assert_eq!(body["results"][2]["error"], "Net 9 not found");
    assert_eq!(
        (body["applied"].as_u64(), body["skipped"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        shard.get("/api/v1/assignments", &key).await.body["assignments"],
        json!({ "2": [1] })
    );
    let too_many: Vec<_> = (0..201)
        .map(|i| json!({ "userId": format!("{}", i + 1), "netId": 1 }))
        .collect();
    shard
        .post(
            "/api/v1/assignments/bulk",
            &key,
            json!({ "assignments": too_many }),
        )
        .await
        .expect_error(400, "At most 200 assignment actions per request; got 201");
}

#[tokio::test]
async fn operation_features_and_the_public_net() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let opened = shard
        .post("/api/v1/operation", &key, json!({ "open": true }))
        .await;
    assert_eq!(opened.ok()["operation"], "open");
    shard
        .post("/api/v1/operation", &key, json!({ "open": "yes" }))
        .await
        .expect_error(400, "open must be true or false");
    let features = shard
        .post(
            "/api/v1/features",
            &key,
            json!({ "features": { "globalPttEnabled": true } }),
        )
        .await;
    assert_eq!(features.ok()["features"]["globalPttEnabled"], true);
    shard
        .post("/api/v1/features", &key, json!({ "features": { "warpDrive": true } }))
        .await
        .expect_error(
            400,
            "Unknown feature 'warpDrive'. Known features: globalPttEnabled, acarsEnabled, readyChecksEnabled, publicNetEnabled",
        );
    shard
        .post(
            "/api/v1/features",
            &key,
            json!({ "features": { "acarsEnabled": true } }),
        )
        .await
        .expect_error(403, "ACARS is available on premium shards only");
    let shown = shard
        .post(
            "/api/v1/public-net",
            &key,
            json!({ "name": "Public Rally Net", "roleIds": ["123"] }),
        )
        .await;
    assert_eq!(
        shown.ok()["publicNet"],
        json!({ "enabled": true, "visible": true, "name": "Public Rally Net", "roleIds": ["123"] })
    );
    let status = shard.get("/api/v1/status", &key).await;
    let public = status.ok()["nets"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (public["virtual"].clone(), public["name"].clone()),
        (json!(true), json!("Public Rally Net"))
    );
    // Its netUid has every netUid's form; as a net to act on it is refused with the reason.
    let public_uid = public["netUid"].as_str().unwrap();
    assert!(
        public_uid.len() == 28
            && public_uid.starts_with("net_")
            && public_uid[4..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
        "{public_uid}"
    );
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "5", "netUid": public_uid }),
        )
        .await
        .expect_error(
            400,
            "The public net is virtual: it takes no assignments, rules or edits here; show, hide or remove it through /api/v1/public-net",
        );
    assert_eq!(status.body["features"]["publicNetEnabled"], true);
    let hidden = shard.post("/api/v1/public-net/hide", &key, json!({})).await;
    assert_eq!(hidden.ok()["publicNet"]["name"], "Public Rally Net");
    assert_eq!(hidden.body["publicNet"]["visible"], false);
    let restored = shard
        .post("/api/v1/public-net/restore", &key, json!({}))
        .await;
    assert_eq!(restored.ok()["publicNet"]["roleIds"], json!(["123"]));
    let removed = shard
        .post("/api/v1/public-net/remove", &key, json!({}))
        .await;
    assert_eq!(
        removed.ok()["publicNet"],
        json!({ "enabled": false, "visible": false, "name": "Public Net", "roleIds": [] })
    );
    let read = shard.get("/api/v1/public-net", &key).await;
    assert_eq!(read.ok()["publicNet"]["name"], "Public Net");
    let features = shard.get("/api/v1/features", &key).await;
    assert_eq!(features.ok()["features"]["globalPttEnabled"], true);
    // The client's spelling of "show".
    let shown = shard
        .post("/api/v1/public-net/show", &key, json!({ "name": "Rally" }))
        .await;
    assert_eq!(shown.ok()["publicNet"]["visible"], true);
    assert_eq!(shown.body["publicNet"]["name"], "Rally");
    // Liveness needs no key.
    let health = shard
        .http
        .get(format!("{}/health", shard.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["app"], "guildgate");
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_change_nothing() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let reply = shard
        .http
        .post(format!("{}/api/v1/nets", shard.base))
        .header("authorization", format!("Bearer {key}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("The request body is not valid JSON"),
        "{body}"
    );
    shard
        .post("/api/v1/assignments", &key, json!({ "netId": 1 }))
        .await
        .expect_error(400, "userId is required");
    shard
        .post(
            "/api/v1/rules",
            &key,
            json!({ "rules": [{ "roleId": "1", "netUids": ["net_aaaaaaaaaaaaaaaaaaaaaaaa"] }] }),
        )
        .await
        .expect_error(
            404,
            "Net net_aaaaaaaaaaaaaaaaaaaaaaaa not found (rule for role 1)",
        );
    let status = shard.get("/api/v1/status", &key).await;
    assert_eq!(status.ok()["configVersion"], 0);
    let openapi: serde_json::Value = shard
        .http
        .get(format!("{}/api/v1/openapi.json", shard.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert_eq!(
        openapi["paths"]["/api/v1/assignments/bulk"]["post"]["x-scope"],
        "write:assignments"
    );
}
