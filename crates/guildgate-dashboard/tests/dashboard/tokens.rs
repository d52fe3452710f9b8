//! Tokens from the owner's side: create (shown once), the re-auth window by cookie,
//! renew, rotate with a grace period, reminders and filters, pairings, the audit log.

use guildgate_core::clock::{DAY, HOUR, MINUTE};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn create_shows_the_secret_once_then_the_window_lets_a_destructive_call_through() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (id, secret) = browser
        .create_token(
            "mod-bot",
            &["strikes.read", "strikes.write"],
            &[("allowed_cidrs", "127.0.0.0/8")],
        )
        .await;
    assert!(
        guildgate_core::token::GUILD_TOKEN.parse(&secret).is_ok(),
        "{secret}"
    );
    let list = browser.settings("tab=tokens").await;
    assert!(
        !list.body.contains(&secret),
        "the secret is never shown again"
    );
    assert_eq!(list.data("token-name"), ["mod-bot"]);
    let token = dash.store.token(&id).await.unwrap().unwrap();
    assert_eq!(
        token.capabilities.names(),
        ["strikes.read", "strikes.write"]
    );
    assert_eq!(token.source, "dashboard");
    assert_eq!(token.expires_at, Some(dash.now() + 90 * DAY));
    assert_eq!(token.allowed_cidrs[0].to_string(), "127.0.0.0/8");

    // The script hits the guard, the owner approves (here: the script route with the
    // session cookie), the retry goes through.
    let refused = dash
        .api(Method::POST, &strikes_path(), &secret, Some(strike_body()))
        .await;
    assert_eq!(refused.status, 403);
    let reauth_url = refused.json()["error"]["details"]["reauth_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reauth_url.contains(&format!(
            "/dashboard/{GUILD}/settings/api-mcp?tab=reauth&token={id}"
        )),
        "{reauth_url}"
    );
    let window_path = format!("/api/api-tokens/{id}/reauth-window");
    let opened = browser.send(Method::POST, &window_path, None, None).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.json()["open"], true);
    assert_eq!(opened.json()["window"]["opened_by"], "dashboard");
    assert_eq!(
        opened.json()["window"]["expires_at"],
        "2026-05-12T20:15:00.000Z"
    );
    assert_eq!(
        browser
            .send(Method::GET, &window_path, None, None)
            .await
            .json()["open"],
        true
    );
    // The Bearer still reaches the guild API's own window route, not the session one.
    let own = dash.api(Method::GET, &window_path, &secret, None).await;
    assert_eq!(own.json()["open"], true);
    let created = dash
        .api(Method::POST, &strikes_path(), &secret, Some(strike_body()))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    // The Re-auth tab shows the open window with its countdown.
    let tab = browser.settings(&format!("tab=reauth&token={id}")).await;
    assert!(tab.body.contains("15:00 left"), "{}", tab.body);
    assert_eq!(
        tab.data("expires-at"),
        [(dash.now() + 15 * MINUTE).to_string()]
    );
    assert!(tab.body.contains("class=\"highlight\""));
    let closed = browser.send(Method::DELETE, &window_path, None, None).await;
    assert_eq!(closed.json()["open"], false);
    let again = dash
        .api(Method::POST, &strikes_path(), &secret, Some(strike_body()))
        .await;
    assert_eq!(again.status, 403);

    // Approve from the page, as a person would.
    let csrf = tab.csrf();
    let approved = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{id}/reauth-window"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        approved.location(),
        format!("/dashboard/{GUILD}/settings/api-mcp?tab=reauth&notice=window-open")
    );
    assert!(
        browser
            .get(approved.location())
            .await
            .body
            .contains("Re-auth window open for 15 minutes.")
    );
    dash.clock.advance(15 * MINUTE);
    assert_eq!(
        dash.api(Method::POST, &strikes_path(), &secret, Some(strike_body()))
            .await
            .status,
        403
    );

    // The audit log shows both sides, filterable by token and outcome.
    let audit = browser.settings(&format!("tab=audit&token={id}")).await;
    let actions = audit.data("action");
    for expected in ["token.mint", "reauth.open", "reauth.close", "add_strike"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    assert!(audit.body.contains("POST /api/public/v1/guilds/"));
    assert!(audit.body.contains("req_"));
    let refusals = browser
        .settings(&format!("tab=audit&token={id}&outcome=RE_AUTH_REQUIRED"))
        .await;
    assert_eq!(refusals.data("outcome"), ["RE_AUTH_REQUIRED"; 3]);
    let future = browser.settings("tab=audit&since=2026-05-13").await;
    assert!(future.data("outcome").is_empty());
    let bad = browser.settings("tab=audit&since=yesterday").await;
    assert!(bad.body.contains("since must be a date"));
}

