//! Keys: shape, revocation, guild scoping, and every route's scope.

use guildgate_core::shard::SHARD_ROUTES;
use reqwest::Method;
use serde_json::json;

use crate::common::{GUILD, OTHER_GUILD, Shard};

#[tokio::test]
async fn a_missing_or_malformed_key_is_refused_before_any_lookup() {
    let shard = Shard::start().await;
    let reply = shard
        .http
        .get(format!("{}/api/v1/status", shard.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "error": "Missing API key. Send Authorization: Bearer scok_..." })
    );
    let key = shard.mint("read:status").await;
    // One character changed: the checksum no longer matches.
    let mut typo = key.clone().into_bytes();
    let last = typo.len() - 3;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    shard.get("/api/v1/status", &typo).await.expect_error(
        401,
        "Invalid API key: the token's checksum does not match; it was mistyped or truncated",
    );
    shard
        .get("/api/v1/status", "arkpat_notashardkey")
        .await
        .expect_error(401, "Invalid API key: an Owner API key starts with scok_");
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let shard = Shard::start().await;
    let key = shard.mint("read:status").await;
    shard.get("/api/v1/status", &key).await.ok();
    let id = shard.store.shard_keys(GUILD).await.unwrap()[0].id.clone();
    let hasher = shard.key.secret_hasher();
    let owner = guildgate_owner::Owner {
        store: shard.store.as_ref(),
        hasher: &hasher,
    };
    let record = shard.store.shard_key(&id).await.unwrap().unwrap();
    guildgate_owner::revoke_shard_key(owner, &guildgate_owner::Actor::cli(0), &record)
        .await
        .unwrap();
    shard
        .get("/api/v1/status", &key)
        .await
        .expect_error(401, "API key has been revoked");
}

#[tokio::test]
async fn a_key_acts_only_on_its_own_guild() {
    let shard = Shard::start().await;
    let ours = shard.mint("read:status,write:nets").await;
    let theirs = shard.mint_in(OTHER_GUILD, "read:status,write:nets").await;
    shard.net(&ours, "Command").await;
    let status = shard.get("/api/v1/status", &theirs).await;
    assert_eq!(status.ok()["guildId"], OTHER_GUILD);
    assert_eq!(status.body["nets"], json!([]));
    let ours_status = shard.get("/api/v1/status", &ours).await;
    assert_eq!(ours_status.ok()["guildName"], "Test Wing");
    assert_eq!(ours_status.body["nets"][0]["name"], "Command");
}

#[tokio::test]
async fn every_scoped_route_names_the_scope_it_lacks() {
    let shard = Shard::start().await;
    // A key whose one scope no route of the table needs alone.
    let key = shard.mint("read:roster:roles").await;
    let mut checked = 0;
    for route in SHARD_ROUTES.iter().filter(|r| r.scope.is_some()) {
        let path = route
            .path
            .replace("{ref}", "1")
            .replace("{id}", "wh_x")
            .replace("{uid}", "net_x")
            .replace("{name}", "x");
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let body = (route.method != "GET").then(|| json!({}));
        let reply = shard.call(method, &path, &key, body).await;
        reply.expect_error(
            403,
            &format!(
                "Missing scope: this endpoint requires {}",
                route.scope.unwrap().as_str()
            ),
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

#[tokio::test]
async fn calls_are_audited_with_the_key_and_readable_by_read_audit() {
    let shard = Shard::start().await;
    let key = shard.mint("read:status,read:audit,write:nets").await;
    shard.get("/api/v1/status", &key).await.ok();
    shard.net(&key, "Air Wing").await;
    let audit = shard.get("/api/v1/audit?limit=2", &key).await;
    let entries = audit.ok()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["path"], "/api/v1/nets");
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[1]["path"], "/api/v1/status");
    assert_eq!(entries[0]["keyName"], "ops bot");
    assert!(entries[0]["keyId"].as_str().is_some_and(|k| k.len() == 26));
    shard
        .get("/api/v1/audit?limit=0", &key)
        .await
        .expect_error(400, "limit must be a number from 1 to 500");
    // A parameter given twice is refused in the surface's shape, not axum's plain text.
    shard
        .get("/api/v1/audit?limit=1&limit=2", &key)
        .await
        .expect_error(
            400,
            "Failed to deserialize query string: duplicate field `limit`",
        );
}

#[tokio::test]
async fn a_route_called_with_a_method_it_does_not_answer_is_405_with_allow() {
    let shard = Shard::start().await;
    let key = shard.mint("read:status").await;
    let reply = shard
        .call(Method::DELETE, "/api/v1/status", &key, None)
        .await;
    reply.expect_error(
        405,
        "Route /api/v1/status does not answer DELETE; the Allow header lists the methods it does",
    );
    assert_eq!(reply.headers["allow"], "GET,HEAD");
}
