//! The Discord client and the `Upstream` enforcer against a loopback Discord stand-in.

use std::time::{Duration, Instant};

use guildgate_core::clock::{DAY, HOUR, MINUTE, to_rfc3339};
use guildgate_core::model::{Ban, Mute, Purge};
use guildgate_guild_api::{ActionContext, Enforcer};
use guildgate_upstream::discord::{PurgeReport, snowflake_at};
use guildgate_upstream::discord_stand_in::{DiscordStandIn, FailKind, RecordedRequest};
use guildgate_upstream::{
    BotToken, DiscordClient, DiscordConfig, DiscordError, DiscordLimits, Upstream,
};
use serde_json::json;

const TOKEN: &str = "MTA5.stand-in.bot-token-secret";
const GUILD: &str = "100000000000000000";
const USER: &str = "583912000000000000";
const CHANNEL: &str = "200000000000000000";
const REASON: &str = "spam (guildgate token \"CI deploy bot\")";

fn quick() -> DiscordLimits {
    DiscordLimits {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_millis(400),
        max_retries: 3,
        max_wait: Duration::from_secs(2),
    }
}

fn ctx() -> ActionContext {
    ActionContext {
        token_name: "CI deploy bot".into(),
        reason: Some("spam".into()),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn client(discord: &DiscordStandIn, token: &str) -> DiscordClient {
    let config = DiscordConfig {
        base_url: discord.base_url(),
        bot_token: BotToken::new(token),
    };
    DiscordClient::with_limits(config, quick()).unwrap()
}

async fn started() -> (DiscordStandIn, Upstream) {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let upstream = Upstream {
        discord: Some(client(&discord, TOKEN)),
        ..Upstream::default()
    };
    (discord, upstream)
}

fn ban() -> Ban {
    Ban {
        id: "01BAN".into(),
        guild_id: GUILD.into(),
        user_id: USER.into(),
        reason: Some("spam".into()),
        duration_minutes: None,
        delete_message_seconds: 3600,
        issued_by: "583912000000000001".into(),
        issued_at: now(),
        expires_at: None,
    }
}

fn mute(expires_at: i64) -> Mute {
    Mute {
        id: "01MUTE".into(),
        guild_id: GUILD.into(),
        user_id: USER.into(),
        reason: Some("spam".into()),
        duration_minutes: 60,
        issued_by: "583912000000000001".into(),
        issued_at: now(),
        expires_at,
    }
}

fn purge(count: u32) -> Purge {
    Purge {
        id: "01PURGE".into(),
        guild_id: GUILD.into(),
        channel_id: CHANNEL.into(),
        count,
        reason: Some("spam".into()),
        issued_by: "583912000000000001".into(),
        issued_at: now(),
        status: "discord".into(),
    }
}

fn assert_request(
    seen: &RecordedRequest,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    reason: bool,
) {
    assert_eq!(seen.method, method, "{seen:?}");
    assert_eq!(seen.path, path, "{seen:?}");
    assert_eq!(seen.body, body, "{seen:?}");
    assert!(seen.authorized, "{seen:?}");
    let agent = seen.user_agent.as_deref().unwrap_or("");
    assert!(
        agent.starts_with("DiscordBot (https://github.com/guildgate, "),
        "{agent}"
    );
    if reason {
        assert_eq!(seen.audit_reason.as_deref(), Some(REASON), "{seen:?}");
        let raw = seen.raw_audit_reason.as_deref().unwrap();
        assert!(
            raw.is_ascii() && !raw.contains(' ') && !raw.contains('"'),
            "{raw}"
        );
    } else {
        assert_eq!(seen.audit_reason, None, "{seen:?}");
    }
}

#[tokio::test]
async fn without_discord_actions_are_record_only() {
    let upstream = Upstream::new(None).unwrap();
    assert_eq!(upstream.mode(), "record-only");
    assert_eq!(Upstream::default().mode(), "record-only");
    upstream.ban(&ctx(), &ban()).await.unwrap();
    upstream.purge(&ctx(), &purge(10)).await.unwrap();

    let configured = Upstream::new(Some(DiscordConfig::new(BotToken::new(TOKEN)))).unwrap();
    assert_eq!(configured.mode(), "discord");
    let empty = Upstream::new(Some(DiscordConfig::new(BotToken::new(""))));
    assert!(empty.is_err());
}

#[tokio::test]
async fn ban_unban_mute_and_lift_reach_discord() {
    let (discord, upstream) = started().await;
    assert_eq!(upstream.mode(), "discord");

    upstream.ban(&ctx(), &ban()).await.unwrap();
    assert!(discord.is_banned(GUILD, USER));
    upstream.unban(&ctx(), GUILD, USER).await.unwrap();
    assert!(!discord.is_banned(GUILD, USER));
    // Discord no longer knows the ban (10026): the unban is done all the same.
    upstream.unban(&ctx(), GUILD, USER).await.unwrap();

    let until = now() + HOUR;
    upstream.mute(&ctx(), &mute(until)).await.unwrap();
    assert_eq!(
        discord.timeout_of(GUILD, USER),
        Some(Some(to_rfc3339(until)))
    );
    upstream.lift_mute(&ctx(), GUILD, USER).await.unwrap();
    assert_eq!(discord.timeout_of(GUILD, USER), Some(None));

    let seen = discord.requests();
    assert_eq!(seen.len(), 5);
    let bans = format!("/guilds/{GUILD}/bans/{USER}");
    let member = format!("/guilds/{GUILD}/members/{USER}");
    assert_request(
        &seen[0],
        "PUT",
        &bans,
        Some(json!({ "delete_message_seconds": 3600 })),
        true,
    );
    assert_request(&seen[1], "DELETE", &bans, None, true);
    assert_request(&seen[2], "DELETE", &bans, None, true);
    assert_request(
        &seen[3],
        "PATCH",
        &member,
        Some(json!({ "communication_disabled_until": to_rfc3339(until) })),
        true,
    );
    assert_request(
        &seen[4],
        "PATCH",
        &member,
        Some(json!({ "communication_disabled_until": null })),
        true,
    );
}

#[tokio::test]
async fn purge_pages_skips_what_is_too_old_and_deletes_in_batches() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let now = now();
    let old: Vec<u64> = (0..30).map(|i| snowflake_at(now - 15 * DAY, i)).collect();
    let recent: Vec<u64> = (0..220)
        .map(|i| snowflake_at(now - 2 * HOUR + i as i64 * 1000, i))
        .collect();
    discord.seed_messages(GUILD, CHANNEL, old.iter().chain(&recent).copied());

    let report = client(&discord, TOKEN)
        .purge(&ctx(), GUILD, CHANNEL, 300)
        .await
        .unwrap();
    assert_eq!(
        report,
        PurgeReport {
            deleted: 220,
            skipped_too_old: 30
        }
    );
    assert_eq!(
        discord.messages(CHANNEL),
        old,
        "only the old messages are left"
    );

    let seen = discord.requests();
    let shape: Vec<(&str, &str, Option<&str>)> = seen
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_deref()))
        .collect();
    let messages = format!("/channels/{CHANNEL}/messages");
    let bulk = format!("/channels/{CHANNEL}/messages/bulk-delete");
    let page2 = format!("limit=100&before={}", recent[120]);
    let page3 = format!("limit=100&before={}", recent[20]);
    assert_eq!(
        shape,
        vec![
            ("GET", format!("/channels/{CHANNEL}").as_str(), None),
            ("GET", messages.as_str(), Some("limit=100")),
            ("GET", messages.as_str(), Some(page2.as_str())),
            ("GET", messages.as_str(), Some(page3.as_str())),
            ("POST", bulk.as_str(), None),
            ("POST", bulk.as_str(), None),
            ("POST", bulk.as_str(), None),
        ]
    );
    for read in &seen[..4] {
        assert_eq!(read.audit_reason, None, "reads carry no reason");
    }
    let batches: Vec<usize> = seen[4..]
        .iter()
        .map(|r| {
            assert_eq!(r.audit_reason.as_deref(), Some(REASON));
            r.body.as_ref().unwrap()["messages"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(batches, vec![100, 100, 20]);
    assert_eq!(
        seen[4].body.as_ref().unwrap()["messages"][0],
        json!(recent[219].to_string()),
        "newest first"
    );
}

#[tokio::test]
async fn purge_deletes_a_single_leftover_on_its_own_and_respects_count() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let now = now();
    let ids: Vec<u64> = (0..210).map(|i| snowflake_at(now - HOUR, i)).collect();
    discord.seed_messages(GUILD, CHANNEL, ids.iter().copied());
    let client = client(&discord, TOKEN);

    let report = client.purge(&ctx(), GUILD, CHANNEL, 5).await.unwrap();
    assert_eq!(report.deleted, 5);
    assert_eq!(discord.requests()[1].query.as_deref(), Some("limit=5"));
    assert_eq!(discord.messages(CHANNEL), ids[..205].to_vec());

    let report = client.purge(&ctx(), GUILD, CHANNEL, 201).await.unwrap();
    assert_eq!(report.deleted, 201);
    assert_eq!(discord.messages(CHANNEL), ids[..4].to_vec());
    let last = discord.requests().pop().unwrap();
    assert_request(
        &last,
        "DELETE",
        &format!("/channels/{CHANNEL}/messages/{}", ids[4]),
        None,
        true,
    );

    // The whole channel is shorter than the count: it ends, and everything goes.
    let report = client.purge(&ctx(), GUILD, CHANNEL, 1000).await.unwrap();
    assert_eq!(report.deleted, 4);
    assert!(discord.messages(CHANNEL).is_empty());
}

#[tokio::test]
async fn a_channel_of_another_guild_is_not_purged() {
    let (discord, upstream) = started().await;
    let other_guild = "100000000000000009";
    discord.seed_messages(
        other_guild,
        CHANNEL,
        [snowflake_at(now() - MINUTE, 1), snowflake_at(now(), 2)],
    );
    let err = upstream.purge(&ctx(), &purge(10)).await.unwrap_err();
    assert!(err.0.contains("is not a channel of guild"), "{err}");
    assert_eq!(discord.requests().len(), 1, "nothing was listed or deleted");
    assert_eq!(discord.messages(CHANNEL).len(), 2);
}

#[tokio::test]
async fn a_429_is_waited_out_and_retried() {
    let (discord, upstream) = started().await;
    discord.fail_next(1, FailKind::RateLimited { retry_after: 0.3 });
    let started = Instant::now();
    upstream.ban(&ctx(), &ban()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(discord.requests().len(), 2, "one retry");
    assert!(discord.is_banned(GUILD, USER));
}

#[tokio::test]
async fn rate_limits_longer_than_the_limits_fail_fast() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let client = client(&discord, TOKEN);

    discord.fail_next(1, FailKind::RateLimited { retry_after: 30.0 });
    let started = Instant::now();
    let err = client.ban(&ctx(), GUILD, USER, 0).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, DiscordError::RateLimited { .. }), "{err:?}");
    assert!(err.retryable());
    assert!(err.to_string().contains("rate-limited"), "{err}");
    assert_eq!(discord.requests().len(), 1);

    // The bucket stays spent for those 30 s: the next call fails without a request.
    let err = client.ban(&ctx(), GUILD, USER, 0).await.unwrap_err();
    assert!(matches!(err, DiscordError::RateLimited { .. }), "{err:?}");
    assert_eq!(discord.requests().len(), 1);

    discord.fail_next(10, FailKind::RateLimited { retry_after: 0.05 });
    let err = client
        .ban(&ctx(), "100000000000000009", USER, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, DiscordError::RateLimited { .. }), "{err:?}");
    assert_eq!(
        discord.requests().len(),
        1 + 4,
        "the first try and three retries"
    );
}

