//! The dashboard as a person uses it, in headless Chromium against the real binary:
//! sign in, mint a token, copy it, hit RE_AUTH_REQUIRED from a script, approve in the
//! browser, watch the countdown, retry, revoke, read the audit log. Screenshots of the
//! main pages go to target/test-output/dashboard/.

mod common;
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use webdriver::Driver;

const PASSWORD: &str = "correct horse battery staple";
const TARGET: &str = "583912000000000000";

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output/dashboard")
}

fn add_strike(port: u16, token: &str) -> (u16, Value) {
    let body = json!({
        "user_id": TARGET,
        "reason": "spam in #general",
        "category": "rule-violation",
        "severity": "minor",
        "_confirmation": format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR"),
    });
    let (status, raw) = http_post(
        port,
        &format!("/api/public/v1/guilds/{GUILD}/strikes"),
        token,
        &body.to_string(),
    );
    let json = raw
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn create_account(db: &Db) {
    let out = db.admin_with_stdin(
        &["user", "create", "--discord-id", OWNER, "--password-stdin"],
        PASSWORD,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_owner_mints_approves_watches_the_countdown_revokes_and_reads_the_audit_log() {
    let db = seeded();
    create_account(&db);
    let port = free_port();
    let server_log = tempfile::NamedTempFile::new().unwrap();
    let mut server = serve(&db, port, &[], Some(&server_log));
    let base = format!("http://127.0.0.1:{port}");
    let browser = Driver::start(1280, 900).await;

    // Sign in.
    browser.goto(&format!("{base}/dashboard")).await;
    assert!(browser.url().await.contains("/dashboard/login?next="));
    browser.screenshot(&shots().join("01-sign-in.png")).await;
    browser.find("#discord_id").await.type_text(OWNER).await;
    browser.find("#password").await.type_text(PASSWORD).await;
    browser
        .find("form[action='/dashboard/login'] button")
        .await
        .click()
        .await;
    browser.wait_for("form[action='/dashboard/logout']").await;
    assert_eq!(
        browser.url().await,
        format!("{base}/dashboard"),
        "{}",
        browser.text("main").await
    );
    assert!(browser.text("main").await.contains("Test"));
    let cookie_visible = browser.script("return document.cookie", json!([])).await;
    assert_eq!(cookie_visible, "", "the session cookie is HttpOnly");

    // Mint a token with two capabilities.
    browser
        .goto(&format!("{base}/dashboard/{GUILD}/settings/api-mcp"))
        .await;
    browser
        .find("#token-name")
        .await
        .type_text("moderation-bot")
        .await;
    browser
        .script(
            "document.querySelectorAll('input[name=capabilities]').forEach(b => \
             b.checked = ['strikes.read','strikes.write'].includes(b.value))",
            json!([]),
        )
        .await;
    browser.screenshot(&shots().join("02-tokens.png")).await;
    browser
        .find("#create-heading + form button[type=submit]")
        .await
        .click()
        .await;
    let secret_field = browser.wait_for("#token-secret").await;
    let secret = secret_field
        .property("value")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("arkpat_"), "{secret}");
    let token_id = browser.text("#token-id").await;
    assert!(browser.text("[role=alert]").await.contains("Copy it now."));
    browser.find("#copy-token").await.click().await;
    browser
        .wait_text("#copy-token", Duration::from_secs(3), |t| t != "Copy")
        .await;
    assert_eq!(browser.text("#copy-token").await, "Copied");
    browser
        .screenshot(&shots().join("03-token-created.png"))
        .await;

    // The script hits the destructive guard.
    let (status, refused) = add_strike(port, &secret);
    assert_eq!(status, 403);
    assert_eq!(refused["error"]["code"], "RE_AUTH_REQUIRED");
    let reauth_url = refused["error"]["details"]["reauth_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reauth_url.starts_with(&base), "{reauth_url}");

    // The owner follows the link from the error and approves.
    browser.goto(&reauth_url).await;
    assert!(browser.url().await.contains("tab=reauth"));
    let row = format!("tr[data-token-id='{token_id}']");
    browser
        .find(&format!("{row} button[type=submit]"))
        .await
        .click()
        .await;
    let notice = browser.wait_for("[role=status]").await.text().await;
    assert!(
        notice.contains("Re-auth window open for 15 minutes."),
        "{notice}"
    );
    let first = browser.text(&format!("{row} .countdown")).await;
    assert!(
        first.starts_with("14:5") || first == "15:00 left",
        "{first}"
    );
    // The countdown runs in the browser, without a reload.
    browser.script("window.notReloaded = true", json!([])).await;
    let later = browser
        .wait_text(&format!("{row} .countdown"), Duration::from_secs(5), |t| {
            t != first
        })
        .await;
    assert!(later < first, "{later} after {first}");
    browser
        .screenshot(&shots().join("04-reauth-countdown.png"))
        .await;

    // The retry goes through.
    let (status, created) = add_strike(port, &secret);
    assert_eq!(status, 201, "{created}");

    // At zero the row closes itself (the window's end moved near, as if time had passed).
    browser
        .script(
            "document.querySelector(arguments[0]).dataset.expiresAt = String(Date.now() + 1200)",
            json!([format!("{row} .countdown")]),
        )
        .await;
    browser
        .wait_text(&format!("{row} .countdown"), Duration::from_secs(5), |t| {
            t == "Window closed"
        })
        .await;
    assert_eq!(
        browser
            .script("return window.notReloaded === true", json!([]))
            .await,
        true
    );
    assert_eq!(
        browser
            .count(&format!("{row} .close-window:not([hidden])"))
            .await,
        0
    );

    // Revoke, confirming first; the script is refused at once.
    browser
        .goto(&format!(
            "{base}/dashboard/{GUILD}/settings/api-mcp?tab=tokens"
        ))
        .await;
    browser
        .find(&format!(
            "tr[data-token-id='{token_id}'] a[href$='/revoke']"
        ))
        .await
        .click()
        .await;
    browser.wait_for("#confirm-revoke").await;
    assert!(browser.text("h1").await.contains("Revoke moderation-bot?"));
    browser.find("#confirm-revoke").await.click().await;
    let notice = browser.wait_for("[role=status]").await.text().await;
    assert!(notice.contains("Token revoked."), "{notice}");
    let (status, revoked) = add_strike(port, &secret);
    assert_eq!(status, 401);
    assert_eq!(revoked["error"]["code"], "TOKEN_REVOKED");

    // The audit log shows the whole story for this token.
    browser
        .goto(&format!(
            "{base}/dashboard/{GUILD}/settings/api-mcp?tab=audit&token={token_id}"
        ))
        .await;
    let expected = [
        "token.mint",
        "reauth.open",
        "RE_AUTH_REQUIRED",
        "success",
        "token.revoke",
        "TOKEN_REVOKED",
        "moderation-bot",
        "dashboard",
        "req_",
    ];
    // The page flushes the queued rows of reads and refusals first: the refusal made a
    // moment ago is there on the first load.
    let log = browser.text("#audit-log").await;
    for expected in expected {
        assert!(
            log.contains(expected),
            "{expected} in:\n{log}\nserver log:\n{}",
            std::fs::read_to_string(server_log.path()).unwrap()
        );
    }
    browser.screenshot(&shots().join("05-audit-log.png")).await;
    browser
        .goto(&format!(
            "{base}/dashboard/{GUILD}/settings/api-mcp?tab=mcp"
        ))
        .await;
    browser.screenshot(&shots().join("06-mcp-tokens.png")).await;
    browser.close().await;

    // Phone width: the tokens page still fits and reads.
    let phone = Driver::start(390, 844).await;
    phone.goto(&format!("{base}/dashboard/login")).await;
    phone.find("#discord_id").await.type_text(OWNER).await;
    // With the keyboard only: the password, then Enter submits the form.
    phone
        .find("#password")
        .await
        .type_text(&format!("{PASSWORD}\u{E007}"))
        .await;
    phone.wait_for("form[action='/dashboard/logout']").await;
    // The first Tab reaches the skip link, which leads to the page's content.
    phone.find("body").await.type_text("\u{E004}").await;
    let focused = phone
        .script("return document.activeElement.textContent", json!([]))
        .await;
    assert_eq!(focused, "Skip to content");
    phone
        .goto(&format!("{base}/dashboard/{GUILD}/settings/api-mcp"))
        .await;
    let overflow = phone
        .script(
            "return document.documentElement.scrollWidth - window.innerWidth",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "page wider than the phone: {overflow}"
    );
    phone.screenshot(&shots().join("07-tokens-phone.png")).await;
    phone.close().await;

    server.kill().unwrap();
    server.wait().unwrap();
}
