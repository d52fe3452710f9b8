//! Sign-in, cookies, session fixation, expiry, sign-out, and the failed-login limits.

use guildgate_core::clock::{HOUR, MINUTE};

use crate::common::*;

#[tokio::test]
async fn sign_in_issues_a_strict_http_only_cookie_and_never_keeps_a_planted_one() {
    let dash = Dash::start().await;
    let mut browser = dash.browser();
    // An attacker planted a session id in the victim's browser before sign-in.
    browser
        .cookies
        .insert("arkanis_session".into(), "attacker-chosen-value".into());
    let signed = browser.login(OWNER, PASSWORD).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location(), "/dashboard");
    let cookie = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("arkanis_session="))
        .expect("a session cookie")
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let issued = browser.cookies["arkanis_session"].clone();
    assert_ne!(issued, "attacker-chosen-value");
    assert!(issued.len() >= 43, "256-bit secret: {issued}");
    let home = browser.get("/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Night Owls"));
    assert!(
        !home.body.contains("Someone Else"),
        "only the guilds they own"
    );

    // The planted id is worth nothing, and a second sign-in replaces the first session.
    let mut attacker = dash.browser();
    attacker
        .cookies
        .insert("arkanis_session".into(), "attacker-chosen-value".into());
    assert_eq!(attacker.get("/dashboard").await.status, 303);
    let first = browser.cookies["arkanis_session"].clone();
    browser.login(OWNER, PASSWORD).await;
    assert_ne!(browser.cookies["arkanis_session"], first);
    let mut stale = dash.browser();
    stale.cookies.insert("arkanis_session".into(), first);
    assert_eq!(
        stale.get("/dashboard").await.location(),
        "/dashboard/login?next=%2Fdashboard"
    );
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_tls() {
    let dash = Dash::start_with(guildgate_dashboard::DashboardConfig {
        secure_cookies: true,
        ..Default::default()
    })
    .await;
    let mut browser = dash.browser();
    let form = browser.get("/dashboard/login").await;
    assert!(form.set_cookies()[0].contains("; Secure"));
    let signed = browser.login(OWNER, PASSWORD).await;
    assert!(signed.set_cookies()[0].contains("HttpOnly; SameSite=Strict; Secure"));
}

#[tokio::test]
async fn the_login_form_only_works_with_its_own_cookie_token() {
    let dash = Dash::start().await;
    let mut browser = dash.browser();
    // Login CSRF: a form posted from elsewhere has no matching cookie.
    let forged = browser
        .post(
            "/dashboard/login",
            &[
                ("csrf", "forged"),
                ("discord_id", OWNER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("The sign-in form expired"));
    assert!(!browser.cookies.contains_key("arkanis_session"));
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_limited_per_account_then_recover() {
    let dash = Dash::start().await;
    let mut browser = dash.browser();
    for _ in 0..5 {
        let wrong = browser.login(OWNER, "not the password").await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("do not match an account"));
    }
    // The sixth try is refused before the password is even checked, right or wrong.
    let limited = browser.login(OWNER, PASSWORD).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.body.contains("Too many failed sign-ins"),
        "{}",
        limited.body
    );
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(!browser.cookies.contains_key("arkanis_session"));
    // An unknown account is refused the same way as a wrong password.
    let unknown = dash.browser().login("583912000000000077", PASSWORD).await;
    assert_eq!(unknown.status, 401);

    dash.clock.advance(15 * MINUTE);
    assert_eq!(browser.login(OWNER, PASSWORD).await.status, 303);
}

#[tokio::test]
async fn failed_logins_are_limited_per_ip_across_accounts() {
    let dash = Dash::start().await;
    let mut browser = dash.browser();
    for i in 0..20 {
        let account = format!("5839120000000001{i:02}");
        assert_eq!(browser.login(&account, "guess").await.status, 401);
    }
    // Same IP, a fresh account with the right password: the IP's budget is spent.
    assert_eq!(browser.login(OWNER, PASSWORD).await.status, 429);
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours_and_sign_out_ends_them() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    dash.clock.advance(11 * HOUR);
    assert_eq!(browser.get("/dashboard").await.status, 200);
    dash.clock.advance(HOUR);
    let expired = browser
        .get(&format!("/dashboard/{GUILD}/settings/api-mcp?tab=audit"))
        .await;
    assert_eq!(expired.status, 303);
    assert_eq!(
        expired.location(),
        format!("/dashboard/login?next=%2Fdashboard%2F{GUILD}%2Fsettings%2Fapi-mcp%3Ftab%3Daudit")
    );

    let mut browser = dash.signed_in().await;
    let kept = browser.cookies["arkanis_session"].clone();
    let csrf = browser.get("/dashboard").await.csrf();
    let out = browser.post("/dashboard/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.cookies.contains_key("arkanis_session"));
    let mut replay = dash.browser();
    replay.cookies.insert("arkanis_session".into(), kept);
    assert_eq!(
        replay.get("/dashboard").await.status,
        303,
        "the old cookie is dead"
    );
}

#[tokio::test]
async fn after_sign_in_only_dashboard_paths_are_followed() {
    let dash = Dash::start().await;
    let mut browser = dash.browser();
    let form = browser
        .get("/dashboard/login?next=https://evil.example/")
        .await;
    assert_eq!(form.input_value("next").as_deref(), Some("/dashboard"));
    let csrf = form.csrf();
    let signed = browser
        .post(
            "/dashboard/login",
            &[
                ("csrf", &csrf),
                ("next", "//evil.example/dashboard"),
                ("discord_id", OWNER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed.location(), "/dashboard");
}
