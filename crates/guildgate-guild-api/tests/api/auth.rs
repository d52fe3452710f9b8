//! Tokens: shape, lifecycle, guild scope, capabilities, addresses, browsers.

use guildgate_core::net::TrustedProxies;
use guildgate_storage::RevokeScope;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn malformed_and_unknown_tokens_are_unauthorized_with_a_reason() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let path = g("/strikes");
    let missing = app.send(Method::GET, &path, None, None, &[]).await;
    assert!(
        missing.expect_error(401, "UNAUTHORIZED")["message"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );

    let mut flipped = token.secret.clone().into_bytes();
    flipped[20] = if flipped[20] == b'A' { b'B' } else { b'A' };
    let cases = [
        (format!("\"{}\"", token.secret), "quotes"),
        (token.secret.replace("arkpat_", "arkpak_"), "prefix"),
        (token.secret[..54].to_owned(), "length"),
        (String::from_utf8(flipped).unwrap(), "checksum"),
    ];
    for (value, word) in cases {
        let reply = app.get(&path, &value).await;
        let message = reply.expect_error(401, "UNAUTHORIZED")["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(word), "{word}: {message}");
    }
    // A well-formed token nobody minted.
    let stranger = guildgate_core::token::GUILD_TOKEN.generate();
    app.get(&path, stranger.expose())
        .await
        .expect_error(401, "UNAUTHORIZED");
    // Basic auth is not a Bearer.
    let basic = app
        .send(
            Method::GET,
            &path,
            None,
            None,
            &[("authorization", "Basic Zm9vOmJhcg==")],
        )
        .await;
    basic.expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn expired_and_revoked_tokens_say_so() {
    let app = TestApp::start().await;
    let expiry = app.now() + 60_000;
    let expiring = app
        .mint_with(GUILD, OWNER, "strikes.read", |t| {
            t.expires_at = Some(expiry)
        })
        .await;
    assert_eq!(app.get(&g("/strikes"), &expiring.secret).await.status, 200);
    app.clock.advance(60_000);
    let expired = app.get(&g("/strikes"), &expiring.secret).await;
    assert_eq!(
        expired.expect_error(401, "TOKEN_EXPIRED")["retryable"],
        false
    );

    let token = app.mint("strikes.read").await;
    app.revoke(RevokeScope::Token(&token.id)).await;
    let revoked = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(
        revoked.expect_error(401, "TOKEN_REVOKED")["message"],
        "This token has been revoked."
    );
}

#[tokio::test]
async fn leaving_the_guild_or_pro_revokes_tokens() {
    let app = TestApp::start().await;
    app.set_member(GUILD, MOD, "strikes.read").await;
    let moderator = app.mint_with(GUILD, MOD, "strikes.read", |_| {}).await;
    let owner = app.mint("strikes.read").await;
    assert_eq!(app.get(&g("/strikes"), &moderator.secret).await.status, 200);

    // What `guildgate admin member remove` does, in one transaction.
    let mut tx = app.store.begin().await.unwrap();
    tx.remove_member(GUILD, MOD).await.unwrap();
    tx.revoke_tokens(
        RevokeScope::User {
            guild_id: GUILD,
            user_id: MOD,
        },
        app.now(),
        "left",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.get(&g("/strikes"), &moderator.secret)
        .await
        .expect_error(401, "TOKEN_REVOKED");
    assert_eq!(app.get(&g("/strikes"), &owner.secret).await.status, 200);

    // What `guildgate admin guild set-tier --tier free` does.
    let mut tx = app.store.begin().await.unwrap();
    tx.set_guild_tier(GUILD, guildgate_core::model::GuildTier::Free)
        .await
        .unwrap();
    tx.revoke_tokens(RevokeScope::Guild(GUILD), app.now(), "left pro")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.get(&g("/strikes"), &owner.secret)
        .await
        .expect_error(401, "TOKEN_REVOKED");
}

#[tokio::test]
async fn a_token_acts_on_its_own_guild_only() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let other = format!("/api/public/v1/guilds/{OTHER_GUILD}/strikes");
    app.get(&other, &token.secret)
        .await
        .expect_error(403, "FORBIDDEN");
    let bad = app
        .get("/api/public/v1/guilds/12345/strikes", &token.secret)
        .await;
    assert_eq!(
        bad.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "guild_id"
    );
}

#[tokio::test]
async fn capabilities_are_the_snapshot_intersected_with_the_issuer_now() {
    let app = TestApp::start().await;
    app.set_member(GUILD, MOD, "strikes.read,bans.read").await;
    let token = app
        .mint_with(GUILD, MOD, "strikes.read,bans.read", |_| {})
        .await;
    let denied = app.get(&g("/tickets"), &token.secret).await;
    let err = denied.expect_error(403, "CAPABILITY_DENIED");
    assert_eq!(err["details"]["missing"], json!(["tickets.read"]));
    assert_eq!(err["message"], "Missing capability: tickets.read.");

    // Losing a capability removes it from the token at once...
    app.set_member(GUILD, MOD, "strikes.read").await;
    app.get(&g("/bans"), &token.secret)
        .await
        .expect_error(403, "CAPABILITY_DENIED");
    assert_eq!(app.get(&g("/strikes"), &token.secret).await.status, 200);
    // ...and gaining one never adds it.
    app.set_member(GUILD, MOD, "strikes.read,bans.read,tickets.read")
        .await;
    app.get(&g("/tickets"), &token.secret)
        .await
        .expect_error(403, "CAPABILITY_DENIED");
    assert_eq!(app.get(&g("/bans"), &token.secret).await.status, 200);
}

#[tokio::test]
async fn cidr_allowlists_use_the_client_address_behind_trusted_proxies_only() {
    let app = TestApp::start_with(Options {
        trusted_proxies: TrustedProxies(vec!["127.0.0.1/32".parse().unwrap()]),
        ..Options::default()
    })
    .await;
    let fenced = app
        .mint_with(GUILD, OWNER, "strikes.read", |t| {
            t.allowed_cidrs = vec!["192.0.2.0/24".parse().unwrap()]
        })
        .await;
    let direct = app.get(&g("/strikes"), &fenced.secret).await;
    assert!(
        direct.expect_error(403, "TOKEN_IP_NOT_ALLOWED")["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
    let via_proxy = app
        .send(
            Method::GET,
            &g("/strikes"),
            Some(&fenced.secret),
            None,
            &[("x-forwarded-for", "198.51.100.1, 192.0.2.10")],
        )
        .await;
    assert_eq!(via_proxy.status, 200);

    // Without the peer being trusted, the header is ignored.
    let untrusted = TestApp::start().await;
    let fenced = untrusted
        .mint_with(GUILD, OWNER, "strikes.read", |t| {
            t.allowed_cidrs = vec!["192.0.2.0/24".parse().unwrap()]
        })
        .await;
    let spoofed = untrusted
        .send(
            Method::GET,
            &g("/strikes"),
            Some(&fenced.secret),
            None,
            &[("x-forwarded-for", "192.0.2.10")],
        )
        .await;
    spoofed.expect_error(403, "TOKEN_IP_NOT_ALLOWED");
}

#[tokio::test]
async fn browsers_are_refused() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    let with_origin = app
        .send(
            Method::GET,
            &g("/strikes"),
            Some(&token.secret),
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    with_origin.expect_error(403, "CORS_DENIED");
    assert!(with_origin.header("access-control-allow-origin").is_none());
    let preflight = app
        .send(
            Method::OPTIONS,
            &g("/strikes"),
            None,
            None,
            &[("access-control-request-method", "POST")],
        )
        .await;
    preflight.expect_error(403, "CORS_DENIED");
}

#[tokio::test]
async fn no_plaintext_secret_reaches_the_database() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read").await;
    app.get(&g("/strikes"), &token.secret).await;
    app.server().await;
    app.audit_rows().await;
    app.store.close().await;
    let haystack = guildgate_storage::testing::database_contents(&app.db_url)
        .await
        .unwrap();
    assert!(
        !haystack.contains(&token.secret[7..]),
        "token secret found in the database"
    );
    assert!(
        !haystack.contains("hunter2-rcon"),
        "RCON password found in the database"
    );
}
