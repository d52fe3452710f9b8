//! A client that retries after a timeout must not strike twice.

use serde_json::json;

use crate::common::*;

async fn strike_with_key(app: &TestApp, token: &Minted, key: &str, reason: &str) -> Reply {
    let mut body = strike_body(&strike_sentinel());
    body["reason"] = json!(reason);
    app.send(
        reqwest::Method::POST,
        &g("/strikes"),
        Some(&token.secret),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_first_answer_and_acts_once() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    let first = strike_with_key(&app, &token, "retry-0001", "spam").await;
    assert_eq!(first.status, 201);
    let retry = strike_with_key(&app, &token, "retry-0001", "spam").await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let listed = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "one strike, not two"
    );
    // The audit log records one strike: the retry's row says it was a replay.
    let mut outcomes: Vec<String> = Vec::new();
    for _ in 0..50 {
        outcomes = app
            .audit_rows()
            .await
            .into_iter()
            .filter(|row| row.action == "add_strike")
            .map(|row| row.outcome)
            .collect();
        if outcomes.len() == 2 {
            break;
        }
    }
    outcomes.sort();
    assert_eq!(outcomes, ["replayed", "success"]);

    let reused = strike_with_key(&app, &token, "retry-0001", "different reason").await;
    reused.expect_error(422, "IDEMPOTENCY_KEY_REUSED");

    // A new key is a new strike.
    assert_eq!(
        strike_with_key(&app, &token, "retry-0002", "spam")
            .await
            .status,
        201
    );
    let listed = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_attempt_keeps_no_answer_so_the_retry_runs() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    // Without a window the attempt is refused before anything is held.
    strike_with_key(&app, &token, "k-1", "spam")
        .await
        .expect_error(403, "RE_AUTH_REQUIRED");
    app.open_window(&token.id).await;
    assert_eq!(
        strike_with_key(&app, &token, "k-1", "spam").await.status,
        201
    );
}

#[tokio::test]
async fn keys_are_bounded() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    let long = "k".repeat(256);
    let reply = strike_with_key(&app, &token, &long, "spam").await;
    assert_eq!(
        reply.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "Idempotency-Key"
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_key_act_once() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    let (a, b, c) = tokio::join!(
        strike_with_key(&app, &token, "race", "spam"),
        strike_with_key(&app, &token, "race", "spam"),
        strike_with_key(&app, &token, "race", "spam"),
    );
    for reply in [&a, &b, &c] {
        assert!(
            reply.status == 201 || reply.code() == "IDEMPOTENCY_KEY_IN_USE",
            "{} {}",
            reply.status,
            reply.body
        );
    }
    let listed = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}
