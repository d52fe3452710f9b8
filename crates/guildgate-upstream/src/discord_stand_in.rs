//! A Discord HTTP API v10 stand-in for tests, on loopback. It answers the routes the client
//! uses with Discord's status codes, JSON error bodies (`{"message", "code"}`) and
//! rate-limit headers; checks `Authorization: Bot <token>`; records every request; keeps
//! bans, timeouts and channels' messages; refuses to bulk-delete messages older than 14
//! days (50034) as Discord does; and can be told to misbehave for the next N requests.
//!
//! ```text
//! let (_addr, discord) = DiscordStandIn::start("bot-token").await;
//! discord.seed_messages("100", "200", ids);
//! let config = DiscordConfig { base_url: discord.base_url(), bot_token: BotToken::new("bot-token") };
//! ```

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use guildgate_core::clock::Millis;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::discord::{BULK_DELETE_MAX_AGE, snowflake_time};

/// The path prefix the stand-in serves under, as Discord does.
pub const PREFIX: &str = "/api/v10";

/// How to misbehave, for one request each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FailKind {
    /// `500 Internal Server Error`.
    ServerError,
    /// `429` with this `retry_after` (seconds) in the body and `Retry-After` rounded up.
    RateLimited { retry_after: f64 },
    /// Never answer.
    Hang,
    /// Answer normally, with `X-RateLimit-Remaining: 0` and this `X-RateLimit-Reset-After`.
    Exhausted { reset_after: f64 },
    /// `403 Missing Permissions` (code 50013).
    Forbidden,
}

/// One request as the stand-in saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the `/api/v10` prefix and the query.
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, if any (a body that is not JSON is kept as a string).
    pub body: Option<Value>,
    /// `X-Audit-Log-Reason`, percent-decoded.
    pub audit_reason: Option<String>,
    /// `X-Audit-Log-Reason` as sent.
    pub raw_audit_reason: Option<String>,
    pub user_agent: Option<String>,
    /// Whether `Authorization` carried the right bot token.
    pub authorized: bool,
}

struct Channel {
    guild_id: String,
    messages: BTreeSet<u64>,
}

struct Inner {
    token: String,
    requests: Vec<RecordedRequest>,
    /// Each with the part of `METHOD /path` it applies to (`None`: any).
    failures: VecDeque<(Option<String>, FailKind)>,
    channels: HashMap<String, Channel>,
    bans: HashSet<(String, String)>,
    timeouts: HashMap<(String, String), Option<String>>,
}

/// A running stand-in; clones share it.
#[derive(Clone)]
pub struct DiscordStandIn {
    address: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl DiscordStandIn {
    /// Starts a stand-in that accepts `Authorization: Bot <bot_token>`.
    pub async fn start(bot_token: &str) -> (SocketAddr, DiscordStandIn) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let inner = Arc::new(Mutex::new(Inner {
            token: bot_token.to_owned(),
            requests: Vec::new(),
            failures: VecDeque::new(),
            channels: HashMap::new(),
            bans: HashSet::new(),
            timeouts: HashMap::new(),
        }));
        let router = Router::new().fallback(answer).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        (address, DiscordStandIn { address, inner })
    }

