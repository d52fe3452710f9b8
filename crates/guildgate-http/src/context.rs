//! The middleware around every call of a key-authenticated surface: a request id, the
//! client's address, rate-limit headers, and the audit row of every call that did not
//! commit one with its change.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guildgate_core::audit::{
    ActorSource, AuditEvent, OUTCOME_REPLAYED, OUTCOME_SUCCESS, REPLAYED_HEADER,
};
use guildgate_core::clock::Clock;
use guildgate_core::ids::{new_request_id, new_ulid};
use guildgate_core::limiter::{Access, Limiter};
use guildgate_core::limits::{BucketRequest, BucketState};
use guildgate_core::net::TrustedProxies;
use guildgate_storage::AuditSink;

use crate::error::{MessageError, Outcome};
use crate::table::RouteRow;

/// One surface: its audit name, where audit rows go, and how a matched path and method
/// find the row of its route table.
#[derive(Clone)]
pub struct Surface {
    /// The audit rows' `surface`: `tasks` or `shard`.
    pub name: &'static str,
    pub audit: AuditSink,
    pub clock: Arc<dyn Clock>,
    pub trusted_proxies: TrustedProxies,
    /// The surface's route table as (path, method, name), in the table's order: the
    /// router is built from it and a call's route is found in it.
    pub routes: Vec<RouteRow>,
    /// Names of routes whose calls write no audit row: no key and nothing to protect
    /// (liveness, the OpenAPI document). A load balancer's probe every few seconds would
    /// otherwise grow the audit log, which is never purged, by rows no owner can list.
    pub unaudited: Vec<&'static str>,
    /// How a known path called with a method it does not answer is refused.
    pub wrong_method: WrongMethod,
}

/// The answer to a known path called with another method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrongMethod {
    /// 405 with axum's `Allow` header (HTTP's own answer).
    NotAllowed,
    /// `404 Route not found`: Arca's reference lists 400, 401, 403, 404 and 500 as the
    /// only statuses, so a script written against it knows no 405.
    RouteNotFound,
}

impl Surface {
    /// (index in the table, route name) of the row for this matched path and method.
    fn find_route(&self, path: &str, method: &str) -> Option<(usize, &'static str)> {
        self.routes
            .iter()
            .position(|r| r.0 == path && r.1 == crate::table_method(method))
            .map(|i| (i, self.routes[i].2))
    }
}

/// The key a call was made with, for its audit row.
#[derive(Clone, Debug)]
pub struct KeyIdentity {
    pub key_id: String,
    pub key_name: String,
    pub user_id: Option<String>,
}

#[derive(Default)]
pub struct CallRecord {
    pub caller: Option<KeyIdentity>,
    /// The guild (or workspace) the call acted in.
    pub guild_id: Option<String>,
    pub bucket: Option<BucketState>,
    pub audited: bool,
    pub target: Option<String>,
}

pub struct RequestContext {
    pub request_id: String,
    pub client_ip: IpAddr,
    pub surface: &'static str,
    /// Index into the surface's route table, and the route's name.
    pub route: Option<(usize, &'static str)>,
    pub method: String,
    pub path: String,
    record: Mutex<CallRecord>,
}

impl RequestContext {
    pub fn record(&self) -> MutexGuard<'_, CallRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one call from each of `requests`' buckets, all or none; the tightest is kept
    /// for the rate-limit headers, and an empty bucket refuses the call with 429. A GET is
    /// a read (let through if the shared buckets are unreachable), anything else a write.
    pub async fn take(
        &self,
        limiter: &Limiter,
        requests: &[BucketRequest],
    ) -> Result<(), MessageError> {
        let access = if crate::table_method(&self.method) == "GET" {
            Access::Read
        } else {
            Access::Write
        };
        let decision = limiter.decide(requests, access).await?;
        self.record().bucket = decision.tightest().cloned();
        if decision.allowed {
            Ok(())
        } else {
            Err(MessageError::rate_limited(decision.retry_after_secs))
        }
    }

    pub fn route_index(&self) -> Option<usize> {
        self.route.map(|(index, _)| index)
    }

