//! `POST /api/security/leaked-tokens`: where a secret scanner reports guildgate secrets it
//! found in public. The body is GitHub's partner format, a JSON array of
//! `{"token", "type", "url", "source"}`. Anyone may report; the answer is the same
//! `202 {"received": n}` whether any string was real, and the revocations run after the
//! answer, so neither body nor timing tells which were.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_request_id;
use guildgate_core::limiter::Access;
use guildgate_core::limits::BucketRequest;
use guildgate_guild_api::envelope;
use guildgate_owner::{LeakReport, MAX_REPORTED, revoke_leaked};
use serde::Deserialize;
use serde_json::json;

use crate::session::client_ip;
use crate::state::DashboardState;

#[derive(Deserialize)]
struct Reported {
    token: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
    /// The scanner's name for the pattern; not needed, the prefix says it.
    #[serde(default, rename = "type")]
    _kind: Option<String>,
}

pub async fn report(State(state): State<DashboardState>, request: Request) -> Response {
    let request_id = new_request_id();
    let (parts, body) = request.into_parts();
    let ip = client_ip(&state, &parts);
    let budget = match state
        .limiter
        .decide(
            &[BucketRequest {
                name: "leak-reports",
                key: format!("leaks:ip:{ip}"),
                rate: state.config.leak_reports_per_ip,
            }],
            Access::Write,
        )
        .await
    {
        Ok(budget) => budget,
        Err(_) => {
            return envelope(
                &ApiError::upstream_unavailable("Reports are paused briefly. Retry shortly."),
                &request_id,
            );
        }
    };
    if !budget.allowed {
        return envelope(
            &ApiError::rate_limited(budget.retry_after_secs),
            &request_id,
        );
    }
    let Ok(body) = axum::body::to_bytes(body, 256 * 1024).await else {
        return envelope(
            &ApiError::validation("body", "a report is at most 256 KiB"),
            &request_id,
        );
    };
    let reported: Vec<Reported> = match serde_json::from_slice(&body) {
        Ok(reported) => reported,
        Err(e) => {
            return envelope(
                &ApiError::validation(
                    "body",
                    format!(
                        "expected a JSON array of {{\"token\", \"type\", \"url\", \"source\"}}: {e}"
                    ),
                ),
                &request_id,
            );
        }
    };
    if reported.len() > MAX_REPORTED {
        return envelope(
            &ApiError::validation("body", format!("at most {MAX_REPORTED} strings per report")),
            &request_id,
        );
    }
    let received = reported.len();
    let source = reported
        .iter()
        .find_map(|r| r.source.clone())
        .unwrap_or_else(|| "unnamed scanner".to_owned());
    let reports: Vec<LeakReport> = reported
        .into_iter()
        .map(|r| LeakReport {
            secret: r.token,
            url: r.url,
        })
        .collect();
    let worker = state.clone();
    tokio::spawn(async move {
        let now = worker.now();
        match revoke_leaked(worker.owner(), &reports, &source, Some(ip.to_string()), now).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(revoked = n, %source, "revoked secrets reported as leaked"),
            Err(err) => tracing::error!(%err, "could not process a leak report"),
        }
    });
    (
        StatusCode::ACCEPTED,
        [("x-request-id", request_id)],
        axum::Json(json!({ "received": received })),
    )
        .into_response()
}