#[tokio::test]
async fn a_token_without_the_capability_or_with_a_bad_form_is_refused_on_the_page() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let csrf = browser.settings("tab=tokens").await.csrf();
    let path = format!("/dashboard/{GUILD}/tokens");
    for (fields, message) in [
        (
            vec![
                ("name", ""),
                ("capabilities", "strikes.read"),
                ("expiry", "90"),
            ],
            "name must be 1 to 100 characters",
        ),
        (
            vec![("name", "x"), ("expiry", "90")],
            "pick at least one capability",
        ),
        (
            vec![
                ("name", "x"),
                ("capabilities", "strikes.read"),
                ("expiry", "45"),
            ],
            "expiry must be one of",
        ),
        (
            vec![
                ("name", "x"),
                ("capabilities", "strikes.read"),
                ("expiry", "90"),
                ("allowed_cidrs", "10.0.0.0/33"),
            ],
            "is not a CIDR",
        ),
        (
            vec![
                ("name", "x"),
                ("capabilities", "root.everything"),
                ("expiry", "90"),
            ],
            "root.everything",
        ),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let page = browser.post(&path, &all).await;
        assert!((400..500).contains(&page.status), "{}", page.status);
        assert!(page.body.contains(message), "{message}: {}", page.body);
        assert!(page.body.contains("role=\"alert\""));
    }
    assert_eq!(dash.token_count().await, 0);
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_grace_period_then_revokes_it() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (old_id, old_secret) = browser.create_token("deploy", &["strikes.read"], &[]).await;
    let reads = format!("/api/public/v1/guilds/{GUILD}/strikes?limit=1");
    let csrf = browser.settings("tab=tokens").await.csrf();
    let rotated = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{old_id}/rotate"),
            &[("csrf", &csrf), ("grace", "1h"), ("expiry", "30")],
        )
        .await;
    assert_eq!(rotated.status, 200);
    let new_secret = rotated.secret();
    assert_ne!(new_secret, old_secret);
    let tokens = dash.store.tokens_of_guild(GUILD).await.unwrap();
    let successor = tokens.iter().find(|t| t.id != old_id).unwrap();
    assert_eq!(successor.name, "deploy");
    assert_eq!(successor.expires_at, Some(dash.now() + 30 * DAY));
    let old = tokens.iter().find(|t| t.id == old_id).unwrap();
    assert_eq!(old.replaced_by.as_deref(), Some(successor.id.as_str()));
    assert_eq!(old.expires_at, Some(dash.now() + HOUR));
    assert!(
        browser
            .settings("tab=tokens")
            .await
            .body
            .contains("rotating")
    );

    assert_eq!(
        dash.api(Method::GET, &reads, &old_secret, None)
            .await
            .status,
        200
    );
    assert_eq!(
        dash.api(Method::GET, &reads, &new_secret, None)
            .await
            .status,
        200
    );
    dash.clock.advance(HOUR);
    let late = dash.api(Method::GET, &reads, &old_secret, None).await;
    assert_eq!(late.status, 401);
    assert_eq!(late.json()["error"]["code"], "TOKEN_EXPIRED");
    assert_eq!(
        guildgate_owner::sweep_rotated_tokens(dash.store.as_ref(), dash.now())
            .await
            .unwrap(),
        1
    );
    let old = dash.store.token(&old_id).await.unwrap().unwrap();
    assert_eq!(
        old.revoked_reason.as_deref(),
        Some("replaced by rotation; grace period over")
    );
    assert_eq!(
        dash.api(Method::GET, &reads, &new_secret, None)
            .await
            .status,
        200
    );

    // No grace: the old secret stops at once. A rotated token cannot be rotated again.
    let csrf = browser.settings("tab=tokens").await.csrf();
    let now_path = format!("/dashboard/{GUILD}/tokens/{}/rotate", successor.id);
    let rotated = browser
        .post(
            &now_path,
            &[("csrf", &csrf), ("grace", "0"), ("expiry", "90")],
        )
        .await;
    assert_eq!(rotated.status, 200);
    let refused = dash.api(Method::GET, &reads, &new_secret, None).await;
    assert_eq!(refused.json()["error"]["code"], "TOKEN_REVOKED");
    let twice = browser
        .post(
            &now_path,
            &[("csrf", &csrf), ("grace", "0"), ("expiry", "90")],
        )
        .await;
    assert_eq!(twice.status, 400);
    assert!(twice.body.contains("is revoked"), "{}", twice.body);
}

