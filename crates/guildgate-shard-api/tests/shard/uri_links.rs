//! Join links: created with a token shown once, resolved within their expiry and use
//! limit, revocable.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn join_links_resolve_until_used_up_expired_or_revoked() {
    let shard = Shard::start().await;
    let key = shard.mint("read:uri,write:uri").await;
    let created = shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "join:guild", "name": "Recruits", "maxUses": 2, "expiresMinutes": 60 }),
        )
        .await;
    let body = created.ok();
    let id = body["link"]["id"].as_str().unwrap().to_owned();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["link"]["status"], "active");
    assert_eq!(body["link"]["usesLeft"], 2);
    assert_eq!(body["link"]["target"], GUILD);
    assert!(body["uri"].as_str().unwrap().contains(&id));

    let listed = shard.get("/api/v1/uri-links", &key).await;
    assert_eq!(listed.ok()["links"][0]["id"], id.as_str());
    assert!(
        !listed.body.to_string().contains(&token),
        "a list never shows a token"
    );

    shard
        .post(
            "/api/v1/uri-links/resolve",
            &key,
            json!({ "id": id, "token": "wrong" }),
        )
        .await
        .expect_error(404, "Link not found");
    for uses in 1..=2 {
        let resolved = shard
            .post(
                "/api/v1/uri-links/resolve",
                &key,
                json!({ "id": id, "token": token }),
            )
            .await;
        let body = resolved.ok();
        assert_eq!(body["action"], "join:guild");
        assert_eq!(body["guildName"], "Test Wing");
        assert_eq!(body["link"]["uses"], uses);
    }
    shard
        .post(
            "/api/v1/uri-links/resolve",
            &key,
            json!({ "id": id, "token": token }),
        )
        .await
        .expect_error(410, "This link has no uses left");

    let weekly = shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "select:guild" }),
        )
        .await;
    let (weekly_id, weekly_token) = (
        weekly.ok()["link"]["id"].as_str().unwrap().to_owned(),
        weekly.body["token"].as_str().unwrap().to_owned(),
    );
    let revoked = shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "join:org-link", "target": "https://example.org/join" }),
        )
        .await;
    let (revoked_id, revoked_token) = (
        revoked.ok()["link"]["id"].as_str().unwrap().to_owned(),
        revoked.body["token"].as_str().unwrap().to_owned(),
    );
    let reply = shard
        .post(
            "/api/v1/uri-links/revoke",
            &key,
            json!({ "id": revoked_id }),
        )
        .await;
    assert_eq!(reply.ok()["link"]["status"], "revoked");
    shard
        .post(
            "/api/v1/uri-links/resolve",
            &key,
            json!({ "id": revoked_id, "token": revoked_token }),
        )
        .await
        .expect_error(410, "This link has been revoked");
    // Without an expiry a link lasts a week.
    shard.clock.advance(8 * 86_400_000);
    shard
        .post(
            "/api/v1/uri-links/resolve",
            &key,
            json!({ "id": weekly_id, "token": weekly_token }),
        )
        .await
        .expect_error(410, "This link has expired");

    shard
        .post(
            "/api/v1/uri-links/revoke",
            &key,
            json!({ "id": "uri_nope" }),
        )
        .await
        .expect_error(404, "Link not found");
    shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "join:org-link" }),
        )
        .await
        .expect_error(400, "join:org-link needs a target (the org link)");
    shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "join:guild", "expiresDays": 1, "expiresMinutes": 5 }),
        )
        .await
        .expect_error(
            400,
            "Give one of expiresAt, expiresMinutes or expiresDays, not expiresMinutes and expiresDays",
        );
    shard
        .post("/api/v1/uri-links", &key, json!({ "action": "open:door" }))
        .await
        .expect_error(
            400,
            "action must be one of select:guild, join:guild, join:org-link",
        );
    let reader = shard.mint("read:uri").await;
    shard
        .post(
            "/api/v1/uri-links",
            &reader,
            json!({ "action": "join:guild" }),
        )
        .await
        .expect_error(403, "Missing scope: this endpoint requires write:uri");

    // Only the tokens' keyed hashes are stored.
    let docs = shard.store.shard_docs(GUILD, "uri-link").await.unwrap();
    assert_eq!(docs.len(), 3);
    for doc in docs {
        for secret in [&token, &weekly_token, &revoked_token] {
            assert!(!doc.body.contains(secret.as_str()));
        }
    }
}

#[tokio::test]
async fn concurrent_resolves_never_exceed_the_use_limit() {
    let shard = Shard::start().await;
    let key = shard.mint("read:uri,write:uri").await;
    let created = shard
        .post(
            "/api/v1/uri-links",
            &key,
            json!({ "action": "join:guild", "maxUses": 3 }),
        )
        .await;
    let id = created.ok()["link"]["id"].as_str().unwrap().to_owned();
    let token = created.body["token"].as_str().unwrap().to_owned();
    let attempts = (0..12).map(|_| {
        shard.post(
            "/api/v1/uri-links/resolve",
            &key,
            json!({ "id": id, "token": token }),
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let used = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 410).count();
    assert_eq!((used, refused), (3, 9));
    let listed = shard.get("/api/v1/uri-links", &key).await;
    assert_eq!(listed.ok()["links"][0]["uses"], 3);
}
