//! The eight destructive operations: sentinels from the one template table, checked
//! before the window, normalised but never repaired.

use serde_json::{Value, json};

use crate::common::*;

const ALL: &str = "strikes.read,strikes.write,bans.read,bans.write,mutes.read,mutes.write,messages.purge,servers.read,rcon.run";

struct Case {
    method: reqwest::Method,
    path: String,
    body: Value,
    format: &'static str,
    concrete: String,
    created: u16,
}

async fn cases(app: &TestApp, token: &Minted) -> Vec<Case> {
    use reqwest::Method;
    // A strike and an active ban and mute to remove.
    app.open_window(&token.id).await;
    let strike = app
        .post(
            &g("/strikes"),
            &token.secret,
            strike_body(&strike_sentinel()),
        )
        .await;
    let strike_id = strike.body["strike"]["id"].as_str().unwrap().to_owned();
    let ban = format!("BAN USER {TARGET} IN GUILD {GUILD} PERMANENT");
    assert_eq!(
        app.post(
            &g("/bans"),
            &token.secret,
            json!({"user_id": TARGET, "_confirmation": ban})
        )
        .await
        .status,
        201
    );
    assert_eq!(
        app.post(
            &g("/mutes"),
            &token.secret,
            json!({"user_id": TARGET, "duration_minutes": 60})
        )
        .await
        .status,
        201
    );
    app.send(
        Method::DELETE,
        &format!("/api/api-tokens/{}/reauth-window", token.id),
        Some(&token.secret),
        None,
        &[],
    )
    .await;
    let server = app.server().await;
    let channel = "300000000000000000";
    vec![
        Case {
            method: Method::POST,
            path: g("/strikes"),
            body: json!({"user_id": TARGET, "reason": "spam", "severity": "MAJOR"}),
            format: "ADD STRIKE TO USER {user_id} IN GUILD {guildId} SEVERITY {MINOR|MAJOR}",
            concrete: format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MAJOR"),
            created: 201,
        },
        Case {
            method: Method::DELETE,
            // A lower-cased id names the same strike (ULIDs are read in any case), and the
            // destructive-actions page has scripts echo the id in the body.
            path: g(&format!("/strikes/{}", strike_id.to_lowercase())),
            body: json!({ "strikeId": strike_id }),
            format: "REMOVE STRIKE {strikeId} IN GUILD {guildId}",
            concrete: format!("REMOVE STRIKE {strike_id} IN GUILD {GUILD}"),
            created: 200,
        },
        Case {
            method: Method::POST,
            path: g("/bans"),
            body: json!({"user_id": TARGET, "duration_minutes": 90, "reason": "raid"}),
            format: "BAN USER {user_id} IN GUILD {guildId} {PERMANENT|DURATION N}",
            concrete: format!("BAN USER {TARGET} IN GUILD {GUILD} DURATION 90"),
            created: 201,
        },
        Case {
            method: Method::DELETE,
            path: g(&format!("/bans/{TARGET}")),
            body: json!({ "user_id": TARGET }),
            format: "UNBAN USER {userId} IN GUILD {guildId}",
            concrete: format!("UNBAN USER {TARGET} IN GUILD {GUILD}"),
            created: 200,
        },
        Case {
            method: Method::POST,
            path: g("/mutes"),
            body: json!({"user_id": TARGET, "duration_minutes": 1441}),
            format: "MUTE USER {user_id} IN GUILD {guildId} DURATION {N}",
            concrete: format!("MUTE USER {TARGET} IN GUILD {GUILD} DURATION 1441"),
            created: 201,
        },
        Case {
            method: Method::DELETE,
            path: g(&format!("/mutes/{TARGET}")),
            body: json!({ "userId": TARGET }),
            format: "LIFT MUTE FROM USER {userId} IN GUILD {guildId}",
            concrete: format!("LIFT MUTE FROM USER {TARGET} IN GUILD {GUILD}"),
            created: 200,
        },
        Case {
            method: Method::POST,
            path: g("/mass-purge"),
            body: json!({"channel_id": channel, "count": 50}),
            format: "PURGE {count} MESSAGES IN CHANNEL {channel_id} IN GUILD {guildId}",
            concrete: format!("PURGE 50 MESSAGES IN CHANNEL {channel} IN GUILD {GUILD}"),
            created: 201,
        },
        Case {
            method: Method::POST,
            path: g(&format!("/servers/{server}/rcon/run")),
            body: json!({"command": "kick PlayerName", "server_id": server}),
            format: "RUN RCON ON SERVER {serverId} IN GUILD {guildId}",
            concrete: format!("RUN RCON ON SERVER {server} IN GUILD {GUILD}"),
            created: 200,
        },
    ]
}

fn with_confirmation(body: &Value, confirmation: &str) -> Value {
    let mut body = body.clone();
    body["_confirmation"] = json!(confirmation);
    body
}

