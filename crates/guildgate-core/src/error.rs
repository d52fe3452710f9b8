//! The guild surface's error codes, each with its HTTP status and retryable flag, in one
//! table; and `ApiError`, the one error every guild handler returns. The envelope itself is
//! built in one place in the HTTP layer from these fields.

use serde_json::{Map, Value};

macro_rules! error_codes {
    ($($variant:ident => $name:literal, $status:literal, $retryable:literal;)*) => {
        /// Every code the guild surface can emit (the spec's fourteen, FEATURE_NOT_ENABLED,
        /// and guildgate's documented additions).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name),* }
            }

            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }

            pub const fn retryable(self) -> bool {
                match self { $(ErrorCode::$variant => $retryable),* }
            }
        }
    };
}

error_codes! {
    Unauthorized => "UNAUTHORIZED", 401, false;
    Forbidden => "FORBIDDEN", 403, false;
    CapabilityDenied => "CAPABILITY_DENIED", 403, false;
    InvalidConfirmation => "INVALID_CONFIRMATION", 422, false;
    ReAuthRequired => "RE_AUTH_REQUIRED", 403, false;
    NotFound => "NOT_FOUND", 404, false;
    ValidationFailed => "VALIDATION_FAILED", 400, false;
    RateLimited => "RATE_LIMITED", 429, true;
    UpstreamUnavailable => "UPSTREAM_UNAVAILABLE", 503, true;
    TokenExpired => "TOKEN_EXPIRED", 401, false;
    TokenRevoked => "TOKEN_REVOKED", 401, false;
    TokenIpNotAllowed => "TOKEN_IP_NOT_ALLOWED", 403, false;
    CorsDenied => "CORS_DENIED", 403, false;
    InternalError => "INTERNAL_ERROR", 500, true;
    FeatureNotEnabled => "FEATURE_NOT_ENABLED", 403, false;
    AlreadyClaimed => "ALREADY_CLAIMED", 409, false;
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED", 422, false;
    IdempotencyKeyInUse => "IDEMPOTENCY_KEY_IN_USE", 409, true;
}

/// A failure to report to the caller. `message` is safe to show an operator; nothing
/// internal goes in it (see [`ApiError::internal`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Map<String, Value>>,
    /// Seconds to wait, sent as `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found."))
    }

    /// A route that exists, called with a method it does not answer (`Allow` lists those
    /// it does). `NOT_FOUND`, not a 405 code of its own: the specification's list of codes
    /// is locked, and a client may handle exactly those.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!(
                "Route {path} does not answer {method}; the Allow header lists the methods it does."
            ),
        )
    }

    /// A request body over the surface's limit of `limit` bytes: a body that fails
    /// validation (`VALIDATION_FAILED`, 400), as the locked list of codes has it.
    pub fn body_too_large(limit: usize) -> Self {
        Self::validation(
            "body",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_detail("field", field)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("Rate limit exceeded. Retry in {retry_after_secs}s."),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    pub fn upstream_unavailable(message: impl Into<String>) -> Self {
        let mut err = Self::new(ErrorCode::UpstreamUnavailable, message);
        err.retry_after_secs = Some(1);
        err
    }

    /// The only constructor for 500s: the cause goes to the log, never to the caller.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalError,
            "An internal error occurred. Retry later, and quote the request_id if it persists.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_spec() {
        assert_eq!(ErrorCode::InvalidConfirmation.http_status(), 422);
        assert_eq!(ErrorCode::ReAuthRequired.http_status(), 403);
        let retryable: Vec<_> = ErrorCode::ALL
            .iter()
            .filter(|c| c.retryable())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            retryable,
            [
                "RATE_LIMITED",
                "UPSTREAM_UNAVAILABLE",
                "INTERNAL_ERROR",
                "IDEMPOTENCY_KEY_IN_USE"
            ]
        );
    }
}
