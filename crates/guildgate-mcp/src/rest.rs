//! The REST client behind every tool: one call, retried on the codes the envelope marks
//! retryable (honouring `Retry-After`, else 1 s doubling to 30 s with jitter, at most four
//! retries), never on anything else. Every non-GET carries one `Idempotency-Key` for all
//! its attempts, so a retry after a lost answer never acts twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use guildgate_core::ErrorCode;
use serde_json::{Map, Value, json};

use crate::Error;

/// Waits for a duration; injectable so tests need not wait.
pub type SleepFn = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// `tokio::time::sleep`.
pub fn tokio_sleep() -> SleepFn {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

#[derive(Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (4).
    pub max_retries: u32,
    /// The first back-off when the answer names no `Retry-After` (1 s).
    pub initial_backoff: Duration,
    /// The longest back-off (30 s).
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this ends the retries at once (60 s): the caller gets
    /// the error and its `retry_after` instead of a tool call that hangs.
    pub max_retry_after: Duration,
    pub sleep: SleepFn,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            sleep: tokio_sleep(),
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The back-off before retry number `retry` (0-based): `initial * 2^retry`, capped,
    /// with ±25 % jitter, never above the cap.
    pub fn backoff(&self, retry: u32) -> Duration {
        let base = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        base.mul_f64(rand::random_range(0.75..=1.25))
            .min(self.max_backoff)
    }
}

/// What a call came back with, after any retries.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status, or `None` when guildgate could not be reached at all.
    pub status: Option<u16>,
    /// The JSON body; on failure always an envelope `{"error": {code, message, ...}}`.
    pub body: Value,
    /// Attempts made (1 when nothing was retried).
    pub attempts: u32,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The envelope's code on failure.
    pub fn error_code(&self) -> Option<&str> {
        if self.is_success() {
            return None;
        }
        self.body["error"]["code"].as_str()
    }
}

/// An envelope built on this side (bad arguments, guildgate unreachable), in the server's
/// shape. Its `request_id` is made here, in the server's form: the envelope always carries
/// one, but this call never reached guildgate, so no server log holds it.
pub fn local_envelope(
    code: ErrorCode,
    message: &str,
    details: Option<&Map<String, Value>>,
) -> Value {
    let mut error = json!({
        "code": code.as_str(),
        "message": message,
        "retryable": code.retryable(),
        "request_id": guildgate_core::ids::new_request_id(),
    });
    if let Some(details) = details {
        error["details"] = Value::Object(details.clone());
    }
    json!({ "error": error })
}

fn code_named(name: &str) -> Option<ErrorCode> {
    ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
}

/// One HTTP exchange's outcome, before the retry decision.
struct Exchange {
    status: Option<u16>,
    retry_after: Option<u64>,
    body: Value,
    retryable: bool,
}

#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Checks a base URL this build can reach and drops any trailing slash.
pub fn normalise_base_url(base_url: &str) -> Result<String, Error> {
    let base = base_url.trim().trim_end_matches('/');
    let host = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    if host.is_none_or(str::is_empty) {
        return Err(Error::Config(format!(
            "{base_url:?} is not a base URL such as https://guildgate.example or http://127.0.0.1:8080"
        )));
    }
    Ok(base.to_owned())
}

/// The HTTP client every request of this crate uses.
pub(crate) fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .user_agent(concat!("guildgate-mcp/", env!("CARGO_PKG_VERSION")))
        // Tells the server to audit these calls with actor_source=mcp.
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::HeaderName::from_static("x-guildgate-client"),
            reqwest::header::HeaderValue::from_static("mcp"),
        )]))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))
}

