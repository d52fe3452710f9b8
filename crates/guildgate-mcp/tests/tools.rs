//! The MCP server in-process, driven by the rmcp client over a duplex pipe, against a
//! scripted HTTP fake: retries, Idempotency-Key, the RE_AUTH_REQUIRED stop, and calls that
//! never reach HTTP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use guildgate_mcp::{GuildgateMcp, McpConfig, RetryPolicy};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

struct Harness {
    fake: Fake,
    slept: Arc<Mutex<Vec<Duration>>>,
    client: RunningService<RoleClient, ()>,
    _dir: tempfile::TempDir,
}

async fn harness_with(
    fake: Fake,
    base_url: String,
    tweak: impl FnOnce(&mut RetryPolicy),
) -> Harness {
    let (sleep, slept) = recording_sleep();
    let dir = tempfile::tempdir().unwrap();
    let mut retry = RetryPolicy {
        sleep,
        ..RetryPolicy::default()
    };
    tweak(&mut retry);
    let config = McpConfig {
        base_url: Some(base_url),
        token: Some(TOKEN.into()),
        guild_id: None,
        credential_path: Some(dir.path().join("none.json")),
        retry,
    };
    let server = GuildgateMcp::from_config(config).unwrap();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    Harness {
        fake,
        slept,
        client,
        _dir: dir,
    }
}

async fn harness() -> Harness {
    let fake = Fake::default();
    let base_url = serve(fake.clone()).await;
    harness_with(fake, base_url, |_| {}).await
}

impl Harness {
    async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = Some(args.as_object().unwrap().clone());
        self.client.call_tool(params).await.unwrap()
    }

    fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

fn body(result: &CallToolResult) -> Value {
    serde_json::from_str(&result.content[0].as_text().unwrap().text).unwrap()
}

fn strike() -> Value {
    json!({"user_id": "583912000000000000", "reason": "spam", "severity": "major"})
}

const STRIKE_PATH: &str = "/api/public/v1/guilds/100000000000000000/strikes";

#[tokio::test]
async fn retryable_answers_are_retried_under_one_idempotency_key_honouring_retry_after() {
    let h = harness().await;
    let mut busy = envelope(503, "UPSTREAM_UNAVAILABLE", true, None);
    busy.retry_after = Some(2);
    h.fake.push(busy);
    h.fake.push(envelope(429, "RATE_LIMITED", true, None));
    h.fake
        .push(envelope(409, "IDEMPOTENCY_KEY_IN_USE", true, None));
    h.fake.push(reply(
        201,
        json!({"strike": {"id": "01HZSTRIKE01STRIKE01STRIKE", "user_id": "583912000000000000"}}),
    ));

    let result = h.call("add_strike", strike()).await;
    assert_eq!(result.is_error, Some(false), "{:?}", result.content);
    assert_eq!(body(&result)["strike"]["user_id"], "583912000000000000");
    assert_eq!(result.structured_content.as_ref(), Some(&body(&result)));

    let seen = h.fake.seen();
    assert_eq!(seen.len(), 4);
    let key = seen[0]
        .header("idempotency-key")
        .expect("an Idempotency-Key");
    assert!(!key.is_empty());
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, STRIKE_PATH);
        assert_eq!(s.header("idempotency-key").as_deref(), Some(key.as_str()));
        assert_eq!(
            s.header("authorization").unwrap(),
            format!("Bearer {TOKEN}")
        );
        assert_eq!(
            s.json()["_confirmation"],
            "ADD STRIKE TO USER 583912000000000000 IN GUILD 100000000000000000 SEVERITY MAJOR"
        );
    }
    let slept = h.slept();
    assert_eq!(slept[0], Duration::from_secs(2), "Retry-After is honoured");
    assert!(
        slept[1] >= Duration::from_millis(1500) && slept[1] <= Duration::from_millis(2500),
        "{slept:?}"
    );
    assert!(
        slept[2] >= Duration::from_secs(3) && slept[2] <= Duration::from_secs(5),
        "{slept:?}"
    );

    // The next call is a new action: a new key.
    h.fake.push(reply(201, json!({"strike": {}})));
    h.call("add_strike", strike()).await;
    let next = h.fake.seen()[4].header("idempotency-key").unwrap();
    assert_ne!(next, key);
}