#[tokio::test]
async fn an_exhausted_bucket_is_waited_for_per_guild() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let client = client(&discord, TOKEN);
    discord.fail_next(1, FailKind::Exhausted { reset_after: 0.5 });
    client.ban(&ctx(), GUILD, USER, 0).await.unwrap();

    let started = Instant::now();
    client
        .ban(&ctx(), "100000000000000009", USER, 0)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "another guild's bucket is not spent"
    );
    client.ban(&ctx(), GUILD, USER, 0).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(450));
}

#[tokio::test]
async fn a_server_error_is_an_upstream_error() {
    let (discord, upstream) = started().await;
    discord.fail_next(1, FailKind::ServerError);
    let err = upstream.ban(&ctx(), &ban()).await.unwrap_err();
    assert!(err.0.starts_with("Discord ban of user"), "{err}");
    assert!(
        err.0.contains("500") && err.0.contains("try again later"),
        "{err}"
    );
    assert!(!discord.is_banned(GUILD, USER));
    assert_eq!(discord.requests().len(), 1, "a 5xx is not retried blindly");
}

#[tokio::test]
async fn a_hanging_discord_times_out_in_bounded_time() {
    let (discord, upstream) = started().await;
    discord.fail_next(1, FailKind::Hang);
    let started = Instant::now();
    let err = upstream
        .mute(&ctx(), &mute(now() + HOUR))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.0.contains("did not answer within 0.4 s"), "{err}");
}

