//! A client for the moderation calls of Discord's HTTP API v10: bans, timeouts (mutes) and
//! mass purges, with Discord's rate limits honoured and its refusals explained.
//!
//! Every moderation call carries `X-Audit-Log-Reason` (the reason and the guildgate token's
//! name), so Discord's own audit log says who asked. The bot token goes out only in the
//! `Authorization` header: it is never formatted, logged or put in an error message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guildgate_core::clock::{Clock, DAY, MINUTE, Millis, SystemClock, to_rfc3339};
use guildgate_guild_api::ActionContext;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub const DEFAULT_BASE_URL: &str = "https://discord.com/api/v10";
/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds; snowflakes count from it.
pub const DISCORD_EPOCH: Millis = 1_420_070_400_000;
/// Discord refuses to bulk-delete messages older than this.
pub const BULK_DELETE_MAX_AGE: Millis = 14 * DAY;
/// Messages this close to the 14-day line are left alone too: they could cross it between
/// the listing and the delete, and one such message makes Discord refuse the whole batch.
pub const BULK_DELETE_MARGIN: Millis = MINUTE;
/// Discord takes between 2 and 100 messages per bulk delete.
pub const BULK_DELETE_MAX: usize = 100;
/// Discord keeps at most this many characters of an audit-log reason.
pub const AUDIT_REASON_MAX_CHARS: usize = 512;

const AUDIT_LOG_REASON: &str = "x-audit-log-reason";
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/guildgate, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// What `encodeURIComponent` leaves alone, minus the characters it keeps that some
/// decoders treat specially: everything else is percent-encoded.
const REASON_ENCODING: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A Discord bot token. It formats as `BotToken(<redacted>)`, so it cannot end up in a log
/// line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Takes the token as the developer portal shows it; a pasted `Bot ` prefix and
    /// surrounding whitespace are dropped.
    pub fn new(token: impl Into<String>) -> Self {
        let token = token.into();
        let token = token.trim();
        Self(
            token
                .strip_prefix("Bot ")
                .unwrap_or(token)
                .trim()
                .to_owned(),
        )
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct DiscordConfig {
    /// `https://discord.com/api/v10` unless tests point it at a stand-in.
    pub base_url: String,
    pub bot_token: BotToken,
}

impl DiscordConfig {
    /// The real Discord API with this bot.
    pub fn new(bot_token: BotToken) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            bot_token,
        }
    }
}

/// How long the client waits, in each way it can wait.
#[derive(Clone, Copy, Debug)]
pub struct DiscordLimits {
    /// For the TCP and TLS connection.
    pub connect_timeout: Duration,
    /// For each request, from sending to the end of the answer.
    pub request_timeout: Duration,
    /// Retries after a 429, per request.
    pub max_retries: u32,
    /// The most one request waits for rate limits (429s and exhausted buckets together);
    /// a longer wait fails at once instead of holding the caller.
    pub max_wait: Duration,
}

impl Default for DiscordLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_retries: 3,
            max_wait: Duration::from_secs(10),
        }
    }
}

/// What a purge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub deleted: u32,
    /// Messages among the newest `count` that Discord would not bulk-delete because they
    /// are (nearly) 14 days old. Listing stops at the first of them, since every older
    /// page holds only older messages, so this counts those on the pages already fetched.
    pub skipped_too_old: u32,
}

mod error;
mod wire;

pub use error::DiscordError;
use wire::{duration, root_cause, seconds, snowflake};
pub use wire::{encode_audit_reason, snowflake_at, snowflake_time};

/// When each rate-limit bucket may be used again. Discord names a route's bucket in
/// `X-RateLimit-Bucket` on its first answer; a bucket is per major id (guild or channel).
#[derive(Default)]
struct Buckets {
    /// Route (method, path shape, major id) -> bucket key (`hash major`).
    routes: HashMap<String, String>,
    /// Bucket key (or the route, before Discord named its bucket) -> resume instant.
    resume_at: HashMap<String, Instant>,
}

