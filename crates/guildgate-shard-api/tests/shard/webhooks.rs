//! Webhooks: registration, Standard Webhooks signatures checked by the spec's published
//! verifier, retries, auto-disable, and the private-network rule.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use guildgate_shard_api::{ShardSettings, WebhookSettings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ALL_SCOPES, Shard, eventually};

type Captured = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on loopback that records every delivery and answers `status`.
async fn receiver(status: StatusCode) -> (String, Captured) {
    let captured: Captured = Arc::default();
    let sink = captured.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, captured)
}

fn loopback_allowed(retry_delays_ms: Vec<i64>, disable_after: i64) -> ShardSettings {
    ShardSettings {
        webhooks: WebhookSettings {
            allow_private_targets: true,
            retry_delays_ms,
            disable_after,
            timeout_ms: 2_000,
        },
        sweep_every_ms: 50,
        ..ShardSettings::default()
    }
}

/// Runs the Standard Webhooks Python verifier over the deliveries.
fn verify_with_reference(secret: &str, deliveries: &[(HeaderMap, Bytes)]) -> Vec<String> {
    run_reference_verifier(secret, false, deliveries)
}

/// `raw`: the secret is the key's own bytes (an owner-chosen secret not in whsec_ form).
fn run_reference_verifier(
    secret: &str,
    raw: bool,
    deliveries: &[(HeaderMap, Bytes)],
) -> Vec<String> {
    let input = json!({
        "secret": secret,
        "raw": raw,
        "deliveries": deliveries.iter().map(|(headers, body)| json!({
            "headers": {
                "webhook-id": headers["webhook-id"].to_str().unwrap(),
                "webhook-timestamp": headers["webhook-timestamp"].to_str().unwrap(),
                "webhook-signature": headers["webhook-signature"].to_str().unwrap(),
            },
            "body": String::from_utf8(body.to_vec()).unwrap(),
        })).collect::<Vec<_>>(),
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_webhooks.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the verifier failed (scripts/test.sh installs the standardwebhooks package): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn deliveries_verify_with_the_standard_webhooks_reference_verifier() {
    let shard = Shard::start_with(loopback_allowed(vec![50], 5)).await;
    let key = shard.mint(ALL_SCOPES).await;
    let (url, captured) = receiver(StatusCode::NO_CONTENT).await;
    let created = shard
        .post(
            "/api/v1/webhooks",
            &key,
            json!({ "url": url, "events": ["operation.opened", "assignments.changed"] }),
        )
        .await;
    let body = created.ok().clone();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(body["webhook"]["url"], url.as_str());
    let listed = shard.get("/api/v1/webhooks", &key).await;
    assert!(
        !listed.ok().to_string().contains(&secret),
        "the secret is shown once"
    );
    assert!(
        listed.body["events"]
            .as_array()
            .unwrap()
            .contains(&json!("ready-check.completed"))
    );

    shard.net(&key, "Not subscribed").await;
    shard
        .post("/api/v1/operation", &key, json!({ "open": true }))
        .await
        .ok();
    shard
        .post(
            "/api/v1/assignments",
            &key,
            json!({ "userId": "9", "netId": 1 }),
        )
        .await
        .ok();
    eventually("two deliveries", || async {
        captured.lock().unwrap().len() >= 2
    })
    .await;
    let mut deliveries = captured.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 2, "only subscribed event types are sent");
    let body: Value = serde_json::from_slice(&deliveries[0].1).unwrap();
    assert_eq!(body["type"], "operation.opened");
    assert!(
        deliveries[0].0["webhook-id"]
            .to_str()
            .unwrap()
            .starts_with("msg_")
    );
    // A tampered copy must be refused by the same verifier.
    let mut tampered = deliveries[1].clone();
    tampered.1 = Bytes::from(
        String::from_utf8(tampered.1.to_vec())
            .unwrap()
            .replace("\"9\"", "\"10\""),
    );
    deliveries.push(tampered);
    assert_eq!(
        verify_with_reference(&secret, &deliveries),
        [
            "ok operation.opened",
            "ok assignments.changed",
            "refused WebhookVerificationError"
        ]
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_disabled_and_the_list_says_so() {
    let shard = Shard::start_with(loopback_allowed(vec![20, 20, 20, 20], 3)).await;
    let key = shard.mint(ALL_SCOPES).await;
    let (url, captured) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    shard
        .post(
            "/api/v1/webhooks",
            &key,
            json!({ "url": url, "events": ["*"] }),
        )
        .await
        .ok();
    shard.net(&key, "Alpha").await;
    // Retries are due on the shard's clock, which this test moves.
    eventually("the webhook to be disabled", || async {
        shard.clock.advance(25);
        let list = shard.get("/api/v1/webhooks", &key).await;
        list.body["webhooks"][0]["enabled"] == json!(false)
    })
    .await;
    let list = shard.get("/api/v1/webhooks", &key).await;
    let hook = &list.body["webhooks"][0];
    assert_eq!(hook["consecutiveFailures"], 3);
    assert_eq!(
        hook["lastError"],
        "the receiver answered 500 Internal Server Error"
    );
    let attempts = captured.lock().unwrap().clone();
    assert_eq!(attempts.len(), 3);
    // Every retry carries the same webhook-id, so a receiver can de-duplicate.
    assert!(
        attempts
            .iter()
            .all(|(h, _)| h["webhook-id"] == attempts[0].0["webhook-id"])
    );
    // Disabled: later events are not sent.
    shard.net(&key, "Bravo").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(captured.lock().unwrap().len(), 3);
    let id = hook["id"].as_str().unwrap();
    let deleted = shard
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            None,
        )
        .await;
    assert_eq!(deleted.ok()["deleted"], true);
    shard
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            None,
        )
        .await
        .expect_error(404, "Webhook not found");
}

#[tokio::test]
async fn targets_must_be_public_http_urls_unless_the_operator_allows_private_ones() {
    let shard = Shard::start().await;
    let key = shard.mint(ALL_SCOPES).await;
    let refuse = |url: &'static str, message: &'static str| {
        let shard = &shard;
        let key = &key;
        async move {
            shard
                .post(
                    "/api/v1/webhooks",
                    key,
                    json!({ "url": url, "events": ["user.joined"] }),
                )
                .await
                .expect_error(400, message);
        }
    };
    refuse(
        "ftp://example.com/hook",
        "A webhook URL must start with http:// or https://",
    )
    .await;
    refuse(
        "http://127.0.0.1:9/hook",
        "Webhook target 127.0.0.1 is a private or loopback address; the server's operator can allow those with webhook_allow_private_targets",
    )
    .await;
    refuse(
        "http://10.1.2.3/hook",
        "Webhook target 10.1.2.3 is a private or loopback address; the server's operator can allow those with webhook_allow_private_targets",
    )
    .await;
    // Cloud metadata services, and the same addresses written the ways URL parsers accept.
    for (url, host) in [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("http://2852039166/latest/meta-data/", "169.254.169.254"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("http://0x7f.1/admin", "127.0.0.1"),
        (
            "http://[::ffff:127.0.0.1]:8080/api/public/v1",
            "::ffff:7f00:1",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "metadata.google.internal",
        ),
    ] {
        shard
            .post(
                "/api/v1/webhooks",
                &key,
                json!({ "url": url, "events": ["user.joined"] }),
            )
            .await
            .expect_error(
                400,
                &format!("Webhook target {host} is a private or loopback address; the server's operator can allow those with webhook_allow_private_targets"),
            );
    }
    shard
        .post(
            "/api/v1/webhooks",
            &key,
            json!({ "url": "https://example.com/hook", "events": ["user.exploded"] }),
        )
        .await
        .expect_error(
            400,
            "Unknown event type 'user.exploded'. Known: user.joined, user.left, ptt.start, ptt.stop, operation.opened, operation.closed, assignments.changed, config.changed, client.disconnected, acars.sent, ready-check.configured, ready-check.removed, ready-check.started, ready-check.response, ready-check.completed",
        );
    shard
        .post(
            "/api/v1/webhooks",
            &key,
            json!({ "url": "https://example.com/hook", "events": ["user.joined"], "secret": "hunter2" }),
        )
        .await
        .expect_error(
            400,
            "A webhook secret must be whsec_<base64> (Standard Webhooks) or 8 to 256 characters without spaces",
        );
}

#[tokio::test]
async fn a_secret_of_the_owners_own_signs_with_its_bytes() {
    let shard = Shard::start_with(loopback_allowed(vec![50], 5)).await;
    let key = shard.mint(ALL_SCOPES).await;
    let (url, captured) = receiver(StatusCode::NO_CONTENT).await;
    let secret = "my-receiver-secret-2026";
    let created = shard
        .post(
            "/api/v1/webhooks",
            &key,
            json!({ "url": url, "events": ["operation.opened"], "secret": secret }),
        )
        .await;
    assert_eq!(created.ok()["secret"], secret);
    shard
        .post("/api/v1/operation", &key, json!({ "open": true }))
        .await
        .ok();
    eventually("one delivery", || async {
        !captured.lock().unwrap().is_empty()
    })
    .await;
    let deliveries = captured.lock().unwrap().clone();
    assert_eq!(
        run_reference_verifier(secret, true, &deliveries),
        ["ok operation.opened"]
    );
    assert_eq!(
        run_reference_verifier("someone-elses-secret", true, &deliveries),
        ["refused WebhookVerificationError"]
    );
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let a = Shard::start_with(loopback_allowed(vec![200], 10)).await;
    let b = a.twin(loopback_allowed(vec![200], 10)).await;
    let key = a.mint(ALL_SCOPES).await;
    let (url, captured) = receiver(StatusCode::OK).await;
    a.post(
        "/api/v1/webhooks",
        &key,
        json!({ "url": url, "events": ["config.changed"] }),
    )
    .await
    .ok();
    // Writes land on both instances; both run a delivery worker on the shared queue.
    for i in 0..6 {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance.net(&key, &format!("Net {i}")).await;
    }
    eventually("six deliveries", || async {
        captured.lock().unwrap().len() >= 6
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let deliveries = captured.lock().unwrap().clone();
    let mut ids: Vec<String> = deliveries
        .iter()
        .map(|(headers, _)| headers["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((deliveries.len(), ids.len()), (6, 6), "each event once");
}
