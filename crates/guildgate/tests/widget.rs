//! The public status widget as a website visitor's browser shows it: headless Chromium
//! opens the embed URL from `/api/v1/public-token`, and OCR (tesseract) reads the shard's
//! name off the screenshot. The screenshot goes to target/test-output/widget/.

mod common;
mod webdriver;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::{Value, json};
use webdriver::Driver;

const NAME: &str = "Nightfall Wing";
const WIDGET_GUILD: &str = "300000000000000000";

fn body_of(raw: &str) -> Value {
    serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[tokio::test]
async fn the_widget_renders_the_shards_name_in_a_browser() {
    let db = Db::new();
    db.ok(&[
        "guild",
        "create",
        "--id",
        WIDGET_GUILD,
        "--name",
        NAME,
        "--owner",
        OWNER,
    ]);
    let key = db.ok(&[
        "shard-key",
        "mint",
        "--guild",
        WIDGET_GUILD,
        "--name",
        "site",
        "--scopes",
        "read:status,write:nets,write:operation",
    ])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    for name in ["Command", "Alpha Squad"] {
        let (status, _) = http_post(
            port,
            "/api/v1/nets",
            &key,
            &json!({ "name": name }).to_string(),
        );
        assert_eq!(status, 200);
    }
    http_post(port, "/api/v1/operation", &key, r#"{"open":true}"#);
    let (status, raw) = http_get(port, "/api/v1/public-token", &key);
    assert_eq!(status, 200, "{raw}");
    let token = body_of(&raw)["token"].as_str().unwrap().to_owned();

    let browser = Driver::start(640, 480).await;
    browser
        .goto(&format!(
            "http://127.0.0.1:{port}/api/v1/embed/widget?token={token}"
        ))
        .await;
    let text = browser.text("body").await;
    assert!(
        text.contains(NAME) && text.contains("Alpha Squad"),
        "{text}"
    );
    // Self-contained: the page loaded nothing besides itself.
    let fetched = browser
        .script(
            "return performance.getEntriesByType('resource').length",
            json!([]),
        )
        .await;
    assert_eq!(fetched, json!(0));
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-output/widget/widget.png");
    browser.screenshot(&shot).await;
    browser.close().await;
    server.kill().unwrap();
    server.wait().unwrap();

    let ocr = Command::new("tesseract")
        .arg(&shot)
        .arg("stdout")
        .output()
        .expect("tesseract missing: apt-get install tesseract-ocr (scripts/test.sh does)");
    let read = String::from_utf8_lossy(&ocr.stdout);
    assert!(
        read.contains(NAME),
        "OCR of {} read: {read}",
        shot.display()
    );
}
