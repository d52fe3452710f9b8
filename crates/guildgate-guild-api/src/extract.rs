//! Extractors whose refusals come out in the error envelope: JSON bodies, query strings
//! and pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use guildgate_core::error::ApiError;
use guildgate_core::ids::is_ulid;
use guildgate_core::model::PageRequest;
use serde::de::DeserializeOwned;

use crate::envelope::Failure;
use crate::state::AppState;

/// A JSON body, with its bytes for an idempotency fingerprint (hashed only when the call
/// carries an `Idempotency-Key`).
pub struct GuildJson<T> {
    pub body: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned> FromRequest<AppState> for GuildJson<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Failure> {
        read_json(req, state, None).await
    }
}

/// Like `GuildJson`, but an empty body reads as `T::default()` (DELETEs carrying only an
/// optional `_confirmation`).
pub struct MaybeJson<T>(pub GuildJson<T>);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for MaybeJson<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Failure> {
        read_json(req, state, Some(T::default)).await.map(MaybeJson)
    }
}

async fn read_json<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    when_empty: Option<fn() -> T>,
) -> Result<GuildJson<T>, Failure> {
    {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            Failure(
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::body_too_large(state.config.body_limit)
                } else {
                    ApiError::validation(
                        "body",
                        format!("The request body could not be read: {rejection}"),
                    )
                },
            )
        })?;
        if guildgate_core::nul::json_has_nul(&bytes) {
            return Err(Failure(ApiError::validation(
                "body",
                guildgate_core::nul::NUL_REFUSED,
            )));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if let Some(default) = when_empty {
                return Ok(GuildJson {
                    body: default(),
                    raw: Bytes::new(),
                });
            }
            return Err(Failure(ApiError::validation(
                "body",
                "A JSON object body is required (Content-Type: application/json).",
            )));
        }
        let body = serde_json::from_slice(&bytes).map_err(|err| {
            let message = err.to_string();
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("body")
                .to_owned();
            Failure(ApiError::validation(
                &field,
                format!("Invalid JSON body: {message}"),
            ))
        })?;
        Ok(GuildJson { body, raw: bytes })
    }
}

/// A query string deserialized into `T`.
pub struct GuildQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for GuildQuery<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Failure> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(query).map(GuildQuery)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(query: &str) -> Result<T, Failure> {
    // What axum's `Query` does, without building a URI around the query first.
    serde_urlencoded::from_str(query).map_err(|err| {
        Failure(ApiError::validation(
            "query",
            format!("Invalid query: Failed to deserialize query string: {err}"),
        ))
    })
}

/// `?limit=&cursor=`: 1 to 100 items (25 by default), newest first.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

pub const DEFAULT_PAGE: u32 = 25;
pub const MAX_PAGE: u32 = 100;

impl PageQuery {
    pub fn to_request(&self) -> Result<PageRequest, Failure> {
        let limit = match &self.limit {
            None => DEFAULT_PAGE,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(Failure(ApiError::validation(
                        "limit",
                        format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                    )));
                }
            },
        };
        let before = match &self.cursor {
            None => None,
            Some(c) if c.is_empty() => None,
            Some(c) if is_ulid(c) => Some(c.clone()),
            Some(_) => {
                return Err(Failure(ApiError::validation(
                    "cursor",
                    "cursor must be a next_cursor value from a previous page",
                )));
            }
        };
        Ok(PageRequest { limit, before })
    }
}