#[tokio::test]
async fn every_template_self_corrects_then_needs_the_window_then_succeeds() {
    let app = TestApp::start().await;
    let token = app.mint(ALL).await;
    let cases = cases(&app, &token).await;
    assert_eq!(cases.len(), 8);
    for case in &cases {
        let send = |body: Value| {
            app.send(
                case.method.clone(),
                &case.path,
                Some(&token.secret),
                Some(body),
                &[],
            )
        };
        // No sentinel, and a wrong one: 422 with the template and the concrete value,
        // reported before the missing window.
        for body in [
            case.body.clone(),
            with_confirmation(&case.body, "PLEASE DO IT"),
        ] {
            let reply = send(body).await;
            let err = reply.expect_error(422, "INVALID_CONFIRMATION");
            assert_eq!(
                err["details"]["expected_format"], case.format,
                "{}",
                case.path
            );
            assert_eq!(err["details"]["expected_concrete"], case.concrete.as_str());
        }
        // Misspellings are never repaired.
        let misspelt = case.concrete.replacen("IN GUILD", "IN GUILDS", 1);
        send(with_confirmation(&case.body, &misspelt))
            .await
            .expect_error(422, "INVALID_CONFIRMATION");
        // Case and spacing are forgiven; then the window is what is missing.
        let sloppy = format!("  {}  ", case.concrete.to_lowercase().replace(' ', "   "));
        send(with_confirmation(&case.body, &sloppy))
            .await
            .expect_error(403, "RE_AUTH_REQUIRED");
    }
    app.open_window(&token.id).await;
    for case in &cases {
        // The destructive bucket refills one call a minute.
        app.clock.advance(60_000);
        let reply = app
            .send(
                case.method.clone(),
                &case.path,
                Some(&token.secret),
                Some(with_confirmation(&case.body, &case.concrete)),
                &[],
            )
            .await;
        assert_eq!(
            reply.status, case.created,
            "{} {}: {}",
            case.method, case.path, reply.body
        );
    }
    let bans = app.get(&g("/bans"), &token.secret).await;
    assert_eq!(bans.body["data"], json!([]), "the ban was lifted");
}

#[tokio::test]
async fn mutes_up_to_a_day_are_reversible() {
    let app = TestApp::start().await;
    let token = app.mint("mutes.read,mutes.write").await;
    let day = app
        .post(
            &g("/mutes"),
            &token.secret,
            json!({"user_id": TARGET, "duration_minutes": 1440}),
        )
        .await;
    assert_eq!(day.status, 201, "{}", day.body);
    assert_eq!(day.body["mute"]["expires_at"], "2026-05-13T20:00:00.000Z");
    let longer = app
        .post(
            &g("/mutes"),
            &token.secret,
            json!({"user_id": TARGET, "duration_minutes": 1441}),
        )
        .await;
    longer.expect_error(422, "INVALID_CONFIRMATION");
    let too_long = app
        .post(
            &g("/mutes"),
            &token.secret,
            json!({"user_id": TARGET, "duration_minutes": 40321}),
        )
        .await;
    assert_eq!(
        too_long.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "duration_minutes"
    );
    let listed = app.get(&g("/mutes"), &token.secret).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_malformed_call_never_reaches_the_guard_or_the_action() {
    let app = TestApp::start().await;
    let token = app.mint("strikes.read,strikes.write").await;
    app.open_window(&token.id).await;
    let mut body = strike_body(&strike_sentinel());
    body["user_id"] = json!("not-a-snowflake");
    let reply = app.post(&g("/strikes"), &token.secret, body).await;
    assert_eq!(
        reply.expect_error(400, "VALIDATION_FAILED")["details"]["field"],
        "user_id"
    );
    let mut body = strike_body(&strike_sentinel());
    body["severity"] = json!("CRITICAL");
    app.post(&g("/strikes"), &token.secret, body)
        .await
        .expect_error(400, "VALIDATION_FAILED");
    let mut body = strike_body(&strike_sentinel());
    body["duration_minute"] = json!(5);
    let unknown = app.post(&g("/strikes"), &token.secret, body).await;
    assert!(
        unknown.expect_error(400, "VALIDATION_FAILED")["message"]
            .as_str()
            .unwrap()
            .contains("duration_minute")
    );
    let listed = app.get(&g("/strikes"), &token.secret).await;
    assert_eq!(listed.body["data"], json!([]), "nothing was written");
}

#[tokio::test]
async fn an_id_echoed_in_the_body_must_name_the_record_in_the_path() {
    let app = TestApp::start().await;
    let token = app.mint(ALL).await;
    let path = g(&format!("/bans/{TARGET}"));
    let unban = |body: Value| {
        app.send(
            reqwest::Method::DELETE,
            &path,
            Some(&token.secret),
            Some(body),
            &[],
        )
    };
    let sentinel = format!("UNBAN USER {TARGET} IN GUILD {GUILD}");
    let other = unban(json!({ "user_id": "583912000000000999", "_confirmation": sentinel })).await;
    let error = other.expect_error(400, "VALIDATION_FAILED");
    assert_eq!(error["details"]["field"], "user_id");
    assert_eq!(
        error["message"],
        format!("user_id in the body (583912000000000999) is not the one in the path ({TARGET})")
    );
    let unrelated =
        unban(json!({ "strike_id": "01J00000000000000000000000", "_confirmation": sentinel }))
            .await;
    assert_eq!(
        unrelated.expect_error(400, "VALIDATION_FAILED")["message"],
        "strike_id is not a field of this call"
    );
}