#[tokio::test]
async fn retries_are_bounded_and_back_off_up_to_thirty_seconds() {
    let h = harness().await;
    for _ in 0..10 {
        h.fake.push(envelope(500, "INTERNAL_ERROR", true, None));
    }
    let result = h.call("list_strikes", json!({"limit": 5})).await;
    assert_eq!(result.is_error, Some(true));
    assert_eq!(body(&result)["error"]["code"], "INTERNAL_ERROR");
    assert!(
        result.content[1]
            .as_text()
            .unwrap()
            .text
            .contains("5 attempts")
    );
    let seen = h.fake.seen();
    assert_eq!(seen.len(), 5, "one attempt and four retries");
    assert_eq!(seen[0].path, format!("{STRIKE_PATH}?limit=5"));
    assert!(
        seen.iter().all(|s| s.header("idempotency-key").is_none()),
        "GETs carry no key"
    );
    let slept: Vec<f64> = h.slept().iter().map(Duration::as_secs_f64).collect();
    assert_eq!(slept.len(), 4);
    for (d, base) in slept.iter().zip([1.0, 2.0, 4.0, 8.0]) {
        assert!(*d >= base * 0.75 && *d <= base * 1.25, "{slept:?}");
    }
}

#[tokio::test]
async fn re_auth_required_is_a_stop_condition_never_retried() {
    let h = harness().await;
    let url = "http://127.0.0.1:8080/dashboard/100000000000000000/settings/api-mcp?tab=reauth";
    h.fake.push(envelope(
        403,
        "RE_AUTH_REQUIRED",
        false,
        Some(json!({"reauth_url": url})),
    ));
    let result = h.call("add_strike", strike()).await;
    assert_eq!(result.is_error, Some(true));
    let envelope = body(&result);
    assert_eq!(envelope["error"]["code"], "RE_AUTH_REQUIRED");
    assert_eq!(envelope["error"]["details"]["reauth_url"], url);
    assert_eq!(result.structured_content.as_ref(), Some(&envelope));
    let stop = &result.content[1].as_text().unwrap().text;
    assert!(
        stop.starts_with("STOP") && stop.contains(url) && stop.contains(TOKEN_ID),
        "{stop}"
    );
    assert_eq!(h.fake.seen().len(), 1);
    assert!(h.slept().is_empty());
}

#[tokio::test]
async fn other_refusals_come_back_at_once_as_the_envelope() {
    let h = harness().await;
    h.fake.push(envelope(
        403,
        "CAPABILITY_DENIED",
        false,
        Some(json!({"missing": ["strikes.write"]})),
    ));
    let result = h.call("add_strike", strike()).await;
    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        body(&result)["error"]["details"]["missing"],
        json!(["strikes.write"])
    );
    assert_eq!(result.content.len(), 1);
    // A Retry-After past the bound is not waited out.
    let mut later = envelope(429, "RATE_LIMITED", true, None);
    later.retry_after = Some(3600);
    h.fake.push(later);
    let result = h.call("list_strikes", json!({})).await;
    assert_eq!(body(&result)["error"]["code"], "RATE_LIMITED");
    assert_eq!(h.fake.seen().len(), 2);
    assert!(h.slept().is_empty());
}