    /// `http://127.0.0.1:<port>/api/v10`, for `DiscordConfig::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}{PREFIX}", self.address)
    }

    /// Adds messages to a channel of a guild (creating the channel).
    pub fn seed_messages(
        &self,
        guild_id: &str,
        channel_id: &str,
        ids: impl IntoIterator<Item = u64>,
    ) {
        let mut inner = self.lock();
        let channel = inner
            .channels
            .entry(channel_id.to_owned())
            .or_insert_with(|| Channel {
                guild_id: guild_id.to_owned(),
                messages: BTreeSet::new(),
            });
        channel.messages.extend(ids);
    }

    /// The messages still in a channel, oldest first.
    pub fn messages(&self, channel_id: &str) -> Vec<u64> {
        self.lock()
            .channels
            .get(channel_id)
            .map(|c| c.messages.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn is_banned(&self, guild_id: &str, user_id: &str) -> bool {
        self.lock()
            .bans
            .contains(&(guild_id.to_owned(), user_id.to_owned()))
    }

    /// The member's `communication_disabled_until` as last set (`Some(None)` when lifted).
    pub fn timeout_of(&self, guild_id: &str, user_id: &str) -> Option<Option<String>> {
        self.lock()
            .timeouts
            .get(&(guild_id.to_owned(), user_id.to_owned()))
            .cloned()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The next `n` requests (after the token check) misbehave as `kind`.
    pub fn fail_next(&self, n: usize, kind: FailKind) {
        self.lock()
            .failures
            .extend(std::iter::repeat_n((None, kind), n));
    }

    /// The next `n` requests whose `METHOD /path` (without `/api/v10`) contains `route`
    /// misbehave as `kind`; others pass: `fail_next_on("POST /channels", ..)`.
    pub fn fail_next_on(&self, route: &str, n: usize, kind: FailKind) {
        self.lock()
            .failures
            .extend(std::iter::repeat_n((Some(route.to_owned()), kind), n));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("stand-in state")
    }
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A Discord error body.
fn error(status: StatusCode, message: &str, code: u64) -> Answer {
    Answer::json(status, json!({ "message": message, "code": code }))
}

struct Answer {
    status: StatusCode,
    body: Option<Value>,
    bucket: &'static str,
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            bucket: "",
        }
    }

    fn empty() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            bucket: "",
        }
    }

    fn in_bucket(mut self, bucket: &'static str) -> Self {
        self.bucket = bucket;
        self
    }

    /// With Discord's rate-limit headers: 5 a second, `remaining` left.
    fn render(self, remaining: u32, reset_after: f64) -> Response {
        let mut headers = HeaderMap::new();
        if !self.bucket.is_empty() {
            let reset = now_millis() as f64 / 1000.0 + reset_after;
            for (name, value) in [
                ("x-ratelimit-limit", "5".to_owned()),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", format!("{reset:.3}")),
                ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
                ("x-ratelimit-bucket", format!("standin-{}", self.bucket)),
            ] {
                headers.insert(name, HeaderValue::from_str(&value).expect("header"));
            }
        }
        match self.body {
            Some(body) => (self.status, headers, axum::Json(body)).into_response(),
            None => (self.status, headers).into_response(),
        }
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_reason = header(&headers, "x-audit-log-reason");
    let failure = {
        let mut state = inner.lock().expect("stand-in state");
        let authorized =
            header(&headers, "authorization").as_deref() == Some(&format!("Bot {}", state.token));
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri
                .path()
                .strip_prefix(PREFIX)
                .unwrap_or(uri.path())
                .to_owned(),
            query: uri.query().map(str::to_owned),
            body: (!body.is_empty()).then(|| {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
            }),
            audit_reason: raw_reason
                .as_deref()
                .map(|r| percent_decode_str(r).decode_utf8_lossy().into_owned()),
            raw_audit_reason: raw_reason,
            user_agent: header(&headers, "user-agent"),
            authorized,
        });
        if !authorized {
            return error(StatusCode::UNAUTHORIZED, "401: Unauthorized", 0).render(0, 0.0);
        }
        let request = format!("{method} {}", uri.path().strip_prefix(PREFIX).unwrap_or(""));
        let position = state
            .failures
            .iter()
            .position(|(only, _)| only.as_ref().is_none_or(|r| request.contains(r.as_str())));
        position
            .and_then(|i| state.failures.remove(i))
            .map(|(_, kind)| kind)
    };
    let (remaining, reset_after) = match failure {
        Some(FailKind::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({ "message": "500: Internal Server Error", "code": 0 })),
            )
                .into_response();
        }
        Some(FailKind::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(FailKind::RateLimited { retry_after }) => {
            let mut response = Answer::json(
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": false,
                }),
            )
            .in_bucket("limited")
            .render(0, retry_after);
            let headers = response.headers_mut();
            headers.insert(
                "retry-after",
                HeaderValue::from(retry_after.ceil().max(0.0) as u64),
            );
            headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            return response;
        }
        Some(FailKind::Forbidden) => {
            return error(StatusCode::FORBIDDEN, "Missing Permissions", 50013).render(0, 0.0);
        }
        Some(FailKind::Exhausted { reset_after }) => (0, reset_after),
        None => (4, 1.0),
    };
    let path = uri.path().strip_prefix(PREFIX).unwrap_or("");
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    let mut state = inner.lock().expect("stand-in state");
    route(&mut state, &method, &segments, uri.query(), body).render(remaining, reset_after)
}

fn invalid_form() -> Answer {
    error(StatusCode::BAD_REQUEST, "Invalid Form Body", 50035)
}