#[tokio::test]
async fn renewal_reminders_and_the_unused_filter() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (used_id, used_secret) = browser.create_token("used", &["strikes.read"], &[]).await;
    let (idle_id, _) = browser.create_token("idle", &["strikes.read"], &[]).await;
    dash.clock.advance(31 * DAY);
    let mut browser = dash.signed_in().await;
    let reads = format!("/api/public/v1/guilds/{GUILD}/strikes?limit=1");
    assert_eq!(
        dash.api(Method::GET, &reads, &used_secret, None)
            .await
            .status,
        200
    );
    // Last use is recorded in batches; wait for it.
    for _ in 0..100 {
        if dash
            .store
            .token(&used_id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
            .is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let list = browser.settings("tab=tokens").await;
    assert!(
        list.body.contains("from 127.0.0.1"),
        "last-used IP shown: {}",
        list.body
    );
    let unused = browser.settings("tab=tokens&filter=unused").await;
    assert_eq!(unused.data("token-id"), std::slice::from_ref(&idle_id));

    // Renewed on day 31 for good; the idle one keeps its 90-day expiry.
    let csrf = list.csrf();
    let renewed = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{used_id}/renew"),
            &[("csrf", &csrf), ("expiry", "never")],
        )
        .await;
    assert_eq!(renewed.status, 303);
    let token = dash.store.token(&used_id).await.unwrap().unwrap();
    assert_eq!(token.expires_at, None);
    dash.clock.advance(60 * DAY);
    let mut browser = dash.signed_in().await;
    let reminded = browser.settings("tab=tokens").await;
    assert_eq!(
        reminded
            .body
            .matches("90+ days old: consider rotating")
            .count(),
        1,
        "used is 91 days old; idle expired at 90 days and needs no reminder"
    );
    dash.clock.advance(90 * DAY);
    let mut browser = dash.signed_in().await;
    let urged = browser.settings("tab=tokens").await;
    assert!(urged.body.contains("180+ days old: rotate now"));
    assert_eq!(
        dash.api(Method::GET, &reads, &used_secret, None)
            .await
            .status,
        200,
        "same secret after renewal"
    );
    // An expired token cannot be renewed back to life.
    let csrf = urged.csrf();
    let refused = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{idle_id}/renew"),
            &[("csrf", &csrf), ("expiry", "30")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("is expired"));
}

#[tokio::test]
async fn revoke_asks_first_then_the_token_stops_at_once() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (id, secret) = browser
        .create_token("short-lived", &["strikes.read"], &[])
        .await;
    let confirm = browser
        .get(&format!("/dashboard/{GUILD}/tokens/{id}/revoke"))
        .await;
    assert!(confirm.body.contains("Revoke short-lived?"));
    let csrf = confirm.csrf();
    let done = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(done.status, 303);
    let reads = format!("/api/public/v1/guilds/{GUILD}/strikes");
    let refused = dash.api(Method::GET, &reads, &secret, None).await;
    assert_eq!(refused.json()["error"]["code"], "TOKEN_REVOKED");
    let list = browser.settings("tab=tokens&notice=revoked").await;
    assert!(list.body.contains("Token revoked."));
    assert!(list.body.contains("badge revoked"));
}

#[tokio::test]
async fn a_pairing_approved_in_the_dashboard_hands_the_client_its_token() {
    let dash = Dash::start().await;
    let http = reqwest::Client::new();
    let started: serde_json::Value = http
        .post(format!("{}/oauth/device/code", dash.base))
        .form(&[("guild_id", GUILD), ("client_name", "Claude Desktop")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let mut browser = dash.signed_in().await;
    let tab = browser
        .settings(&format!("tab=mcp&user_code={user_code}"))
        .await;
    assert!(tab.body.contains(&user_code) && tab.body.contains("Claude Desktop"));
    assert_eq!(tab.data("user-code"), std::slice::from_ref(&user_code));
    let approved = browser
        .post(
            &format!("/dashboard/{GUILD}/pairings/{user_code}/approve"),
            &[
                ("csrf", &tab.csrf()),
                ("capabilities", "strikes.read"),
                ("capabilities", "tickets.read"),
            ],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let token: serde_json::Value = http
        .post(format!("{}/oauth/device/token", dash.base))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", &device_code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = token["access_token"].as_str().expect("token handed over");
    let info = dash
        .api(Method::GET, "/api/api-tokens/current", secret, None)
        .await;
    assert_eq!(
        info.json()["capabilities"],
        json!(["strikes.read", "tickets.read"])
    );
    assert_eq!(info.json()["source"], "mcp");
    let after = browser.settings("tab=mcp").await;
    assert!(after.body.contains("No pending pairing requests."));
    assert!(
        after.body.contains("Claude Desktop"),
        "the MCP token is listed"
    );
}
