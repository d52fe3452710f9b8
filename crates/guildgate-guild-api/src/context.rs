//! The surface middleware around every guild route: request ids, the client address,
//! CORS refusal, the per-IP limit, rate-limit headers, the error envelope and the audit
//! row of every call that did not already commit one with its change.

use guildgate_core::limiter::Access;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guildgate_core::audit::{
    ActorSource, AuditEvent, OUTCOME_REPLAYED, OUTCOME_SUCCESS, REPLAYED_HEADER,
};
use guildgate_core::error::{ApiError, ErrorCode};
use guildgate_core::ids::{new_request_id, new_ulid};
use guildgate_core::limits::{BucketRequest, BucketState};
use guildgate_core::model::SOURCE_MCP;
use guildgate_core::policy::{EndpointPolicy, POLICIES, PUBLIC_PREFIX};

use crate::envelope::{Failure, envelope};
use crate::state::AppState;

/// The token a call was made with, once known.
#[derive(Clone, Debug)]
pub struct CallerInfo {
    pub token_id: String,
    pub token_name: String,
    pub user_id: String,
    pub guild_id: String,
    /// `mcp` for tokens paired through the device flow: their calls are audited as such.
    pub source: String,
}

#[derive(Default)]
pub struct CallRecord {
    pub caller: Option<CallerInfo>,
    /// Buckets decided for this call, for the headers.
    pub buckets: Vec<BucketState>,
    /// The per-IP bucket was decided together with the token buckets (so the middleware
    /// must not charge it again).
    pub ip_charged: bool,
    /// The audit row was committed with the call's change.
    pub audited: bool,
    pub target: Option<String>,
}

pub struct RequestContext {
    pub request_id: String,
    pub client_ip: IpAddr,
    /// `client_ip` as text, written once: the limiter key and the audit row both need it.
    pub client_ip_text: String,
    pub policy: Option<&'static EndpointPolicy>,
    pub public: bool,
    /// Sent by `guildgate mcp` (`X-Guildgate-Client: mcp`): an audit label, not a grant.
    pub via_mcp: bool,
    pub method: String,
    pub path: String,
    pub record: Mutex<CallRecord>,
}

impl RequestContext {
    pub fn record(&self) -> std::sync::MutexGuard<'_, CallRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ip_bucket(&self, state: &AppState) -> BucketRequest {
        BucketRequest {
            name: "ip",
            key: ["ip:", &self.client_ip_text].concat(),
            rate: state.config.limits.per_ip,
        }
    }

    /// The audit row for this call as it ended.
    pub fn audit_event(&self, at: i64, outcome: &str, status: u16) -> AuditEvent {
        let record = self.record();
        let caller = record.caller.clone();
        AuditEvent {
            id: new_ulid(),
            surface: "guild",
            at,
            guild_id: caller.as_ref().map(|c| c.guild_id.clone()),
            actor_source: match caller.as_ref().map(|c| c.source.as_str()) {
                Some(SOURCE_MCP) => ActorSource::Mcp,
                _ if self.via_mcp => ActorSource::Mcp,
                _ => ActorSource::Token,
            },
            actor_user_id: caller.as_ref().map(|c| c.user_id.clone()),
            token_id: caller.as_ref().map(|c| c.token_id.clone()),
            token_name: caller.map(|c| c.token_name),
            action: self.policy.map(|p| p.name).unwrap_or("unknown").to_owned(),
            method: Some(self.method.clone()),
            path: Some(self.path.clone()),
            outcome: outcome.to_owned(),
            status: Some(status),
            request_id: Some(self.request_id.clone()),
            ip: Some(self.client_ip_text.clone()),
            target: record.target.clone(),
        }
    }
}

fn policy_for(matched: Option<&MatchedPath>, method: &Method) -> Option<&'static EndpointPolicy> {
    let path = matched?.as_str();
    POLICIES
        .iter()
        .find(|p| p.path == path && p.method == guildgate_http::table_method(method.as_str()))
}

/// The caller's address: the TCP peer, or the client a trusted proxy forwarded for.
pub fn client_ip(state: &AppState, req: &Request) -> IpAddr {
    guildgate_http::client_ip(
        &state.config.trusted_proxies,
        req.headers(),
        req.extensions(),
    )
}

