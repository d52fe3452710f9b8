//! Rate limits as the rate-limits doc states them, on a clock the test moves.

use guildgate_core::limits::{LimitsConfig, Rate};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn destructive_tier_allows_six_then_one_a_minute() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    for _ in 0..6 {
        assert_eq!(
            app.post(
                &g("/strikes"),
                &token.secret,
                strike_body(&strike_sentinel())
            )
            .await
            .status,
            201
        );
    }
    let limited = app
        .post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    let err = limited.expect_error(429, "RATE_LIMITED");
    assert_eq!(err["retryable"], true);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(err["message"], "Rate limit exceeded. Retry in 60s.");
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("x-ratelimit-limit"), Some("6"));
    // Reads have their own bucket.
    assert_eq!(app.get(&g("/strikes"), &token.secret).await.status, 200);
    app.clock.advance(60_000);
    assert_eq!(
        app.post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel())
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn every_public_response_carries_the_headers() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let read = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(read.header("x-ratelimit-limit"), Some("120"));
    assert_eq!(read.header("x-ratelimit-remaining"), Some("119"));
    let policy = read.header("ratelimit-policy").unwrap();
    assert!(
        policy.contains("\"ip\";q=600;w=300") && policy.contains("\"token-read\";q=120;w=120"),
        "{policy}"
    );
    assert!(
        read.header("ratelimit")
            .unwrap()
            .contains("\"token-read\";r=119")
    );
    // Even a refused call is counted against, and reports, the per-IP budget.
    let refused = app.get(&g("/strikes"), "arkpat_nope").await;
    refused.expect_error(401, "UNAUTHORIZED");
    assert_eq!(refused.header("x-ratelimit-limit"), Some("600"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("598"));
}

#[tokio::test]
async fn the_per_ip_limit_catches_rapid_fire_and_refills() {
    let limits = LimitsConfig {
        per_ip: Rate::new(5, 5, 300),
        ..LimitsConfig::default()
    };
    let app = TestApp::start_with(Options {
        limits,
        ..Options::default()
    })
    .await;
    let token = app.mint("strikes.read").await;
    for _ in 0..3 {
        app.get(&g("/strikes"), "arkpat_leaked-and-guessing")
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    for _ in 0..2 {
        assert_eq!(app.get(&g("/strikes"), &token.secret).await.status, 200);
    }
    let limited = app.get(&g("/strikes"), &token.secret).await;
    limited.expect_error(429, "RATE_LIMITED");
    assert_eq!(limited.header("retry-after"), Some("60"));
    app.clock.advance(60_000);
    assert_eq!(app.get(&g("/strikes"), &token.secret).await.status, 200);
}

#[tokio::test]
async fn a_users_tokens_share_one_aggregate_budget() {
    let limits = LimitsConfig {
        aggregate_reversible: Rate::new(3, 1, 60),
        ..LimitsConfig::default()
    };
    let app = TestApp::start_with(Options {
        limits,
        ..Options::default()
    })
    .await;
    let a = app.mint("tickets.read,tickets.write").await;
    let b = app.mint("tickets.read,tickets.write").await;
    let ticket = app.ticket().await;
    let claim = g(&format!("/tickets/{ticket}/claim"));
    assert_eq!(app.post(&claim, &a.secret, json!({})).await.status, 200);
    assert_eq!(app.post(&claim, &b.secret, json!({})).await.status, 200);
    assert_eq!(app.post(&claim, &a.secret, json!({})).await.status, 200);
    let limited = app.post(&claim, &b.secret, json!({})).await;
    limited.expect_error(429, "RATE_LIMITED");
    assert!(
        limited
            .header("ratelimit")
            .unwrap()
            .contains("\"user-reversible\";r=0")
    );
}

#[tokio::test]
async fn a_refused_call_consumes_no_bucket() {
    let limits = LimitsConfig {
        destructive: Rate::new(1, 1, 60),
        ..LimitsConfig::default()
    };
    let app = TestApp::start_with(Options {
        limits,
        ..Options::default()
    })
    .await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    assert_eq!(
        app.post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel())
        )
        .await
        .status,
        201
    );
    let before = app.get(&g("/strikes"), &token.secret).await;
    let ip_before: u32 = ip_remaining(&before);
    app.post(
        &g("/strikes"),
        &token.secret,
        strike_body(&strike_sentinel()),
    )
    .await
    .expect_error(429, "RATE_LIMITED");
    let after = app.get(&g("/strikes"), &token.secret).await;
    // Only the two reads drew from the per-IP bucket, not the refused write.
    assert_eq!(ip_remaining(&after), ip_before - 1);
}

fn ip_remaining(reply: &Reply) -> u32 {
    let header = reply.header("ratelimit").unwrap();
    let part = header
        .split(", ")
        .find(|p| p.starts_with("\"ip\""))
        .unwrap();
    part.split(';')
        .find_map(|kv| kv.strip_prefix("r="))
        .unwrap()
        .parse()
        .unwrap()
}