    pub fn audit_event(&self, at: i64, outcome: &str, status: u16) -> AuditEvent {
        let record = self.record();
        let caller = record.caller.clone();
        AuditEvent {
            id: new_ulid(),
            surface: self.surface,
            at,
            guild_id: record.guild_id.clone(),
            actor_source: ActorSource::Token,
            actor_user_id: caller.as_ref().and_then(|c| c.user_id.clone()),
            token_id: caller.as_ref().map(|c| c.key_id.clone()),
            token_name: caller.map(|c| c.key_name),
            action: self.route.map(|r| r.1).unwrap_or("unknown").to_owned(),
            method: Some(self.method.clone()),
            path: Some(self.path.clone()),
            outcome: outcome.to_owned(),
            status: Some(status),
            request_id: Some(self.request_id.clone()),
            ip: Some(self.client_ip.to_string()),
            target: record.target.clone(),
        }
    }
}

/// The caller's address: the TCP peer, or the client a trusted proxy forwarded for.
pub fn client_ip(proxies: &TrustedProxies, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // Several X-Forwarded-For lines are one list in order (RFC 9110 5.3): a proxy that
    // adds its own line after the client's must be read from its line, not the client's.
    let mut lines = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let forwarded: Option<std::borrow::Cow<str>> = match (lines.next(), lines.next()) {
        (None, _) => None,
        (Some(only), None) => Some(only.into()),
        (Some(first), Some(second)) => Some(
            std::iter::once(first)
                .chain(std::iter::once(second))
                .chain(lines)
                .collect::<Vec<_>>()
                .join(",")
                .into(),
        ),
    };
    proxies.client_ip(peer, forwarded.as_deref())
}

/// Runs the call with its `RequestContext` in the request's extensions.
pub async fn surface_middleware(surface: &Surface, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| surface.find_route(m.as_str(), req.method().as_str()));
    let ctx = Arc::new(RequestContext {
        request_id: new_request_id(),
        client_ip: client_ip(&surface.trusted_proxies, req.headers(), req.extensions()),
        surface: surface.name,
        route,
        method: req.method().to_string(),
        path: guildgate_core::redact::redact_secrets(req.uri().path()).into_owned(),
        record: Mutex::default(),
    });
    req.extensions_mut().insert(ctx.clone());
    // Everything logged while answering carries the call's request id.
    let span = tracing::info_span!("request", request_id = %ctx.request_id);
    let refused =
        guildgate_core::nul::encoded_has_nul(req.uri().path_and_query().map_or("", |p| p.as_str()));
    let mut response = if refused {
        MessageError::bad_request(guildgate_core::nul::NUL_REFUSED).into_response()
    } else {
        tracing::Instrument::instrument(next.run(req), span.clone()).await
    };
    tracing::debug!(
        parent: &span,
        method = %ctx.method,
        path = %ctx.path,
        status = response.status().as_u16(),
        "answered"
    );
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response = match surface.wrong_method {
            WrongMethod::RouteNotFound => MessageError::not_found("Route").into_response(),
            WrongMethod::NotAllowed => {
                // The body in this surface's shape; axum's Allow header stays.
                let allow = response.headers().get(header::ALLOW).cloned();
                let mut refused = MessageError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!(
                        "Route {} does not answer {}; the Allow header lists the methods it does",
                        ctx.path, ctx.method
                    ),
                )
                .into_response();
                if let Some(allow) = allow {
                    refused.headers_mut().insert(header::ALLOW, allow);
                }
                refused
            }
        };
    }
    let headers = response.headers_mut();
    headers.insert(
        "x-request-id",
        HeaderValue::from_str(&ctx.request_id).unwrap_or(HeaderValue::from_static("-")),
    );
    if let Some(bucket) = ctx.record().bucket.clone() {
        rate_limit_headers(headers, &bucket);
    }
    let (audited, known) = {
        let record = ctx.record();
        (
            record.audited,
            record.caller.is_some()
                || ctx
                    .route
                    .is_some_and(|(_, name)| !surface.unaudited.contains(&name)),
        )
    };
    if !audited && known {
        let outcome = if response.headers().contains_key(REPLAYED_HEADER) {
            OUTCOME_REPLAYED
        } else {
            response
                .extensions()
                .get::<Outcome>()
                .map_or(OUTCOME_SUCCESS, |o| o.0)
        };
        let event = ctx.audit_event(surface.clock.now(), outcome, response.status().as_u16());
        surface.audit.record(event).await;
    }
    response
}

fn rate_limit_headers(headers: &mut HeaderMap, bucket: &BucketState) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(bucket.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(bucket.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(bucket.reset_secs));
    let policy = format!(
        "\"{}\";q={};w={}",
        bucket.name, bucket.limit, bucket.window_secs
    );
    let current = format!(
        "\"{}\";r={};t={}",
        bucket.name, bucket.remaining, bucket.reset_secs
    );
    if let (Ok(policy), Ok(current)) = (
        HeaderValue::from_str(&policy),
        HeaderValue::from_str(&current),
    ) {
        headers.insert("ratelimit-policy", policy);
        headers.insert("ratelimit", current);
    }
}
