//! The device flow (RFC 8628) that pairs an MCP client, on a clock the test moves.

use guildgate_core::capability::CapabilitySet;
use guildgate_core::device::DeviceStatus;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}{path}", app.base))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn poll(app: &TestApp, device_code: &str) -> (u16, Value) {
    form(
        app,
        "/oauth/device/token",
        &[("grant_type", GRANT), ("device_code", device_code)],
    )
    .await
}

async fn approve(app: &TestApp, user_code: &str, caps: &str) {
    // What `guildgate admin device approve` records.
    let mut code = app
        .store
        .device_code_by_user_code(user_code)
        .await
        .unwrap()
        .unwrap();
    code.status = DeviceStatus::Approved;
    code.approved_by = Some(OWNER.into());
    code.capabilities = Some(CapabilitySet::parse_list("c", caps).unwrap());
    let mut tx = app.store.begin().await.unwrap();
    tx.update_device_code(&code, None).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn pairing_end_to_end_with_slow_down() {
    let app = TestApp::start().await;
    let (status, started) = form(
        &app,
        "/oauth/device/code",
        &[("guild_id", GUILD), ("client_name", "Claude Desktop")],
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 600);
    assert!(
        started["verification_uri_complete"]
            .as_str()
            .unwrap()
            .contains(user_code)
    );
    let device_code = started["device_code"].as_str().unwrap();

    let (status, body) = poll(&app, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&app, device_code).await;
    assert_eq!(body["error"], "slow_down", "polled again at once");
    app.clock.advance(10_000);
    let (_, body) = poll(&app, device_code).await;
    assert_eq!(
        body["error"], "authorization_pending",
        "waited the new 10 s interval"
    );

    approve(&app, user_code, "strikes.read").await;
    let (status, issued) = poll(&app, device_code).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["capabilities"], json!(["strikes.read"]));
    let token = issued["access_token"].as_str().unwrap();
    assert!(token.starts_with("arkpat_") && token.len() == 55);
    let (_, again) = poll(&app, device_code).await;
    assert_eq!(
        again["error"], "invalid_grant",
        "a token is handed over once"
    );

    // The paired token works, names itself, and its calls are audited as MCP.
    let me = app.get("/api/api-tokens/current", token).await;
    assert_eq!(me.body["id"], issued["token_id"]);
    assert_eq!(me.body["name"], "Claude Desktop");
    assert_eq!(me.body["source"], "mcp");
    assert_eq!(app.get(&g("/strikes"), token).await.status, 200);
    let rows = app.audit_rows().await;
    let read = rows.iter().find(|r| r.action == "list_strikes").unwrap();
    assert_eq!(read.actor_source, "mcp");
    assert_eq!(read.token_name.as_deref(), Some("Claude Desktop"));

    // Turning MCP off stops paired tokens with FEATURE_NOT_ENABLED; CLI tokens go on.
    let mut tx = app.store.begin().await.unwrap();
    tx.set_guild_mcp(GUILD, false).await.unwrap();
    tx.commit().await.unwrap();
    let off = app.get(&g("/strikes"), token).await;
    assert_eq!(
        off.expect_error(403, "FEATURE_NOT_ENABLED")["retryable"],
        false
    );
    let cli = app.mint("strikes.read").await;
    assert_eq!(app.get(&g("/strikes"), &cli.secret).await.status, 200);
    let (status, refused) = form(&app, "/oauth/device/code", &[("guild_id", GUILD)]).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("feature_not_enabled"))
    );
}

#[tokio::test]
async fn codes_expire_and_denials_stick() {
    let app = TestApp::start().await;
    let (_, first) = form(&app, "/oauth/device/code", &[("guild_id", GUILD)]).await;
    let (_, second) = form(&app, "/oauth/device/code", &[("guild_id", GUILD)]).await;
    let mut code = app
        .store
        .device_code_by_user_code(second["user_code"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    code.status = DeviceStatus::Denied;
    let mut tx = app.store.begin().await.unwrap();
    tx.update_device_code(&code, None).await.unwrap();
    tx.commit().await.unwrap();
    let code_of = |c: &Value| c["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        poll(&app, &code_of(&second)).await.1["error"],
        "access_denied"
    );
    app.clock.advance(600_000);
    assert_eq!(
        poll(&app, &code_of(&first)).await.1["error"],
        "expired_token"
    );
    let (status, unknown) = form(
        &app,
        "/oauth/device/token",
        &[("grant_type", GRANT), ("device_code", "nope")],
    )
    .await;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (_, wrong) = form(
        &app,
        "/oauth/device/token",
        &[("grant_type", "password"), ("device_code", "nope")],
    )
    .await;
    assert_eq!(wrong["error"], "unsupported_grant_type");
    // JSON bodies are accepted too.
    let json_start = app
        .send(
            Method::POST,
            "/oauth/device/code",
            None,
            Some(json!({ "guild_id": GUILD })),
            &[],
        )
        .await;
    assert_eq!(json_start.status, 200);
}

#[tokio::test]
async fn code_requests_are_limited_per_address() {
    let app = TestApp::start().await;
    for _ in 0..20 {
        assert_eq!(
            form(&app, "/oauth/device/code", &[("guild_id", GUILD)])
                .await
                .0,
            200
        );
    }
    let (status, body) = form(&app, "/oauth/device/code", &[("guild_id", GUILD)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    // Polling has its own budget.
    let (status, _) = form(
        &app,
        "/oauth/device/token",
        &[("grant_type", GRANT), ("device_code", "x")],
    )
    .await;
    assert_eq!(status, 400);
    app.clock.advance(30_000);
    assert_eq!(
        form(&app, "/oauth/device/code", &[("guild_id", GUILD)])
            .await
            .0,
        200
    );
}