#[tokio::test]
async fn an_unreachable_discord_is_named() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = DiscordConfig {
        base_url: format!("http://{closed}/api/v10"),
        bot_token: BotToken::new(TOKEN),
    };
    let client = DiscordClient::with_limits(config, quick()).unwrap();
    let err = client.unban(&ctx(), GUILD, USER).await.unwrap_err();
    assert!(matches!(err, DiscordError::Unreachable(_)), "{err:?}");
    assert!(err.retryable());
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_bad_token_is_named_and_never_shown() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let wrong = "MTA5.wrong.token-value";
    let upstream = Upstream {
        discord: Some(client(&discord, wrong)),
        ..Upstream::default()
    };
    let err = upstream.ban(&ctx(), &ban()).await.unwrap_err();
    assert!(err.0.contains("bot token is invalid"), "{err}");
    assert!(!err.0.contains(wrong) && !err.0.contains(TOKEN), "{err}");
    assert!(!discord.requests()[0].authorized);
    assert!(!format!("{:?}", upstream.discord).contains("wrong"));
}

#[tokio::test]
async fn a_missing_permission_is_named() {
    let (discord, upstream) = started().await;
    discord.fail_next(1, FailKind::Forbidden);
    let err = upstream.ban(&ctx(), &ban()).await.unwrap_err();
    assert!(err.0.contains("BAN_MEMBERS"), "{err}");

    discord.fail_next(1, FailKind::Forbidden);
    let err = upstream
        .mute(&ctx(), &mute(now() + HOUR))
        .await
        .unwrap_err();
    assert!(err.0.contains("MODERATE_MEMBERS"), "{err}");

    let ids = (0..3).map(|i| snowflake_at(now() - MINUTE, i));
    discord.seed_messages(GUILD, CHANNEL, ids);
    discord.fail_next(1, FailKind::Forbidden);
    let err = upstream.purge(&ctx(), &purge(10)).await.unwrap_err();
    assert!(err.0.contains("VIEW_CHANNEL"), "{err}");
    discord.fail_next_on("/messages", 1, FailKind::Forbidden);
    let err = upstream.purge(&ctx(), &purge(10)).await.unwrap_err();
    assert!(err.0.contains("READ_MESSAGE_HISTORY"), "{err}");

    discord.fail_next_on("POST /channels", 1, FailKind::Forbidden);
    let err = upstream.purge(&ctx(), &purge(10)).await.unwrap_err();
    assert!(err.0.contains("MANAGE_MESSAGES"), "{err}");
    assert!(err.0.contains("after deleting 0 messages"), "{err}");
}

