//! Public status for websites: a signed, read-only, expiring token (no key in the page),
//! the status JSON it opens, and a self-contained HTML card.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::clock::{DAY, to_rfc3339};
use guildgate_core::limits::BucketRequest;
use guildgate_core::shard::signing::SignedTokenError;
use guildgate_http::{Answer, MessageError};
use maud::{DOCTYPE, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::status::live_nets;
use super::{Current, load, ok};
use crate::body::{QueryParams, query_number};
use crate::caller::{Caller, request_context};
use crate::hub::distinct_users;
use crate::state::ShardState;

#[derive(Deserialize)]
pub struct TokenDays {
    days: Option<String>,
}

pub async fn public_token(caller: Caller, QueryParams(query): QueryParams<TokenDays>) -> Answer {
    let days = query_number(
        query.days.as_deref(),
        &guildgate_core::shard::PUBLIC_TOKEN_DAYS,
    )?;
    let expires_at = caller.now() + i64::from(days) * DAY;
    let token = caller
        .state
        .public_tokens
        .issue(caller.guild_id(), expires_at);
    let base = caller.state.settings.public_base_url.trim_end_matches('/');
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "token": token,
        "statusUrl": format!("{base}/api/v1/embed/status?token={token}"),
        "widgetUrl": format!("{base}/api/v1/embed/widget?token={token}"),
        "expiresAt": to_rfc3339(expires_at),
    })))
}

/// A call with a public token: limited per client address, then the token's signature
/// and expiry decide; no key and no scope.
pub struct PublicViewer {
    shard: Current,
    state: ShardState,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl FromRequestParts<ShardState> for PublicViewer {
    type Rejection = MessageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ShardState,
    ) -> Result<Self, MessageError> {
        let ctx = request_context(parts)?;
        ctx.take(
            &state.limiter,
            &[BucketRequest {
                name: "ip",
                key: public_bucket(ctx.client_ip),
                rate: state.settings.public_per_ip,
            }],
        )
        .await?;
        let Query(query) = Query::<TokenQuery>::try_from_uri(&parts.uri)
            .map_err(|_| MessageError::bad_request("token is required"))?;
        let token = query.token.ok_or_else(|| {
            MessageError::unauthorized("token is required (from /api/v1/public-token)")
        })?;
        let guild = state
            .public_tokens
            .verify(&token, state.clock.now())
            .map_err(|why| match why {
                SignedTokenError::Expired => {
                    MessageError::unauthorized("Public token has expired; create a new one")
                }
                _ => MessageError::unauthorized("Invalid public token"),
            })?;
        ctx.record().guild_id = Some(guild.clone());
        Ok(PublicViewer {
            shard: load(state, &guild).await?,
            state: state.clone(),
        })
    }
}

/// The per-address budget every keyless shard endpoint (embeds, the client WebSocket)
/// draws from.
pub fn public_bucket(ip: std::net::IpAddr) -> String {
    format!("shard-public:{ip}")
}

/// What a public page may show: no user ids, no roles, no keys.
fn public_body(viewer: &PublicViewer) -> Value {
    let operators = viewer.state.hub.operators(&viewer.shard.row.guild_id);
    let nets: Vec<Value> = live_nets(&viewer.shard, &operators)
        .into_iter()
        .map(|n| json!({ "id": n["id"], "name": n["name"], "occupancy": n["occupancy"], "transmitting": !n["transmitting"].as_array().is_none_or(|t| t.is_empty()) }))
        .collect();
    let public = &viewer.shard.config.public_net;
    json!({
        "ok": true,
        "guildId": viewer.shard.row.guild_id,
        "guildName": viewer.shard.row.guild_name,
        "operationOpen": viewer.shard.config.operation_open,
        "connected": distinct_users(operators.iter()),
        "publicNet": { "visible": public.visible, "name": public.name },
        "nets": nets,
        "updatedAt": to_rfc3339(viewer.state.clock.now()),
    })
}

pub async fn status(viewer: PublicViewer) -> Answer {
    let mut response = ok(&public_body(&viewer));
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

const WIDGET_CSS: &str = "body{margin:0;font:14px/1.4 system-ui,sans-serif;background:#0f172a;color:#e2e8f0}\
.card{padding:14px 16px;border-radius:10px;background:#1e293b;max-width:360px}\
h1{font-size:16px;margin:0 0 4px}.state{font-weight:600}.open{color:#4ade80}.closed{color:#f87171}\
ul{list-style:none;padding:0;margin:8px 0 0}li{display:flex;justify-content:space-between;padding:2px 0}\
.talk{color:#facc15}small{color:#94a3b8}";

/// A small HTML card with no external assets, meant for an iframe on an org's site.
pub async fn widget(viewer: PublicViewer) -> Response {
    let body = public_body(&viewer);
    let open = body["operationOpen"] == true;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (viewer.shard.row.guild_name) " status" }
                style { (WIDGET_CSS) }
            }
            body {
                div.card {
                    h1 { (viewer.shard.row.guild_name) }
                    div {
                        "Operation "
                        span.state.open[open].closed[!open] { @if open { "open" } @else { "closed" } }
                        " · " (body["connected"]) " connected"
                    }
                    ul {
                        @for net in body["nets"].as_array().into_iter().flatten() {
                            li {
                                span { (net["name"].as_str().unwrap_or("")) @if net["transmitting"] == true { " " span.talk { "● talking" } } }
                                span { (net["occupancy"]) }
                            }
                        }
                    }
                    small { "Updated " (body["updatedAt"].as_str().unwrap_or("")) }
                }
            }
        }
    };
    let mut response = page.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