fn route(
    state: &mut Inner,
    method: &Method,
    segments: &[&str],
    query: Option<&str>,
    body: Option<Value>,
) -> Answer {
    match (method.as_str(), segments) {
        ("PUT", ["guilds", guild, "bans", user]) => {
            let seconds = body
                .as_ref()
                .and_then(|b| b.get("delete_message_seconds"))
                .map(|s| s.as_u64());
            if matches!(seconds, Some(None)) || seconds.flatten().is_some_and(|s| s > 604_800) {
                return invalid_form();
            }
            state.bans.insert((guild.to_string(), user.to_string()));
            Answer::empty().in_bucket("bans")
        }
        ("DELETE", ["guilds", guild, "bans", user]) => {
            if state.bans.remove(&(guild.to_string(), user.to_string())) {
                Answer::empty().in_bucket("unbans")
            } else {
                error(StatusCode::NOT_FOUND, "Unknown Ban", 10026).in_bucket("unbans")
            }
        }
        ("PATCH", ["guilds", guild, "members", user]) => {
            let until = match body
                .as_ref()
                .and_then(|b| b.get("communication_disabled_until"))
            {
                Some(Value::Null) => None,
                Some(Value::String(until)) => Some(until.clone()),
                _ => return invalid_form(),
            };
            state
                .timeouts
                .insert((guild.to_string(), user.to_string()), until.clone());
            Answer::json(
                StatusCode::OK,
                json!({
                    "user": { "id": user },
                    "roles": [],
                    "communication_disabled_until": until,
                }),
            )
            .in_bucket("members")
        }
        ("GET", ["channels", channel]) => match state.channels.get(*channel) {
            Some(found) => Answer::json(
                StatusCode::OK,
                json!({ "id": channel, "type": 0, "guild_id": found.guild_id }),
            )
            .in_bucket("channel"),
            None => error(StatusCode::NOT_FOUND, "Unknown Channel", 10003),
        },
        ("GET", ["channels", channel, "messages"]) => {
            let Some(found) = state.channels.get(*channel) else {
                return error(StatusCode::NOT_FOUND, "Unknown Channel", 10003);
            };
            let mut limit = 50;
            let mut before = u64::MAX;
            for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("limit", n)) => match n.parse() {
                        Ok(n) if (1..=100).contains(&n) => limit = n,
                        _ => return invalid_form(),
                    },
                    Some(("before", id)) => match id.parse() {
                        Ok(id) => before = id,
                        Err(_) => return invalid_form(),
                    },
                    _ => {}
                }
            }
            let page: Vec<Value> = found
                .messages
                .range(..before)
                .rev()
                .take(limit)
                .map(|id| {
                    json!({
                        "id": id.to_string(),
                        "channel_id": channel,
                        "type": 0,
                        "content": format!("message {id}"),
                    })
                })
                .collect();
            Answer::json(StatusCode::OK, Value::Array(page)).in_bucket("messages")
        }
        ("POST", ["channels", channel, "messages", "bulk-delete"]) => {
            if !state.channels.contains_key(*channel) {
                return error(StatusCode::NOT_FOUND, "Unknown Channel", 10003);
            }
            let ids: Option<Vec<u64>> = body
                .as_ref()
                .and_then(|b| b.get("messages"))
                .and_then(Value::as_array)
                .and_then(|ids| {
                    ids.iter()
                        .map(|id| id.as_str().and_then(|s| s.parse().ok()))
                        .collect()
                });
            let Some(ids) = ids.filter(|ids| (2..=100).contains(&ids.len())) else {
                return invalid_form();
            };
            let oldest = now_millis() - BULK_DELETE_MAX_AGE;
            if ids.iter().any(|id| snowflake_time(*id) < oldest) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "You can only bulk delete messages that are under 14 days old.",
                    50034,
                );
            }
            let messages = &mut state.channels.get_mut(*channel).expect("checked").messages;
            for id in ids {
                messages.remove(&id);
            }
            Answer::empty().in_bucket("bulk-delete")
        }
        ("DELETE", ["channels", channel, "messages", message]) => {
            let removed = match (state.channels.get_mut(*channel), message.parse::<u64>()) {
                (Some(found), Ok(id)) => found.messages.remove(&id),
                _ => false,
            };
            if removed {
                Answer::empty().in_bucket("delete-message")
            } else {
                error(StatusCode::NOT_FOUND, "Unknown Message", 10008)
            }
        }
        (
            _,
            ["guilds", _, "bans", _]
            | ["guilds", _, "members", _]
            | ["channels", _]
            | ["channels", _, "messages", ..],
        ) => error(StatusCode::METHOD_NOT_ALLOWED, "405: Method Not Allowed", 0),
        _ => error(StatusCode::NOT_FOUND, "404: Not Found", 0),
    }
}
