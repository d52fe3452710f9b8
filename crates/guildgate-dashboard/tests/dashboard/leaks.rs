//! Leaked-secret reports: real live secrets are revoked and audited, and the reporter's
//! answer is the same whether anything was real.

use std::time::Duration;

use guildgate_core::shard::SHARD_KEY;
use guildgate_core::tasks::{ScopeSet, TASKS_KEY};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_owner::{Actor, Owner, mint_shard_key, mint_tasks_key};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn report(dash: &Dash, strings: &[&str]) -> Page {
    let body: Vec<_> = strings
        .iter()
        .map(|s| json!({"token": s, "type": "guildgate_token", "url": "https://gist.example/leak", "source": "github"}))
        .collect();
    dash.browser()
        .post_json("/api/security/leaked-tokens", json!(body))
        .await
}

#[tokio::test]
async fn a_reported_live_secret_is_revoked_and_the_answer_reveals_nothing() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let (token_id, secret) = browser.create_token("leaky", &["strikes.read"], &[]).await;
    let mut tx = dash.store.begin().await.unwrap();
    let user = tx
        .insert_task_user("owner@example.com", "Owner", dash.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let hasher = dash.key.secret_hasher();
    let owner = Owner {
        store: dash.store.as_ref(),
        hasher: &hasher,
    };
    let (key, arca) = mint_tasks_key(
        owner,
        &Actor::cli(dash.now()),
        user,
        None,
        "ci",
        ScopeSet::parse_list("tasks:read").unwrap(),
        None,
    )
    .await
    .unwrap();
    let (shard_key, scok) = mint_shard_key(
        owner,
        &Actor::cli(dash.now()),
        GUILD,
        "ops bot",
        guildgate_core::shard::ScopeSet::parse_list("read:status").unwrap(),
    )
    .await
    .unwrap();

    // Strings that look right but are not ours: one with a valid checksum nobody holds,
    // one with a broken checksum, one that is not a token at all.
    let unknown = GUILD_TOKEN.generate();
    let mut broken = secret.clone();
    broken.replace_range(10..11, if &secret[10..11] == "A" { "B" } else { "A" });
    let fakes = report(
        &dash,
        &[
            unknown.expose(),
            &broken,
            "arkpat_nope",
            TASKS_KEY.generate().expose(),
            SHARD_KEY.generate().expose(),
        ],
    )
    .await;
    let real = report(
        &dash,
        &[unknown.expose(), &secret, arca.expose(), scok.expose()],
    )
    .await;
    assert_eq!(fakes.status, 202);
    assert_eq!(real.status, 202);
    assert_eq!(fakes.json(), json!({"received": 5}));
    assert_eq!(real.json(), json!({"received": 4}));

    let reads = format!("/api/public/v1/guilds/{GUILD}/strikes");
    let mut revoked = false;
    for _ in 0..100 {
        if dash
            .store
            .tasks_key(&key.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
            && dash
                .store
                .shard_key(&shard_key.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
            && dash.api(Method::GET, &reads, &secret, None).await.status == 401
        {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        revoked,
        "the token and the keys are revoked shortly after the report"
    );
    let refused = dash.api(Method::GET, &reads, &secret, None).await;
    assert_eq!(refused.json()["error"]["code"], "TOKEN_REVOKED");
    let token = dash.store.token(&token_id).await.unwrap().unwrap();
    assert_eq!(token.revoked_reason.as_deref(), Some("reported as leaked"));
    let audit = browser
        .settings(&format!("tab=audit&token={token_id}"))
        .await;
    assert!(
        audit
            .data("action")
            .iter()
            .any(|a| a == "token.leak_revoked")
    );
    assert!(
        audit
            .body
            .contains("leak report from github: https://gist.example/leak")
    );
}

#[tokio::test]
async fn reports_are_checked_and_limited_per_ip() {
    let dash = Dash::start().await;
    let bad = dash
        .browser()
        .post_json("/api/security/leaked-tokens", json!({"token": "x"}))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], "VALIDATION_FAILED");
    let too_many: Vec<&str> = vec!["arkpat_x"; 101];
    let big = report(&dash, &too_many).await;
    assert_eq!(big.status, 400);
    for _ in 0..8 {
        assert_eq!(report(&dash, &["arkpat_x"]).await.status, 202);
    }
    let limited = report(&dash, &["arkpat_x"]).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"]["code"], "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
}
