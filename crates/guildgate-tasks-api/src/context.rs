//! The middleware around every tasks route: request ids, the client address, rate-limit
//! headers, and the audit row of every call that did not commit one with its change.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guildgate_core::audit::{ActorSource, AuditEvent, OUTCOME_SUCCESS};
use guildgate_core::ids::{new_request_id, new_ulid};
use guildgate_core::limits::BucketState;
use guildgate_core::tasks::{TASK_ROUTES, TaskRoute};

use crate::error::{Outcome, TasksError};
use crate::state::TasksState;

#[derive(Default)]
pub struct CallRecord {
    /// (key id, label, user id)
    pub caller: Option<(String, String, i64)>,
    pub workspace_id: Option<i64>,
    pub bucket: Option<BucketState>,
    pub audited: bool,
    pub target: Option<String>,
}

pub struct RequestContext {
    pub request_id: String,
    pub client_ip: IpAddr,
    pub route: Option<&'static TaskRoute>,
    pub method: String,
    pub path: String,
    record: Mutex<CallRecord>,
}

impl RequestContext {
    pub fn record(&self) -> MutexGuard<'_, CallRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn audit_event(&self, at: i64, outcome: &str, status: u16) -> AuditEvent {
        let record = self.record();
        let caller = record.caller.clone();
        AuditEvent {
            id: new_ulid(),
            surface: "tasks",
            at,
            guild_id: record.workspace_id.map(|w| w.to_string()),
            actor_source: ActorSource::Token,
            actor_user_id: caller.as_ref().map(|c| c.2.to_string()),
            token_id: caller.as_ref().map(|c| c.0.clone()),
            token_name: caller.map(|c| c.1),
            action: self.route.map(|r| r.name).unwrap_or("unknown").to_owned(),
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

pub async fn tasks_surface(
    State(state): State<TasksState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let ctx = Arc::new(RequestContext {
        request_id: new_request_id(),
        client_ip: state.config.trusted_proxies.client_ip(peer, forwarded),
        route: TASK_ROUTES
            .iter()
            .find(|r| Some(r.path) == matched.as_deref() && r.method == req.method().as_str()),
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        record: Mutex::default(),
    });
    req.extensions_mut().insert(ctx.clone());
    let mut response = next.run(req).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response = TasksError::not_found("Route").into_response();
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
            record.caller.is_some() || ctx.route.is_some(),
        )
    };
    if !audited && known {
        let outcome = response
            .extensions()
            .get::<Outcome>()
            .map(|o| o.0)
            .unwrap_or(OUTCOME_SUCCESS);
        let event = ctx.audit_event(state.clock.now(), outcome, response.status().as_u16());
        state.audit.record(event).await;
    }
    response
}

fn rate_limit_headers(headers: &mut HeaderMap, bucket: &BucketState) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(bucket.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(bucket.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(bucket.reset_secs));
    let policy = format!("\"key\";q={};w={}", bucket.limit, bucket.window_secs);
    let current = format!("\"key\";r={};t={}", bucket.remaining, bucket.reset_secs);
    if let (Ok(policy), Ok(current)) = (
        HeaderValue::from_str(&policy),
        HeaderValue::from_str(&current),
    ) {
        headers.insert("ratelimit-policy", policy);
        headers.insert("ratelimit", current);
    }
}
