//! The one error type of the key-authenticated surfaces and its one rendering:
//! `{"error": "<message>"}`; a rate-limit refusal also carries `statusCode` and
//! `retryAfter` (the tasks reference's documented body, still an `error` string).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guildgate_storage::StoreError;
use serde_json::json;

#[derive(Clone, Debug)]
pub struct MessageError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

/// The audit outcome of a refused call, carried to the middleware.
#[derive(Clone, Copy, Debug)]
pub struct Outcome(pub &'static str);

impl MessageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        }
    }

    fn outcome(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "BAD_REQUEST",
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            409 => "CONFLICT",
            422 => "UNPROCESSABLE",
            429 => "RATE_LIMITED",
            503 => "UNAVAILABLE",
            _ => "INTERNAL_ERROR",
        }
    }
}

impl From<guildgate_core::limiter::LimiterDown> for MessageError {
    fn from(_: guildgate_core::limiter::LimiterDown) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable",
            )
        }
    }
}

impl From<StoreError> for MessageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self {
                    retry_after: Some(1),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Service temporarily unavailable",
                    )
                }
            }
            other => {
                tracing::error!(cause = %other, "storage failure");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for MessageError {
    fn into_response(self) -> Response {
        let body = match self.retry_after {
            Some(after) if self.status == StatusCode::TOO_MANY_REQUESTS => {
                json!({ "statusCode": 429, "error": "Too Many Requests", "retryAfter": after })
            }
            _ => json!({ "error": self.message }),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after));
        }
        response.extensions_mut().insert(Outcome(self.outcome()));
        response
    }
}

pub type Answer = Result<Response, MessageError>;
