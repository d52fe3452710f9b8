//! The REST quickstart's six steps, as a curl user sees them.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_six_steps_answer_as_documented() {
    let app = TestApp::start().await;
    let token = app
        .mint_with(
            GUILD,
            OWNER,
            "strikes.read,strikes.write,tickets.read,tickets.write",
            |t| t.allow_self_reauth = true,
        )
        .await;
    assert_eq!(token.secret.len(), 55);

    // 2: a read answers the paginated envelope even when empty.
    let read = app.get(&g("/strikes?limit=10"), &token.secret).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, json!({ "data": [], "next_cursor": null }));
    assert!(
        read.header("x-ratelimit-limit").is_some()
            && read.header("x-ratelimit-remaining").is_some()
    );

    // 3: a reversible write skips the window.
    let ticket = app.ticket().await;
    let claim = app
        .post(
            &g(&format!("/tickets/{ticket}/claim")),
            &token.secret,
            json!({}),
        )
        .await;
    assert_eq!(claim.status, 200, "{}", claim.body);
    assert_eq!(claim.body["ticket"]["claimed_by"], OWNER);
    assert_eq!(
        claim.body["ticket"]["claimed_at"],
        "2026-05-12T20:00:00.000Z"
    );

    // 4: a destructive write without a window is refused with where to approve it.
    let refused = app
        .post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    let err = refused.expect_error(403, "RE_AUTH_REQUIRED");
    assert_eq!(err["retryable"], false);
    let url = err["details"]["reauth_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://guildgate.test/dashboard/{GUILD}/")),
        "{url}"
    );

    // 5: the token opens its own window (it was minted with that option).
    let path = format!("/api/api-tokens/{}/reauth-window", token.id);
    let opened = app.post(&path, &token.secret, json!({})).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.body["open"], true);
    assert_eq!(
        opened.body["window"]["expires_at"],
        "2026-05-12T20:15:00.000Z"
    );
    assert_eq!(
        opened.body["window"]["window_id"].as_str().unwrap().len(),
        26
    );
    assert_eq!(app.get(&path, &token.secret).await.body["open"], true);

    // 6: the same request now succeeds and the audit log names the token.
    let created = app
        .post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let strike = &created.body["strike"];
    assert_eq!(strike["user_id"], TARGET);
    assert_eq!(strike["severity"], "MINOR");
    assert_eq!(strike["issued_by"], OWNER);
    assert_eq!(strike["strike_id"], strike["id"]);
    assert_eq!(strike["issued_at"], "2026-05-12T20:00:00.000Z");

    let rows = app.audit_rows().await;
    let row = rows
        .iter()
        .find(|r| r.action == "add_strike" && r.outcome == "success")
        .expect("an audit row for the strike");
    assert_eq!(row.actor_source, "token");
    assert_eq!(row.token_name.as_deref(), Some("CI deploy bot"));
    assert_eq!(row.token_id.as_deref(), Some(token.id.as_str()));
    assert_eq!(row.status, Some(201));
    assert_eq!(row.target.as_deref(), Some(TARGET));
    assert!(
        rows.iter()
            .any(|r| r.action == "add_strike" && r.outcome == "RE_AUTH_REQUIRED")
    );
    assert!(
        rows.iter()
            .any(|r| r.action == "list_strikes" && r.outcome == "success"),
        "reads are audited too"
    );

    // The window closes on DELETE, and after that the guard fires again.
    let closed = app.delete(&path, &token.secret, json!({})).await;
    assert_eq!(closed.body, json!({ "open": false }));
    let again = app
        .post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    again.expect_error(403, "RE_AUTH_REQUIRED");
}

#[tokio::test]
async fn windows_last_fifteen_minutes_and_belong_to_one_token() {
    let app = TestApp::start().await;
    let first = app.mint("strikes.write").await;
    let second = app.mint("strikes.write").await;
    app.open_window(&first.id).await;
    let ok = app
        .post(
            &g("/strikes"),
            &first.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    assert_eq!(ok.status, 201);
    // The other token of the same user has no window.
    let other = app
        .post(
            &g("/strikes"),
            &second.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    other.expect_error(403, "RE_AUTH_REQUIRED");
    // A token cannot look at or open another token's window.
    let path = format!("/api/api-tokens/{}/reauth-window", first.id);
    app.get(&path, &second.secret)
        .await
        .expect_error(403, "FORBIDDEN");

    app.clock.advance(15 * 60 * 1000 - 1);
    assert_eq!(
        app.post(
            &g("/strikes"),
            &first.secret,
            strike_body(&strike_sentinel())
        )
        .await
        .status,
        201
    );
    app.clock.advance(1);
    let expired = app
        .post(
            &g("/strikes"),
            &first.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    expired.expect_error(403, "RE_AUTH_REQUIRED");
    assert_eq!(
        app.get(&path, &first.secret).await.body,
        json!({ "open": false })
    );
}

#[tokio::test]
async fn a_bearer_opens_its_window_only_when_minted_to() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.write").await;
    let path = format!("/api/api-tokens/{}/reauth-window", token.id);
    let refused = app.post(&path, &token.secret, json!({})).await;
    let err = refused.expect_error(403, "RE_AUTH_REQUIRED");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("guildgate admin reauth open")
    );
    assert!(err["details"]["reauth_url"].is_string());
    assert_eq!(
        app.get(&path, &token.secret).await.body,
        json!({ "open": false })
    );
}
