//! Public tokens and the embed endpoints: no key, nothing private, tampering and expiry
//! refused.

use guildgate_core::clock::DAY;
use serde_json::{Value, json};

use crate::common::{ALL_SCOPES, Shard};

async fn public_get(
    shard: &Shard,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = shard
        .http
        .get(format!("{}{path_and_query}", shard.base))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_public_token_opens_status_and_widget_without_private_data() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let (_, uid) = shard.net(&key, "Command Net").await;
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "424242424242", "netUid": uid }),
        )
        .await
        .ok();
    shard
        .post("/api/v1/operation", &key, json!({ "open": true }))
        .await
        .ok();
    let issued = shard.get("/api/v1/public-token", &key).await;
    let token = issued.ok()["token"].as_str().unwrap().to_owned();
    assert!(
        issued.body["statusUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/embed/status?token={token}"))
    );

    let (status, headers, text) =
        public_get(&shard, &format!("/api/v1/embed/status?token={token}")).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["guildName"], "Test Wing");
    assert_eq!(body["operationOpen"], true);
    assert_eq!(body["nets"][0]["name"], "Command Net");
    assert!(
        !text.contains("424242424242"),
        "no user ids in public status"
    );
    assert!(!text.contains(&uid), "no net uids in public status");

    let (status, headers, html) =
        public_get(&shard, &format!("/api/v1/embed/widget?token={token}")).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(html.contains("<h1>Test Wing</h1>"), "{html}");
    assert!(html.contains("Command Net"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
}

#[tokio::test]
async fn tampered_missing_and_expired_tokens_are_refused() {
    let shard = Shard::start().await;
    let key = shard.mint("read:status").await;
    let issued = shard.get("/api/v1/public-token?days=1", &key).await;
    let token = issued.ok()["token"].as_str().unwrap().to_owned();
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (status, _, text) =
        public_get(&shard, &format!("/api/v1/embed/status?token={forged}")).await;
    assert_eq!(
        (status, text.as_str()),
        (401, r#"{"error":"Invalid public token"}"#)
    );
    let (status, _, _) = public_get(&shard, "/api/v1/embed/widget").await;
    assert_eq!(status, 401);
    shard.clock.advance(DAY + 1);
    let (status, _, text) =
        public_get(&shard, &format!("/api/v1/embed/status?token={token}")).await;
    assert_eq!(
        (status, text.as_str()),
        (
            401,
            r#"{"error":"Public token has expired; create a new one"}"#
        )
    );
    shard
        .get("/api/v1/public-token?days=400", &key)
        .await
        .expect_error(400, "days must be a number from 1 to 365");
}
