//! Lists: pagination, scoping and the audit log.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn pages_walk_newest_first_with_a_cursor() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let reply = app
            .post(
                &g("/strikes"),
                &token.secret,
                strike_body(&strike_sentinel()),
            )
            .await;
        ids.push(reply.body["strike"]["id"].as_str().unwrap().to_owned());
        app.clock.advance(60_000);
    }
    let first = app.get(&g("/strikes?limit=2"), &token.secret).await;
    let data = first.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], ids[2].as_str());
    assert_eq!(data[1]["id"], ids[1].as_str());
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &g(&format!("/strikes?limit=2&cursor={cursor}")),
            &token.secret,
        )
        .await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["data"][0]["id"], ids[0].as_str());
    assert_eq!(second.body["next_cursor"], json!(null));
}

#[tokio::test]
async fn servers_never_show_their_password() {
    let app = TestApp::start().await;
    let token = app.mint("servers.read").await;
    let server = app.server().await;
    let listed = app.get(&g("/servers"), &token.secret).await;
    assert_eq!(listed.body["data"][0]["id"], server.as_str());
    assert_eq!(listed.body["data"][0]["port"], 27015);
    assert!(!listed.body.to_string().contains("hunter2"));
}

#[tokio::test]
async fn the_audit_log_is_filterable_and_guild_scoped() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,audit.read,tickets.read").await;
    app.get(&g("/strikes"), &token.secret).await;
    app.get(&g("/bans"), &token.secret).await; // CAPABILITY_DENIED
    let all = app.get(&g("/audit"), &token.secret).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let rows = all.body["data"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["action"] == "list_strikes" && r["outcome"] == "success")
    );
    let denied = app
        .get(&g("/audit?outcome=CAPABILITY_DENIED"), &token.secret)
        .await;
    let denied = denied.body["data"].as_array().unwrap();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["action"], "list_bans");
    assert_eq!(denied[0]["token_name"], "CI deploy bot");
    assert_eq!(denied[0]["status"], 403);
    assert!(
        denied[0]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let bad = app
        .get(&g("/audit?actor_source=robot"), &token.secret)
        .await;
    bad.expect_error(400, "VALIDATION_FAILED");

    // Another guild's rows are not visible.
    let other = app
        .mint_with(OTHER_GUILD, OWNER, "audit.read", |_| {})
        .await;
    let theirs = app
        .get(
            &format!("/api/public/v1/guilds/{OTHER_GUILD}/audit"),
            &other.secret,
        )
        .await;
    assert!(
        theirs.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["guild_id"] == OTHER_GUILD)
    );
}

#[tokio::test]
async fn status_says_where_actions_go() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let status = app.get("/api/public/v1/status", &token.secret).await;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(
        status.body["upstream"],
        json!({ "discord": "record-only", "rcon": "record-only" })
    );
    assert!(status.header("x-ratelimit-limit").is_some());
}

#[tokio::test]
async fn a_head_is_checked_limited_and_audited_as_its_get() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let head = app
        .send(
            reqwest::Method::HEAD,
            &g("/strikes?limit=10"),
            Some(&token.secret),
            None,
            &[],
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.body, json!(null));
    assert!(head.header("x-ratelimit-limit").is_some());
    // Without a capability it is refused as the GET would be.
    let other = app.mint("tickets.read").await;
    let refused = app
        .send(
            reqwest::Method::HEAD,
            &g("/strikes"),
            Some(&other.secret),
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, 403);
    let rows = app.audit_rows().await;
    let actions: Vec<(&str, Option<&str>, Option<u16>)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.method.as_deref(), r.status))
        .collect();
    assert_eq!(
        actions,
        [
            ("list_strikes", Some("HEAD"), Some(403)),
            ("list_strikes", Some("HEAD"), Some(200)),
        ]
    );
}