#[tokio::test]
async fn bad_arguments_and_forged_sentinels_never_reach_http() {
    let h = harness().await;
    let cases = [
        (
            "add_strike",
            json!({"user_id": "583912000000000000", "reason": "x", "severity": "minor",
            "_confirmation": "ADD STRIKE TO USER 583912000000000000 IN GUILD 999999999999999999 SEVERITY MINOR"}),
            "_confirmation",
        ),
        (
            "add_strike",
            json!({"user_id": "583912000000000000 IN GUILD 999999999999999999", "reason": "x", "severity": "minor"}),
            "user_id",
        ),
        (
            "ban_user",
            json!({"user_id": "583912000000000000", "guild_id": "999999999999999999"}),
            "",
        ),
        (
            "remove_strike",
            json!({"strike_id": "../../999999999999999999/strikes/01HZ"}),
            "strike_id",
        ),
        ("list_strikes", json!({"cursor": "x&limit=100"}), "cursor"),
    ];
    for (tool, args, field) in cases {
        let result = h.call(tool, args.clone()).await;
        assert_eq!(result.is_error, Some(true), "{tool} {args}");
        let envelope = body(&result);
        assert_eq!(
            envelope["error"]["code"], "VALIDATION_FAILED",
            "{tool} {args}: {envelope}"
        );
        assert_eq!(envelope["error"]["retryable"], false);
        assert!(
            envelope["error"]["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("req_")),
            "a refusal made on this side still carries a request id: {envelope}"
        );
        if !field.is_empty() {
            assert_eq!(envelope["error"]["details"]["field"], field, "{envelope}");
        }
    }
    assert!(h.fake.seen().is_empty(), "{:?}", h.fake.seen());
    // An unknown tool is a protocol error, not a call.
    let mut params = CallToolRequestParams::new("drop_database");
    params.arguments = Some(Default::default());
    assert!(h.client.call_tool(params).await.is_err());
}

#[tokio::test]
async fn the_guild_and_token_id_come_from_the_token_itself() {
    let h = harness().await;
    h.fake
        .push(reply(200, json!({"open": false, "window": null})));
    let result = h.call("reauth_status", json!({})).await;
    assert_eq!(result.is_error, Some(false), "{:?}", result.content);
    let all = h.fake.all_seen();
    assert_eq!(all[0].path, "/api/api-tokens/current");
    assert_eq!(
        all[1].path,
        format!("/api/api-tokens/{TOKEN_ID}/reauth-window")
    );
    h.fake
        .push(reply(200, json!({"data": [], "next_cursor": null})));
    h.call("list_tickets", json!({})).await;
    let all = h.fake.all_seen();
    assert_eq!(all.len(), 3, "the identity is asked once");
    assert_eq!(
        all[2].path,
        "/api/public/v1/guilds/100000000000000000/tickets"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = Fake::default();
    let h = harness_with(fake, format!("http://127.0.0.1:{port}"), |r| {
        r.max_retries = 2
    })
    .await;
    let result = h.call("list_strikes", json!({})).await;
    assert_eq!(result.is_error, Some(true));
    let envelope = body(&result);
    assert_eq!(
        envelope["error"]["code"], "UPSTREAM_UNAVAILABLE",
        "{envelope}"
    );
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Could not reach")
    );
    assert_eq!(h.slept().len(), 2);
}

#[tokio::test]
async fn tools_carry_the_policy_tables_hints() {
    let h = harness().await;
    let tools = h.client.list_all_tools().await.unwrap();
    let hint = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .annotations
            .clone()
            .unwrap()
    };
    assert_eq!(hint("list_strikes").read_only_hint, Some(true));
    assert_eq!(hint("list_strikes").destructive_hint, Some(false));
    assert_eq!(hint("add_strike").destructive_hint, Some(true));
    assert_eq!(hint("add_strike").read_only_hint, Some(false));
    assert_eq!(hint("mute_user").destructive_hint, Some(true));
    assert_eq!(hint("claim_ticket").idempotent_hint, Some(true));
    assert_eq!(hint("claim_ticket").destructive_hint, Some(false));
    assert!(
        tools
            .iter()
            .all(|t| t.annotations.as_ref().unwrap().open_world_hint == Some(false))
    );
    assert!(
        h.fake.all_seen().is_empty(),
        "listing tools makes no request"
    );
}

#[tokio::test]
async fn a_paired_credential_supplies_token_guild_and_base_url() {
    let fake = Fake::default();
    let base_url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mcp.json");
    guildgate_mcp::credential::save(
        &path,
        &guildgate_mcp::Credential {
            base_url,
            guild_id: GUILD.into(),
            token: TOKEN.into(),
            token_id: TOKEN_ID.into(),
        },
    )
    .unwrap();
    let config = McpConfig {
        credential_path: Some(path),
        ..McpConfig::default()
    };
    let server = GuildgateMcp::from_config(config).unwrap();
    fake.push(reply(200, json!({"open": true})));
    let result = server.run_tool("reauth_status", &Default::default()).await;
    assert_eq!(result.is_error, Some(false), "{:?}", result.content);
    let all = fake.all_seen();
    assert_eq!(
        all.len(),
        1,
        "no identity look-up: the credential names the token"
    );
    assert_eq!(
        all[0].path,
        format!("/api/api-tokens/{TOKEN_ID}/reauth-window")
    );
    assert_eq!(
        all[0].header("authorization").unwrap(),
        format!("Bearer {TOKEN}")
    );

    // Without a token or a credential the server does not start, and says how to fix it.
    let config = McpConfig {
        credential_path: Some(dir.path().join("missing.json")),
        ..McpConfig::default()
    };
    let err = GuildgateMcp::from_config(config).unwrap_err().to_string();
    assert!(
        err.contains("ARKANIS_TOKEN") && err.contains("mcp pair"),
        "{err}"
    );
}