pub async fn surface(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = guildgate_core::redact::redact_secrets(req.uri().path()).into_owned();
    let client_ip = client_ip(&state, &req);
    let ctx = Arc::new(RequestContext {
        request_id: new_request_id(),
        client_ip,
        client_ip_text: client_ip.to_string(),
        policy: policy_for(req.extensions().get::<MatchedPath>(), req.method()),
        public: path.starts_with(PUBLIC_PREFIX),
        via_mcp: req
            .headers()
            .get("x-guildgate-client")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"mcp")),
        method: req.method().to_string(),
        path,
        record: Mutex::default(),
    });

    let early = if guildgate_core::nul::encoded_has_nul(
        req.uri().path_and_query().map_or("", |p| p.as_str()),
    ) {
        Some(ApiError::validation(
            "path",
            guildgate_core::nul::NUL_REFUSED,
        ))
    } else if ctx.public
        && (req.headers().contains_key("origin") || req.method() == Method::OPTIONS)
    {
        Some(ApiError::new(
            ErrorCode::CorsDenied,
            "Browser calls to /api/public/v1/* are not allowed. Call the API from a server-side script or proxy.",
        ))
    } else if ctx.public {
        // A check only (the charge comes with the call's other buckets): let through
        // when the shared buckets are unreachable, the call's own draw decides then.
        match state
            .limiter
            .peek(&[ctx.ip_bucket(&state)], Access::Read)
            .await
        {
            Ok(peek) => (!peek.allowed).then(|| ApiError::rate_limited(peek.retry_after_secs)),
            Err(_) => None,
        }
    } else {
        None
    };

    let mut response = match early {
        Some(err) => Failure(err).into_response(),
        None => {
            req.extensions_mut().insert(ctx.clone());
            // Everything logged while answering carries the call's request id.
            let span = tracing::info_span!("request", request_id = %ctx.request_id);
            tracing::Instrument::instrument(next.run(req), span).await
        }
    };

    // Read first: the record's lock must not be held across the await.
    let uncharged = ctx.public && !ctx.record().ip_charged;
    if uncharged
        && let Ok(charged) = state
            .limiter
            .decide(&[ctx.ip_bucket(&state)], Access::Settle)
            .await
    {
        ctx.record().buckets.extend(charged.buckets);
    }
    finish(&state, &ctx, &mut response).await;
    response
}

async fn finish(state: &AppState, ctx: &RequestContext, response: &mut Response) {
    // Axum's own refusals (405, 413, ...) get the envelope too.
    let mut error = response.extensions_mut().remove::<ApiError>();
    if error.is_none() && response.status() == StatusCode::METHOD_NOT_ALLOWED {
        error = Some(ApiError::method_not_allowed(&ctx.method, &ctx.path));
    } else if error.is_none() && response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error = Some(ApiError::body_too_large(state.config.body_limit));
    }
    if let Some(err) = &error {
        let headers = std::mem::take(response.headers_mut());
        *response = envelope(err, &ctx.request_id);
        for (name, value) in headers.iter() {
            if !response.headers().contains_key(name) {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    let headers = response.headers_mut();
    headers.insert("x-request-id", header_value(&ctx.request_id));
    if ctx.public {
        rate_limit_headers(headers, &ctx.record().buckets);
    }

    let (audited, has_caller) = {
        let record = ctx.record();
        (record.audited, record.caller.is_some())
    };
    if !audited && (has_caller || ctx.policy.is_some()) {
        let outcome = match &error {
            Some(e) => e.code.as_str(),
            None if response.headers().contains_key(REPLAYED_HEADER) => OUTCOME_REPLAYED,
            None => OUTCOME_SUCCESS,
        };
        let event = ctx.audit_event(state.clock.now(), outcome, response.status().as_u16());
        state.audit.record(event).await;
    }
    if error
        .as_ref()
        .is_some_and(|e| e.code == ErrorCode::InternalError)
    {
        tracing::error!(request_id = %ctx.request_id, path = %ctx.path, "request failed with INTERNAL_ERROR");
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("invalid"))
}

/// `X-RateLimit-*` describe the tightest bucket; the IETF `RateLimit` and
/// `RateLimit-Policy` fields list every bucket the call drew from.
fn rate_limit_headers(headers: &mut HeaderMap, buckets: &[BucketState]) {
    static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
    static POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
    static CURRENT: HeaderName = HeaderName::from_static("ratelimit");
    let Some(tightest) = guildgate_core::limits::tightest(buckets) else {
        return;
    };
    // Every call answered through here carries these five: room for them at once rather
    // than a growth and rehash of the map halfway.
    headers.reserve(5);
    headers.insert(&LIMIT, HeaderValue::from(tightest.limit));
    headers.insert(&REMAINING, HeaderValue::from(tightest.remaining));
    headers.insert(&RESET, HeaderValue::from(tightest.reset_secs));
    // Written piece by piece: `format!` costs more than the rest of this function.
    let (mut policy, mut current) = (String::with_capacity(128), String::with_capacity(128));
    let mut number = itoa::Buffer::new();
    for (i, b) in buckets.iter().enumerate() {
        for (text, (first, first_value), (second, second_value)) in [
            (
                &mut policy,
                (";q=", u64::from(b.limit)),
                (";w=", b.window_secs),
            ),
            (
                &mut current,
                (";r=", u64::from(b.remaining)),
                (";t=", b.reset_secs),
            ),
        ] {
            if i > 0 {
                text.push_str(", ");
            }
            text.push('"');
            text.push_str(b.name);
            text.push('"');
            text.push_str(first);
            text.push_str(number.format(first_value));
            text.push_str(second);
            text.push_str(number.format(second_value));
        }
    }
    headers.insert(&POLICY, header_value(&policy));
    headers.insert(&CURRENT, header_value(&current));
}