#[tokio::test]
async fn the_stand_in_answers_as_discord_does() {
    let (_, discord) = DiscordStandIn::start(TOKEN).await;
    let old = snowflake_at(now() - 15 * DAY, 1);
    let young = snowflake_at(now() - HOUR, 2);
    discord.seed_messages(GUILD, CHANNEL, [old, young]);
    let http = reqwest::Client::new();
    let bulk = format!(
        "{}/channels/{CHANNEL}/messages/bulk-delete",
        discord.base_url()
    );

    let refused = http
        .post(&bulk)
        .header("Authorization", format!("Bot {TOKEN}"))
        .json(&json!({ "messages": [old.to_string(), young.to_string()] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 50034);
    assert_eq!(discord.messages(CHANNEL).len(), 2, "nothing deleted");

    let anonymous = http.post(&bulk).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body, json!({ "message": "401: Unauthorized", "code": 0 }));

    let answered = http
        .get(format!(
            "{}/channels/{CHANNEL}/messages?limit=1",
            discord.base_url()
        ))
        .header("Authorization", format!("Bot {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered.headers().contains_key("x-ratelimit-bucket"));
    assert_eq!(answered.headers()["x-ratelimit-remaining"], "4");
    let page: serde_json::Value = answered.json().await.unwrap();
    assert_eq!(page[0]["id"], json!(young.to_string()), "newest first");
    assert_eq!(page.as_array().unwrap().len(), 1);
}
