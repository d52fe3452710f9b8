//! The error codes a caller can meet beyond auth and the guard, each in the envelope.

use std::sync::Arc;

use async_trait::async_trait;
use guildgate_core::model::{Ban, GameServer, Mute, Purge, RconRun};
use guildgate_guild_api::{ActionContext, Enforcer, UpstreamError};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn not_found_for_missing_things_and_routes() {
    let app = TestApp::start().await;
    let token = app
        .mint("strikes.write,tickets.read,tickets.write,bans.write")
        .await;
    app.open_window(&token.id).await;
    let ghost = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    let sentinel = format!("REMOVE STRIKE {ghost} IN GUILD {GUILD}");
    let reply = app
        .delete(
            &g(&format!("/strikes/{ghost}")),
            &token.secret,
            json!({"_confirmation": sentinel}),
        )
        .await;
    reply.expect_error(404, "NOT_FOUND");
    app.get(&g(&format!("/tickets/{ghost}")), &token.secret)
        .await
        .expect_error(404, "NOT_FOUND");
    let unban = format!("UNBAN USER {TARGET} IN GUILD {GUILD}");
    let reply = app
        .delete(
            &g(&format!("/bans/{TARGET}")),
            &token.secret,
            json!({"_confirmation": unban}),
        )
        .await;
    reply.expect_error(404, "NOT_FOUND");
    let bad_id = app.get(&g("/tickets/42"), &token.secret).await;
    assert_eq!(
        bad_id.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "ticket_id"
    );
    // An unknown path on the public surface is a call to it like any other: counted
    // against the address, with the rate-limit headers.
    let mut ip_remaining = Vec::new();
    for path in ["/api/public/v1/nothing-here", "/api/public/v1"] {
        let unknown = app.get(path, &token.secret).await;
        unknown.expect_error(404, "NOT_FOUND");
        assert_eq!(unknown.header("x-ratelimit-limit"), Some("600"));
        ip_remaining.push(unknown.header("x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_ne!(
        ip_remaining[0], ip_remaining[1],
        "each unknown path drew from the ip bucket"
    );
    let wrong_method = app
        .send(Method::PUT, &g("/strikes"), Some(&token.secret), None, &[])
        .await;
    // The route exists: a wrong method is NOT_FOUND (the locked list has no 405 code),
    // saying which methods it does answer.
    let body = wrong_method.expect_error(404, "NOT_FOUND");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not answer PUT")
    );
    let allow = wrong_method.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    app.send(Method::TRACE, "/api/public/v1/status", None, None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn claims_conflict_between_users() {
    let app = TestApp::start().await;
    app.set_member(GUILD, MOD, "tickets.read,tickets.write")
        .await;
    let owner = app.mint("tickets.read,tickets.write").await;
    let moderator = app
        .mint_with(GUILD, MOD, "tickets.read,tickets.write", |_| {})
        .await;
    let ticket = app.ticket().await;
    let claim = g(&format!("/tickets/{ticket}/claim"));
    assert_eq!(app.post(&claim, &owner.secret, json!({})).await.status, 200);
    assert_eq!(
        app.post(&claim, &owner.secret, json!({})).await.status,
        200,
        "claiming again is a no-op"
    );
    let taken = app.post(&claim, &moderator.secret, json!({})).await;
    assert_eq!(
        taken.expect_error(409, "ALREADY_CLAIMED")["details"]["claimed_by"],
        OWNER
    );
    let unclaim = g(&format!("/tickets/{ticket}/unclaim"));
    app.post(&unclaim, &moderator.secret, json!({}))
        .await
        .expect_error(409, "ALREADY_CLAIMED");
    let released = app.post(&unclaim, &owner.secret, json!({})).await;
    assert_eq!(released.body["ticket"]["claimed_by"], json!(null));
    let claimed = app.post(&claim, &moderator.secret, json!({})).await;
    assert_eq!(claimed.body["ticket"]["claimed_by"], MOD);
    let got = app
        .get(&g(&format!("/tickets/{ticket}")), &owner.secret)
        .await;
    assert_eq!(got.body["ticket"]["claimed_by"], MOD);
}

#[tokio::test]
async fn bad_json_and_queries_are_validation_failures() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=ten",
        "?cursor=nope",
        "?colour=red",
    ] {
        let reply = app
            .get(&g(&format!("/strikes{query}")), &token.secret)
            .await;
        reply.expect_error(400, "VALIDATION_FAILED");
    }
    let raw = app
        .http
        .post(format!("{}{}", app.base, g("/strikes")))
        .header("authorization", format!("Bearer {}", token.secret))
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
    let empty = app
        .send(Method::POST, &g("/strikes"), Some(&token.secret), None, &[])
        .await;
    empty.expect_error(400, "VALIDATION_FAILED");
    let missing = app
        .post(
            &g("/strikes"),
            &token.secret,
            json!({"user_id": TARGET, "severity": "minor"}),
        )
        .await;
    assert_eq!(
        missing.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "reason"
    );
}

/// An upstream that refuses every action while `down`, as Discord does when it is down.
#[derive(Default)]
struct Down(std::sync::atomic::AtomicBool);

impl Down {
    fn check(&self) -> Result<(), UpstreamError> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Err(UpstreamError("Discord answered 503".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Enforcer for Down {
    fn mode(&self) -> &'static str {
        "down"
    }
    async fn ban(&self, _: &ActionContext, _: &Ban) -> Result<(), UpstreamError> {
        self.check()
    }
    async fn unban(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        Err(UpstreamError("Discord answered 503".into()))
    }
    async fn mute(&self, _: &ActionContext, _: &Mute) -> Result<(), UpstreamError> {
        Err(UpstreamError("Discord answered 503".into()))
    }
    async fn lift_mute(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        Err(UpstreamError("Discord answered 503".into()))
    }
    async fn purge(&self, _: &ActionContext, _: &Purge) -> Result<(), UpstreamError> {
        Err(UpstreamError("Discord answered 503".into()))
    }
    async fn rcon(
        &self,
        _: &GameServer,
        _: &str,
        _: &RconRun,
    ) -> Result<Option<String>, UpstreamError> {
        Err(UpstreamError("no answer".into()))
    }
}

#[tokio::test]
async fn an_unreachable_upstream_is_retryable_and_nothing_is_half_written() {
    let down = Arc::new(Down::default());
    down.0.store(true, std::sync::atomic::Ordering::SeqCst);
    let app = TestApp::start_with(Options {
        enforcer: down.clone(),
        ..Options::default()
    })
    .await;
    let token = app.mint("bans.read,bans.write,audit.read").await;
    app.open_window(&token.id).await;
    let ban = format!("BAN USER {TARGET} IN GUILD {GUILD} PERMANENT");
    let body = json!({"user_id": TARGET, "_confirmation": ban});
    let key = [("idempotency-key", "ban-once")];
    let reply = app
        .send(
            Method::POST,
            &g("/bans"),
            Some(&token.secret),
            Some(body.clone()),
            &key,
        )
        .await;
    let err = reply.expect_error(503, "UPSTREAM_UNAVAILABLE");
    assert_eq!(err["retryable"], true);
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        app.get(&g("/bans"), &token.secret).await.body["data"],
        json!([])
    );
    let failed = app
        .get(&g("/audit?outcome=UPSTREAM_UNAVAILABLE"), &token.secret)
        .await;
    assert_eq!(
        failed.body["data"].as_array().unwrap().len(),
        1,
        "one audit row says it failed"
    );
    // The failed intent is settled: nothing is left for a restart to replay.
    assert_eq!(
        guildgate_guild_api::reconcile(&app.state, i64::MAX)
            .await
            .unwrap(),
        0
    );

    // Discord is back: the retry with the same key acts exactly once.
    down.0.store(false, std::sync::atomic::Ordering::SeqCst);
    let retry = app
        .send(
            Method::POST,
            &g("/bans"),
            Some(&token.secret),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    let again = app
        .send(
            Method::POST,
            &g("/bans"),
            Some(&token.secret),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(again.body, retry.body);
    assert_eq!(
        app.get(&g("/bans"), &token.secret).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_intent_left_by_a_crash_is_applied_and_recorded_once_at_the_next_start() {
    use guildgate_core::intent::{Action, Intent};
    let app = TestApp::start().await;
    let token = app.mint("bans.read").await;
    let ban = guildgate_core::model::Ban {
        id: guildgate_core::ids::new_ulid(),
        guild_id: GUILD.into(),
        user_id: TARGET.into(),
        reason: Some("raid".into()),
        duration_minutes: None,
        delete_message_seconds: 0,
        issued_by: OWNER.into(),
        issued_at: app.now(),
        expires_at: None,
    };
    // What a crash after Discord accepted, before guildgate recorded, leaves behind.
    let mut tx = app.store.begin().await.unwrap();
    tx.insert_intent(&Intent {
        id: guildgate_core::ids::new_ulid(),
        action: Action::Ban(ban),
        token_id: token.id.clone(),
        token_name: "CI deploy bot".into(),
        reason: Some("raid".into()),
        request_id: "req_01HZZZZZZZZZZZZZZZZZZZZZZZ".into(),
        created_at: app.now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        guildgate_guild_api::reconcile(&app.state, app.now() + 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        guildgate_guild_api::reconcile(&app.state, app.now() + 1)
            .await
            .unwrap(),
        0,
        "settled once"
    );
    let bans = app.get(&g("/bans"), &token.secret).await;
    assert_eq!(bans.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(bans.body["data"][0]["reason"], "raid");
    let rows = app.audit_rows().await;
    assert!(
        rows.iter()
            .any(|r| r.action == "ban_user" && r.method.as_deref() == Some("RECONCILE"))
    );
}

#[tokio::test]
async fn an_unhandled_failure_is_a_bare_internal_error() {
    let app = TestApp::start().await;
    let token = app.mint("bans.read").await;
    guildgate_storage::testing::execute_raw(&app.db_url, "DROP TABLE bans")
        .await
        .unwrap();
    let reply = app.get(&g("/bans"), &token.secret).await;
    let err = reply.expect_error(500, "INTERNAL_ERROR");
    assert_eq!(err["retryable"], true);
    let text = reply.body.to_string();
    assert!(
        !text.contains("bans") && !text.contains("sqlite") && !text.contains("table"),
        "{text}"
    );
}

/// Counts unbans, as Discord would see them.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);

#[async_trait]
impl Enforcer for Counting {
    fn mode(&self) -> &'static str {
        "counting"
    }
    async fn ban(&self, _: &ActionContext, _: &Ban) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn unban(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    async fn mute(&self, _: &ActionContext, _: &Mute) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn lift_mute(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn purge(&self, _: &ActionContext, _: &Purge) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn rcon(
        &self,
        _: &GameServer,
        _: &str,
        _: &RconRun,
    ) -> Result<Option<String>, UpstreamError> {
        Ok(None)
    }
}

#[tokio::test]
async fn timed_bans_are_lifted_upstream_once_their_time_is_up() {
    let counting = Arc::new(Counting::default());
    let app = TestApp::start_with(Options {
        enforcer: counting.clone(),
        ..Options::default()
    })
    .await;
    let token = app.mint("bans.read,bans.write").await;
    app.open_window(&token.id).await;
    let sentinel = format!("BAN USER {TARGET} IN GUILD {GUILD} DURATION 60");
    let reply = app
        .post(
            &g("/bans"),
            &token.secret,
            json!({"user_id": TARGET, "duration_minutes": 60, "_confirmation": sentinel}),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(
        guildgate_guild_api::lift_expired_bans(&app.state).await,
        0,
        "not yet"
    );
    app.clock.advance(60 * 60 * 1000);
    assert_eq!(guildgate_guild_api::lift_expired_bans(&app.state).await, 1);
    assert_eq!(
        guildgate_guild_api::lift_expired_bans(&app.state).await,
        0,
        "once"
    );
    assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        app.get(&g("/bans"), &token.secret).await.body["data"],
        json!([])
    );
}