impl Buckets {
    fn key(&self, route: &str) -> String {
        self.routes
            .get(route)
            .cloned()
            .unwrap_or_else(|| route.to_owned())
    }

    fn wait(&self, route: &str, now: Instant) -> Option<Duration> {
        let resume = *self.resume_at.get(&self.key(route))?;
        (resume > now).then(|| resume - now)
    }

    fn hold(&mut self, key: String, until: Instant) {
        let now = Instant::now();
        self.resume_at.retain(|_, at| *at > now);
        let at = self.resume_at.entry(key).or_insert(until);
        *at = (*at).max(until);
    }
}

/// One request as the client sends it.
struct Request<'a> {
    method: Method,
    /// After the base URL, with the query.
    path: String,
    /// For rate limits: the method and the path's shape with only the major id.
    route: String,
    major: &'a str,
    body: Option<Value>,
    /// Already encoded; only on moderation calls.
    reason: Option<&'a str>,
    /// Named in the error if Discord answers 403.
    permission: &'static str,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    code: Option<u64>,
}

#[derive(Deserialize)]
struct RateLimitBody {
    retry_after: Option<f64>,
}

#[derive(Deserialize)]
struct ChannelBody {
    guild_id: Option<String>,
}

#[derive(Deserialize)]
struct MessageBody {
    id: String,
}

/// The client; cheap to clone, and clones share their rate-limit state.
#[derive(Clone)]
pub struct DiscordClient {
    http: reqwest::Client,
    base_url: String,
    limits: DiscordLimits,
    clock: Arc<dyn Clock>,
    buckets: Arc<Mutex<Buckets>>,
    token: BotToken,
}

