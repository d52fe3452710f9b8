//! CSRF, cross-site requests, framing, caching, and guild isolation.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_form_without_this_sessions_csrf_token_changes_nothing() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let mut other = dash.signed_in().await;
    let foreign_csrf = other.settings("tab=tokens").await.csrf();
    let create = format!("/dashboard/{GUILD}/tokens");
    for csrf in ["", "forged", foreign_csrf.as_str()] {
        let refused = browser
            .post(
                &create,
                &[
                    ("csrf", csrf),
                    ("name", "x"),
                    ("capabilities", "strikes.read"),
                    ("expiry", "90"),
                ],
            )
            .await;
        assert_eq!(refused.status, 403, "csrf {csrf:?}");
        assert!(refused.body.contains("Reload the page and try again"));
    }
    let missing = browser
        .post(&create, &[("name", "x"), ("capabilities", "strikes.read")])
        .await;
    assert_eq!(missing.status, 403);
    assert_eq!(dash.token_count().await, 0);
}

#[tokio::test]
async fn cross_site_browser_requests_are_refused_even_with_a_valid_token() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (token_id, _) = browser.create_token("bot", &["strikes.read"], &[]).await;
    let csrf = browser.settings("tab=tokens").await.csrf();
    let revoke = format!("/dashboard/{GUILD}/tokens/{token_id}/revoke");
    let window = format!("/dashboard/{GUILD}/tokens/{token_id}/reauth-window");
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        browser.extra = vec![(header.0, header.1.to_owned())];
        assert_eq!(browser.post(&revoke, &[("csrf", &csrf)]).await.status, 403);
        assert_eq!(browser.post(&window, &[("csrf", &csrf)]).await.status, 403);
        // The script route refuses it too, in the guild envelope.
        let scripted = browser
            .send(
                reqwest::Method::POST,
                &format!("/api/api-tokens/{token_id}/reauth-window"),
                None,
                None,
            )
            .await;
        assert_eq!(scripted.status, 403);
        assert_eq!(scripted.json()["error"]["code"], "FORBIDDEN");
        let minted = browser
            .post_json("/api-tokens", json!({"guild_id": GUILD, "name": "x"}))
            .await;
        assert_eq!(minted.status, 403);
    }
    let token = dash.store.token(&token_id).await.unwrap().unwrap();
    assert!(token.revoked_at.is_none());
    assert!(
        dash.store
            .current_window(&token_id, dash.now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(dash.token_count().await, 1);

    // Same-origin requests (what the dashboard's own forms send) go through.
    browser.extra = vec![
        ("origin", dash.base.clone()),
        ("sec-fetch-site", "same-origin".to_owned()),
    ];
    assert_eq!(browser.post(&revoke, &[("csrf", &csrf)]).await.status, 303);
}

#[tokio::test]
async fn pages_cannot_be_framed_or_cached() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    for path in [
        "/dashboard/login",
        "/dashboard",
        &format!("/dashboard/{GUILD}/settings/api-mcp"),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn another_owners_guild_and_tokens_are_not_found() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let theirs = browser
        .get(&format!("/dashboard/{OTHER_GUILD}/settings/api-mcp"))
        .await;
    assert_eq!(theirs.status, 404);
    let json = browser
        .post_json(
            "/api-tokens",
            json!({"guild_id": OTHER_GUILD, "name": "sneaky"}),
        )
        .await;
    assert_eq!(json.status, 404);
    assert_eq!(json.json()["error"]["code"], "NOT_FOUND");
    // A token of the other guild, addressed through this owner's guild or the script route.
    let mut other = dash.browser();
    dash.account(OTHER_OWNER, None).await;
    assert_eq!(other.login(OTHER_OWNER, PASSWORD).await.status, 303);
    let csrf = other
        .get(&format!("/dashboard/{OTHER_GUILD}/settings/api-mcp"))
        .await
        .csrf();
    let page = other
        .post(
            &format!("/dashboard/{OTHER_GUILD}/tokens"),
            &[
                ("csrf", &csrf),
                ("name", "theirs"),
                ("capabilities", "strikes.read"),
                ("expiry", "7"),
            ],
        )
        .await;
    let id = page.body.split("id=\"token-id\">").nth(1).unwrap()[..26].to_owned();
    let csrf = browser.settings("tab=tokens").await.csrf();
    let cross = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(cross.status, 404);
    let scripted = browser
        .send(
            reqwest::Method::POST,
            &format!("/api/api-tokens/{id}/reauth-window"),
            None,
            None,
        )
        .await;
    assert_eq!(scripted.status, 404);
    assert_eq!(scripted.json()["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_session_mint_route_needs_a_session_and_allows_20_an_hour() {
    let dash = Dash::start().await;
    let mut anonymous = dash.browser();
    let refused = anonymous
        .post_json("/api-tokens", json!({"guild_id": GUILD, "name": "x"}))
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"]["code"], "UNAUTHORIZED");
    assert!(
        refused.json()["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );

    let mut browser = dash.signed_in().await;
    let bad = browser
        .post_json(
            "/api-tokens",
            json!({"guild_id": GUILD, "name": "x", "expiry": "45"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["details"]["field"], "expiry");
    let unknown_field = browser
        .post_json(
            "/api-tokens",
            json!({"guild_id": GUILD, "name": "x", "scopes": []}),
        )
        .await;
    assert_eq!(unknown_field.json()["error"]["code"], "VALIDATION_FAILED");

    for i in 0..20 {
        let minted = browser
            .post_json(
                "/api-tokens",
                json!({"guild_id": GUILD, "name": format!("ci-{i}"), "capabilities": ["strikes.read"], "expiry": "30"}),
            )
            .await;
        assert_eq!(minted.status, 201, "{}", minted.body);
        let body = minted.json();
        assert!(body["token"].as_str().unwrap().starts_with("arkpat_"));
        assert_eq!(body["capabilities"], json!(["strikes.read"]));
        assert_eq!(body["source"], "dashboard");
        assert_eq!(body["expires_at"], "2026-06-11T20:00:00.000Z");
    }
    let limited = browser
        .post_json(
            "/api-tokens",
            json!({"guild_id": GUILD, "name": "one-too-many"}),
        )
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"]["code"], "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // The form shares the budget: it shows the refusal on the tokens tab.
    let csrf = browser.settings("tab=tokens").await.csrf();
    let form = browser
        .post(
            &format!("/dashboard/{GUILD}/tokens"),
            &[
                ("csrf", &csrf),
                ("name", "form"),
                ("capabilities", "strikes.read"),
                ("expiry", "90"),
            ],
        )
        .await;
    assert_eq!(form.status, 429);
    assert!(
        form.body
            .contains("Token creation is limited to 20 per hour")
    );
    assert_eq!(dash.token_count().await, 20);
    dash.clock.advance(guildgate_core::clock::HOUR);
    let again = browser
        .post_json(
            "/api-tokens",
            json!({"guild_id": GUILD, "name": "next-hour"}),
        )
        .await;
    assert_eq!(again.status, 201);
}