impl RestClient {
    pub fn new(base_url: &str, token: &str, retry: RetryPolicy) -> Result<Self, Error> {
        Ok(Self {
            http: http_client()?,
            base_url: normalise_base_url(base_url)?,
            token: token.to_owned(),
            retry,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `method path` (with `body` as JSON), retrying what the envelope says is
    /// retryable. `RE_AUTH_REQUIRED` and every other non-retryable code return at once.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.send_with(method, path, body, true).await
    }

    /// [`Self::send`], or a single attempt when `retry` is false.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        retry: bool,
    ) -> Answer {
        let max_retries = if retry { self.retry.max_retries } else { 0 };
        let idempotency_key = (method != "GET").then(|| ulid::Ulid::new().to_string());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let exchange = self
                .exchange(method, path, body, idempotency_key.as_deref())
                .await;
            let done = |exchange: Exchange| Answer {
                status: exchange.status,
                body: exchange.body,
                attempts,
            };
            if !exchange.retryable || attempts > max_retries {
                return done(exchange);
            }
            let delay = match exchange.retry_after {
                Some(secs) => Duration::from_secs(secs),
                None => self.retry.backoff(attempts - 1),
            };
            if delay > self.retry.max_retry_after {
                return done(exchange);
            }
            tracing::warn!(
                method,
                path,
                code = exchange.body["error"]["code"].as_str().unwrap_or("?"),
                attempt = attempts,
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            (self.retry.sleep)(delay).await;
        }
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Exchange {
        let url = format!("{}{path}", self.base_url);
        let method_ =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self
            .http
            .request(method_, &url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                // Nothing answered: safe to retry, a write carries its Idempotency-Key.
                let message = format!("Could not reach guildgate at {}: {e}", self.base_url);
                return Exchange {
                    status: None,
                    retry_after: None,
                    body: local_envelope(ErrorCode::UpstreamUnavailable, &message, None),
                    retryable: true,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                let message = format!("The answer from guildgate was cut short: {e}");
                return Exchange {
                    status: None,
                    retry_after,
                    body: local_envelope(ErrorCode::UpstreamUnavailable, &message, None),
                    retryable: true,
                };
            }
        };
        let parsed: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
            Some(json!({}))
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if (200..300).contains(&status) {
            return Exchange {
                status: Some(status),
                retry_after,
                body: parsed.unwrap_or_else(
                    || json!({ "raw": String::from_utf8_lossy(&bytes).into_owned() }),
                ),
                retryable: false,
            };
        }
        match parsed.filter(|b| b["error"]["code"].is_string()) {
            Some(body) => {
                let code = body["error"]["code"].as_str().unwrap_or_default();
                let retryable = code != ErrorCode::ReAuthRequired.as_str()
                    && body["error"]["retryable"]
                        .as_bool()
                        .or_else(|| code_named(code).map(ErrorCode::retryable))
                        .unwrap_or(false);
                Exchange {
                    status: Some(status),
                    retry_after,
                    body,
                    retryable,
                }
            }
            None => {
                // Not an envelope (a proxy's page, say): shape one from the status.
                let code = match status {
                    429 => ErrorCode::RateLimited,
                    502..=504 => ErrorCode::UpstreamUnavailable,
                    401 => ErrorCode::Unauthorized,
                    403 => ErrorCode::Forbidden,
                    404 => ErrorCode::NotFound,
                    400 | 422 => ErrorCode::ValidationFailed,
                    _ => ErrorCode::InternalError,
                };
                let message = format!("guildgate answered HTTP {status} without an error envelope");
                Exchange {
                    status: Some(status),
                    retry_after,
                    body: local_envelope(code, &message, None),
                    retryable: code.retryable(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_thirty_with_jitter() {
        let policy = RetryPolicy::default();
        for (retry, base) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)] {
            let d = policy.backoff(retry).as_secs_f64();
            assert!(d >= base * 0.75 && d <= base * 1.25, "{retry}: {d}");
        }
        for retry in [5, 6, 31, 40] {
            let d = policy.backoff(retry).as_secs_f64();
            assert!((22.5..=30.0).contains(&d), "{retry}: {d}");
        }
    }

    #[test]
    fn base_urls_lose_their_trailing_slash() {
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalise_base_url("https://gg.example").unwrap(),
            "https://gg.example"
        );
        assert!(normalise_base_url("https://").is_err());
        assert!(normalise_base_url("127.0.0.1:8080").is_err());
    }

    #[test]
    fn local_envelopes_have_the_server_shape() {
        let mut details = Map::new();
        details.insert("field".into(), json!("user_id"));
        let mut e = local_envelope(ErrorCode::ValidationFailed, "bad", Some(&details));
        let request_id = e["error"]["request_id"].take();
        assert!(
            request_id
                .as_str()
                .is_some_and(|id| id.starts_with("req_") && id.len() == 30),
            "{request_id}"
        );
        assert_eq!(
            e,
            json!({"error": {"code": "VALIDATION_FAILED", "message": "bad", "retryable": false,
                "request_id": null, "details": {"field": "user_id"}}})
        );
    }
}