impl std::fmt::Debug for DiscordClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordClient")
            .field("base_url", &self.base_url)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl DiscordClient {
    pub fn new(config: DiscordConfig) -> Result<Self, DiscordError> {
        Self::with_limits(config, DiscordLimits::default())
    }

    pub fn with_limits(config: DiscordConfig, limits: DiscordLimits) -> Result<Self, DiscordError> {
        let token = config.bot_token;
        if token.expose().is_empty() {
            return Err(DiscordError::Config("the bot token is empty".into()));
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bot {}", token.expose())).map_err(|_| {
                DiscordError::Config("the bot token has characters a header cannot carry".into())
            })?;
        authorization.set_sensitive(true);
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => {
                return Err(DiscordError::Config(format!(
                    "the API base URL {base_url:?} is not an http(s) URL"
                )));
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            // Discord's API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DiscordError::Config(format!("the HTTP client: {}", root_cause(&e))))?;
        Ok(Self {
            http,
            base_url,
            limits,
            clock: Arc::new(SystemClock),
            buckets: Arc::default(),
            token,
        })
    }

    /// The clock that decides which messages are too old to bulk-delete.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn limits(&self) -> DiscordLimits {
        self.limits
    }

    /// `PUT /guilds/{g}/bans/{u}`: bans the user and deletes their messages of the last
    /// `delete_message_seconds` (0 to 604800).
    pub async fn ban(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
        delete_message_seconds: u32,
    ) -> Result<(), DiscordError> {
        let guild = snowflake("guild id", guild_id)?;
        let user = snowflake("user id", user_id)?;
        let reason = encode_audit_reason(&ctx.audit_reason());
        self.send(Request {
            method: Method::PUT,
            path: format!("/guilds/{guild}/bans/{user}"),
            route: format!("PUT /guilds/{guild}/bans"),
            major: guild,
            body: Some(json!({ "delete_message_seconds": delete_message_seconds })),
            reason: Some(&reason),
            permission: "BAN_MEMBERS",
        })
        .await
        .map(drop)
    }

    /// `DELETE /guilds/{g}/bans/{u}`; a ban Discord does not know (10026) counts as lifted.
    pub async fn unban(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
    ) -> Result<(), DiscordError> {
        let guild = snowflake("guild id", guild_id)?;
        let user = snowflake("user id", user_id)?;
        let reason = encode_audit_reason(&ctx.audit_reason());
        let sent = self
            .send(Request {
                method: Method::DELETE,
                path: format!("/guilds/{guild}/bans/{user}"),
                route: format!("DELETE /guilds/{guild}/bans"),
                major: guild,
                body: None,
                reason: Some(&reason),
                permission: "BAN_MEMBERS",
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(DiscordError::Refused {
                code: Some(10026), ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `PATCH /guilds/{g}/members/{u}` with `communication_disabled_until`: a timeout until
    /// `until` (at most 28 days ahead, as Discord requires), or none with `None`.
    pub async fn timeout(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
        until: Option<Millis>,
    ) -> Result<(), DiscordError> {
        let guild = snowflake("guild id", guild_id)?;
        let user = snowflake("user id", user_id)?;
        let reason = encode_audit_reason(&ctx.audit_reason());
        self.send(Request {
            method: Method::PATCH,
            path: format!("/guilds/{guild}/members/{user}"),
            route: format!("PATCH /guilds/{guild}/members"),
            major: guild,
            body: Some(json!({ "communication_disabled_until": until.map(to_rfc3339) })),
            reason: Some(&reason),
            permission: "MODERATE_MEMBERS",
        })
        .await
        .map(drop)
    }

    /// Deletes the newest `count` messages of a channel of `guild_id`, except those Discord
    /// will not bulk-delete (14 days old): lists them 100 at a time, newest first, then
    /// deletes them in batches of up to 100 (a single leftover one on its own).
    pub async fn purge(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        channel_id: &str,
        count: u32,
    ) -> Result<PurgeReport, DiscordError> {
        let guild = snowflake("guild id", guild_id)?;
        let channel = snowflake("channel id", channel_id)?;
        // One bot serves many guilds: a token of one guild must not purge another's channel.
        let found: ChannelBody = self
            .get_json(Request {
                method: Method::GET,
                path: format!("/channels/{channel}"),
                route: format!("GET /channels/{channel}"),
                major: channel,
                body: None,
                reason: None,
                permission: "VIEW_CHANNEL",
            })
            .await?;
        if found.guild_id.as_deref() != Some(guild) {
            return Err(DiscordError::ChannelNotInGuild {
                channel_id: channel.to_owned(),
                guild_id: guild.to_owned(),
            });
        }

        let oldest_allowed = self.clock.now() - BULK_DELETE_MAX_AGE + BULK_DELETE_MARGIN;
        let mut recent: Vec<u64> = Vec::new();
        let mut report = PurgeReport::default();
        let mut seen = 0u32;
        let mut before: Option<u64> = None;
        while seen < count {
            let limit = (count - seen).min(BULK_DELETE_MAX as u32);
            let path = match before {
                Some(before) => {
                    format!("/channels/{channel}/messages?limit={limit}&before={before}")
                }
                None => format!("/channels/{channel}/messages?limit={limit}"),
            };
            let page: Vec<MessageBody> = self
                .get_json(Request {
                    method: Method::GET,
                    path,
                    route: format!("GET /channels/{channel}/messages"),
                    major: channel,
                    body: None,
                    reason: None,
                    permission: "READ_MESSAGE_HISTORY",
                })
                .await?;
            let fetched = page.len();
            let mut reached_old = false;
            for message in page.into_iter().take(limit as usize) {
                let id: u64 = message.id.parse().map_err(|_| {
                    DiscordError::BadAnswer(format!("a message id {:?}", message.id))
                })?;
                seen += 1;
                before = Some(before.map_or(id, |b| b.min(id)));
                if snowflake_time(id) < oldest_allowed {
                    report.skipped_too_old += 1;
                    reached_old = true;
                } else {
                    recent.push(id);
                }
            }
            if fetched < limit as usize || reached_old {
                break;
            }
        }

        let reason = encode_audit_reason(&ctx.audit_reason());
        for batch in recent.chunks(BULK_DELETE_MAX) {
            let sent = match batch {
                [one] => self.delete_message(channel, *one, &reason).await,
                _ => self
                    .send(Request {
                        method: Method::POST,
                        path: format!("/channels/{channel}/messages/bulk-delete"),
                        route: format!("POST /channels/{channel}/messages/bulk-delete"),
                        major: channel,
                        body: Some(json!({
                            "messages": batch.iter().map(u64::to_string).collect::<Vec<_>>()
                        })),
                        reason: Some(&reason),
                        permission: "MANAGE_MESSAGES",
                    })
                    .await
                    .map(drop),
            };
            if let Err(cause) = sent {
                return Err(DiscordError::PurgeInterrupted {
                    deleted: report.deleted,
                    cause: Box::new(cause),
                });
            }
            report.deleted += batch.len() as u32;
        }
        Ok(report)
    }

    /// `DELETE /channels/{c}/messages/{m}`; a message already gone (10008) counts as deleted.
    async fn delete_message(
        &self,
        channel: &str,
        message: u64,
        reason: &str,
    ) -> Result<(), DiscordError> {
        let sent = self
            .send(Request {
                method: Method::DELETE,
                path: format!("/channels/{channel}/messages/{message}"),
                route: format!("DELETE /channels/{channel}/messages"),
                major: channel,
                body: None,
                reason: Some(reason),
                permission: "MANAGE_MESSAGES",
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(DiscordError::Refused {
                code: Some(10008), ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, DiscordError> {
        let body = self.send(request).await?;
        serde_json::from_slice(&body).map_err(|e| DiscordError::BadAnswer(e.to_string()))
    }

    /// Sends the request, waiting out exhausted buckets and retrying after 429s within the
    /// limits; returns the body of a 2xx answer.
    async fn send(&self, request: Request<'_>) -> Result<Vec<u8>, DiscordError> {
        let url = format!("{}{}", self.base_url, request.path);
        let mut waited = Duration::ZERO;
        let mut retries = 0;
        loop {
            let wait = self
                .buckets
                .lock()
                .expect("rate-limit state")
                .wait(&request.route, Instant::now());
            if let Some(wait) = wait {
                if waited.saturating_add(wait) > self.limits.max_wait {
                    return Err(DiscordError::RateLimited { retry_after: wait });
                }
                tracing::debug!(route = %request.route, wait_ms = wait.as_millis() as u64, "waiting for Discord's rate limit");
                tokio::time::sleep(wait).await;
                waited += wait;
            }

            let mut builder = self.http.request(request.method.clone(), &url);
            if let Some(reason) = request.reason {
                builder = builder.header(AUDIT_LOG_REASON, reason);
            }
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            let response = builder.send().await.map_err(|e| self.transport(e))?;
            let status = response.status();
            let retry_after_header = seconds(response.headers().get(RETRY_AFTER));
            self.observe(&request, response.headers());
            let body = response.bytes().await.map_err(|e| self.transport(e))?;

            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = serde_json::from_slice::<RateLimitBody>(&body)
                    .ok()
                    .and_then(|b| b.retry_after)
                    .or(retry_after_header)
                    .map_or(Duration::from_secs(1), duration);
                if retries >= self.limits.max_retries
                    || waited.saturating_add(retry_after) > self.limits.max_wait
                {
                    return Err(DiscordError::RateLimited { retry_after });
                }
                retries += 1;
                tracing::warn!(
                    route = %request.route,
                    retry_after_ms = retry_after.as_millis() as u64,
                    retry = retries,
                    "Discord answered 429; waiting and retrying"
                );
                let mut buckets = self.buckets.lock().expect("rate-limit state");
                let key = buckets.key(&request.route);
                buckets.hold(key, Instant::now() + retry_after);
                continue;
            }
            if status.is_success() {
                return Ok(body.to_vec());
            }
            return Err(self.refusal(status, &body, request.permission));
        }
    }

    /// Learns the route's bucket and, when it is spent, when it resets.
    fn observe(&self, request: &Request<'_>, headers: &HeaderMap) {
        let mut buckets = self.buckets.lock().expect("rate-limit state");
        if let Some(bucket) = headers
            .get("x-ratelimit-bucket")
            .and_then(|v| v.to_str().ok())
        {
            buckets
                .routes
                .insert(request.route.clone(), format!("{bucket} {}", request.major));
        }
        let spent = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        if let (true, Some(reset_after)) = (spent, seconds(headers.get("x-ratelimit-reset-after")))
        {
            let key = buckets.key(&request.route);
            buckets.hold(key, Instant::now() + duration(reset_after));
        }
    }

    fn transport(&self, e: reqwest::Error) -> DiscordError {
        if e.is_timeout() {
            let connect = e.is_connect();
            DiscordError::Timeout {
                connect,
                after: if connect {
                    self.limits.connect_timeout
                } else {
                    self.limits.request_timeout
                },
            }
        } else if e.is_connect() {
            DiscordError::Unreachable(format!("could not connect: {}", self.scrub(root_cause(&e))))
        } else {
            DiscordError::Unreachable(self.scrub(root_cause(&e)))
        }
    }

    fn refusal(&self, status: StatusCode, body: &[u8], permission: &'static str) -> DiscordError {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let code = parsed.as_ref().and_then(|b| b.code);
        let message = parsed
            .and_then(|b| b.message)
            .map(|m| self.scrub(m.chars().take(200).collect()))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
        match status {
            StatusCode::UNAUTHORIZED => DiscordError::InvalidToken,
            StatusCode::FORBIDDEN => DiscordError::MissingPermission {
                permission,
                code,
                message,
            },
            s if s.is_server_error() => DiscordError::Server(s),
            s => DiscordError::Refused {
                status: s,
                code,
                message,
            },
        }
    }

    /// Whatever a peer or a library says, the token does not leave in a message.
    fn scrub(&self, text: String) -> String {
        if text.contains(self.token.expose()) {
            text.replace(self.token.expose(), "<redacted>")
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_formats() {
        let token = BotToken::new(" Bot MTIz.secret ");
        assert_eq!(token.expose(), "MTIz.secret");
        let config = DiscordConfig::new(token);
        assert!(!format!("{config:?}").contains("secret"));
        let client = DiscordClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn bad_configuration_is_refused() {
        let empty = DiscordClient::new(DiscordConfig::new(BotToken::new("  ")));
        assert!(matches!(empty, Err(DiscordError::Config(_))));
        let mut config = DiscordConfig::new(BotToken::new("abc"));
        config.base_url = "discord.com".into();
        assert!(matches!(
            DiscordClient::new(config),
            Err(DiscordError::Config(_))
        ));
        let newline = DiscordClient::new(DiscordConfig::new(BotToken::new("a\nb")));
        assert!(matches!(newline, Err(DiscordError::Config(_))));
    }

    #[test]
    fn reasons_are_encoded_and_capped() {
        assert_eq!(
            encode_audit_reason("spam (guildgate token \"CI bot\") é"),
            "spam%20%28guildgate%20token%20%22CI%20bot%22%29%20%C3%A9"
        );
        let long = "é".repeat(600);
        let encoded = encode_audit_reason(&long);
        assert_eq!(encoded.len(), 512 * 6);
    }

    #[test]
    fn snowflakes_carry_their_time() {
        // Discord's documented example: 175928847299117063 was made at 1462015105796.
        assert_eq!(snowflake_time(175_928_847_299_117_063), 1_462_015_105_796);
        let id = snowflake_at(1_462_015_105_796, 7);
        assert_eq!(snowflake_time(id), 1_462_015_105_796);
        assert!(snowflake("user id", "12a").is_err());
        assert!(snowflake("user id", "").is_err());
        assert!(snowflake("user id", "../1").is_err());
    }
}
