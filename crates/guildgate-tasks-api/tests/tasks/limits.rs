//! 600 requests a minute per key, across all endpoints, with the documented 429.

use guildgate_core::limits::Rate;

use crate::common::*;

#[tokio::test]
async fn the_429_has_the_documented_body_and_headers() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let first = app.get("/me", &key).await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("600"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("599"));
    assert!(first.header("x-ratelimit-reset").is_some());
    for i in 1..600 {
        let path = if i % 2 == 0 { "/me" } else { "/workspaces" };
        assert_eq!(app.get(path, &key).await.status, 200, "call {i}");
    }
    let limited = app
        .get(&format!("/workspaces/{}", app.workspace), &key)
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        serde_json::json!({ "statusCode": 429, "error": "Too Many Requests", "retryAfter": 1 })
    );
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    // Another key has its own budget.
    assert_eq!(
        app.get("/me", &app.mint("users:read").await).await.status,
        200
    );
    app.clock.advance(1_000);
    assert_eq!(app.get("/me", &key).await.status, 200);
}

#[tokio::test]
async fn retry_after_counts_the_wait() {
    let app = TestApp::start_with_rate(Rate::new(2, 1, 47)).await;
    let key = app.mint("users:read").await;
    app.get("/me", &key).await;
    app.get("/me", &key).await;
    let limited = app.get("/me", &key).await;
    assert_eq!(limited.body["retryAfter"], 47);
    assert_eq!(limited.header("retry-after"), Some("47"));
}
