//! The one place a guild error becomes an HTTP response. Handlers return `Failure`; the
//! surface middleware, which knows the request id, renders every envelope through
//! [`envelope`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::error::ApiError;
use guildgate_storage::StoreError;
use serde_json::{Value, json};

use crate::enforcer::UpstreamError;

/// A handler's error: an `ApiError`, carried to the middleware in the response extensions.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<guildgate_core::limiter::LimiterDown> for Failure {
    fn from(_: guildgate_core::limiter::LimiterDown) -> Self {
        Self(ApiError::upstream_unavailable(
            "The rate-limit store is unreachable; writes are refused until it is back. Retry shortly.",
        ))
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self(ApiError::upstream_unavailable(
                    "The database is busy or unreachable. Retry shortly.",
                ))
            }
            other => {
                tracing::error!(cause = %other, "storage failure");
                Self(ApiError::internal())
            }
        }
    }
}

impl From<UpstreamError> for Failure {
    fn from(err: UpstreamError) -> Self {
        tracing::warn!(cause = %err, "upstream action failed");
        Self(ApiError::upstream_unavailable(format!(
            "The action could not be carried out upstream: {err}. Nothing was recorded; retry later."
        )))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}

/// `{"error": {code, message, retryable, request_id, details?}}`, with `Retry-After`.
pub fn envelope(err: &ApiError, request_id: &str) -> Response {
    let mut body = json!({
        "code": err.code.as_str(),
        "message": err.message,
        "retryable": err.code.retryable(),
        "request_id": request_id,
    });
    if let Some(details) = &err.details {
        body["details"] = Value::Object(details.clone());
    }
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(json!({ "error": body }))).into_response();
    if let Some(secs) = err.retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
