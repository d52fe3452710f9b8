//! `pair` against a scripted device-flow server: the interval, slow_down (RFC 8628 §3.5),
//! expiry, denial, and the owner-only credential that never reaches the output.

mod common;

use std::time::Duration;

use common::*;
use guildgate_mcp::{PairOptions, pair_with};
use serde_json::{Value, json};

fn device_code() -> Reply {
    reply(
        200,
        json!({
            "device_code": "dc_secret", "user_code": "BCDF-GHJK",
            "verification_uri": "http://127.0.0.1/dashboard/100000000000000000/settings/api-mcp?tab=mcp",
            "verification_uri_complete": "http://127.0.0.1/dashboard/100000000000000000/settings/api-mcp?tab=mcp&user_code=BCDF-GHJK",
            "expires_in": 600, "interval": 5,
        }),
    )
}

fn oauth(error: &str) -> Reply {
    reply(
        400,
        json!({"error": error, "error_description": format!("{error} from the fake")}),
    )
}

struct Run {
    fake: Fake,
    result: Result<guildgate_mcp::PairOutcome, guildgate_mcp::Error>,
    output: String,
    slept: Vec<Duration>,
    dir: tempfile::TempDir,
}

async fn run(replies: Vec<Reply>) -> Run {
    let fake = Fake::default();
    for r in replies {
        fake.push(r);
    }
    let base_url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let (sleep, slept) = recording_sleep();
    let options = PairOptions {
        credential_path: Some(dir.path().join("cfg").join("mcp.json")),
        sleep,
    };
    let mut out = Vec::new();
    let result = pair_with(&base_url, GUILD, "Claude Desktop", options, &mut out).await;
    let slept = slept.lock().unwrap().clone();
    Run {
        fake,
        result,
        output: String::from_utf8(out).unwrap(),
        slept,
        dir,
    }
}

fn issued() -> Reply {
    reply(
        200,
        json!({
            "access_token": TOKEN, "token_type": "Bearer", "token_id": TOKEN_ID, "guild_id": GUILD,
            "capabilities": ["strikes.read", "strikes.write"], "expires_at": "2026-08-01T00:00:00.000Z",
        }),
    )
}

#[tokio::test]
async fn polls_at_the_interval_slows_down_and_stores_an_owner_only_credential() {
    let r = run(vec![
        device_code(),
        oauth("authorization_pending"),
        oauth("slow_down"),
        oauth("authorization_pending"),
        oauth("slow_down"),
        issued(),
    ])
    .await;
    let outcome = r.result.unwrap();
    assert_eq!(outcome.polls, 5);
    assert_eq!(outcome.token_id, TOKEN_ID);
    let secs: Vec<u64> = r.slept.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [5, 5, 10, 10, 15], "each slow_down adds five seconds");

    let seen = r.fake.seen();
    assert_eq!(seen[0].path, "/oauth/device/code");
    assert!(
        seen[0].body.contains("guild_id=100000000000000000"),
        "{}",
        seen[0].body
    );
    assert!(
        seen[0].body.contains("client_name=Claude+Desktop"),
        "{}",
        seen[0].body
    );
    for poll in &seen[1..] {
        assert_eq!(poll.path, "/oauth/device/token");
        assert!(
            poll.body
                .contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code")
        );
        assert!(poll.body.contains("device_code=dc_secret"));
    }

    assert!(r.output.contains("User code: BCDF-GHJK"), "{}", r.output);
    assert!(
        r.output
            .contains("admin device approve --user-code BCDF-GHJK")
    );
    assert!(!r.output.contains(TOKEN), "the token is never printed");
    assert!(!r.output.contains("dc_secret"), "nor the device code");

    let path = r.dir.path().join("cfg").join("mcp.json");
    assert_eq!(outcome.path, path);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored["token"], TOKEN);
    assert_eq!(stored["token_id"], TOKEN_ID);
    assert_eq!(stored["guild_id"], GUILD);
    assert!(
        stored["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn an_expired_code_stops_with_a_clear_message() {
    let r = run(vec![
        device_code(),
        oauth("authorization_pending"),
        oauth("expired_token"),
    ])
    .await;
    let err = r.result.unwrap_err().to_string();
    assert!(err.contains("expired") && err.contains("again"), "{err}");
    assert!(!r.dir.path().join("cfg").join("mcp.json").exists());
}

#[tokio::test]
async fn a_denied_pairing_stops_with_a_clear_message() {
    let r = run(vec![device_code(), oauth("access_denied")]).await;
    let err = r.result.unwrap_err().to_string();
    assert!(err.contains("denied"), "{err}");
    assert_eq!(r.fake.seen().len(), 2, "no poll after a denial");
}

#[tokio::test]
async fn a_guild_without_mcp_gets_the_fix() {
    let r = run(vec![reply(
        403,
        json!({"error": "feature_not_enabled", "error_description": "MCP is not enabled for this guild"}),
    )])
    .await;
    let err = r.result.unwrap_err().to_string();
    assert!(
        err.contains("feature_not_enabled")
            && err.contains("set-feature --id 100000000000000000 --mcp on"),
        "{err}"
    );
    assert_eq!(r.fake.seen().len(), 1);
}

#[tokio::test]
async fn a_rate_limited_poll_waits_out_retry_after_and_goes_on() {
    let mut limited = reply(
        429,
        json!({"error": "rate_limited", "error_description": "slow"}),
    );
    limited.retry_after = Some(30);
    let r = run(vec![device_code(), limited, issued()]).await;
    r.result.unwrap();
    let secs: Vec<u64> = r.slept.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [5, 25, 5], "the interval and the rest of Retry-After");
}

#[tokio::test]
async fn an_unknown_error_stops() {
    let r = run(vec![device_code(), oauth("invalid_grant")]).await;
    let err = r.result.unwrap_err().to_string();
    assert!(err.contains("invalid_grant"), "{err}");
}
