//! The session-authenticated JSON routes: `POST /api-tokens` (mint, 20 an hour per user)
//! and `/api/api-tokens/{id}/reauth-window` for scripts driven by a signed-in owner.
//! Errors are the guild envelope, from its one builder.

use axum::extract::FromRequestParts;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::parse_rfc3339;
use guildgate_core::error::ApiError;
use guildgate_core::limiter::Access;
use guildgate_core::limits::BucketRequest;
use guildgate_core::model::{SOURCE_DASHBOARD, TokenRecord};
use guildgate_guild_api::envelope;
use guildgate_owner::{
    Expiry, MintRequest, OwnerError, close_window as close, mint_token, open_window as open,
    parse_cidrs,
};
use serde::Deserialize;
use serde_json::json;

use crate::session::{SESSION_COOKIE, SignedIn, cookie, is_same_origin, session_of};
use crate::state::DashboardState;

/// A JSON failure with the request id of the session call.
pub struct JsonError(ApiError, String);

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        envelope(&self.0, &self.1)
    }
}

/// The signed-in owner of a JSON call; 401 in the envelope otherwise.
pub struct ApiSession(pub SignedIn);

impl FromRequestParts<DashboardState> for ApiSession {
    type Rejection = JsonError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, JsonError> {
        let request_id = guildgate_core::ids::new_request_id();
        if !is_same_origin(&parts.headers) {
            return Err(JsonError(
                ApiError::forbidden("Cross-site requests with the dashboard session are refused."),
                request_id,
            ));
        }
        match session_of(state, parts).await {
            Ok(Some(signed_in)) => Ok(ApiSession(signed_in)),
            Ok(None) => Err(JsonError(
                ApiError::unauthorized(
                    "Sign in to the dashboard first: this route takes the dashboard's session cookie.",
                ),
                request_id,
            )),
            Err(_) => Err(JsonError(
                ApiError::upstream_unavailable("The database is busy. Retry shortly."),
                request_id,
            )),
        }
    }
}

impl ApiSession {
    /// The call's failure in the guild envelope; a storage failure maps as it does on the
    /// guild surface (`Failure`'s one mapping).
    fn fail(&self, err: impl Into<OwnerError>) -> JsonError {
        let err = match err.into() {
            OwnerError::Api(e) => e,
            OwnerError::Store(cause) => guildgate_guild_api::Failure::from(cause).0,
        };
        JsonError(err, self.0.request_id.clone())
    }
}

/// Token creation per user: 20 an hour across the form and the JSON route.
pub async fn draw_mint_budget(state: &DashboardState, user_id: &str) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .decide(
            &[BucketRequest {
                name: "mint",
                key: format!("mint:user:{user_id}"),
                rate: state.config.mint_per_user,
            }],
            Access::Write,
        )
        .await
        .map_err(|_| {
            ApiError::upstream_unavailable("Token creation is paused briefly. Retry shortly.")
        })?;
    if decision.allowed {
        Ok(())
    } else {
        let mut err = ApiError::rate_limited(decision.retry_after_secs);
        err.message = format!(
            "Token creation is limited to {} per hour per user. Retry in {}s.",
            state.config.mint_per_user.capacity, decision.retry_after_secs
        );
        Err(err)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintBody {
    guild_id: String,
    name: String,
    capabilities: Option<Vec<String>>,
    /// `7`, `30`, `90` (days) or `never`; 90 by default.
    expiry: Option<String>,
    /// An exact RFC 3339 expiry instead of a preset.
    expires_at: Option<String>,
    #[serde(default)]
    allowed_cidrs: Vec<String>,
    #[serde(default)]
    allow_self_reauth: bool,
}

fn mint_request(user_id: &str, body: MintBody) -> Result<MintRequest, ApiError> {
    let expiry = match (body.expiry.as_deref(), body.expires_at.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "expires_at",
                "send expiry or expires_at, not both",
            ));
        }
        (_, Some(at)) => Expiry::At(parse_rfc3339(at).ok_or_else(|| {
            ApiError::validation("expires_at", "expires_at must be an RFC 3339 time")
        })?),
        (Some(preset), None) => Expiry::parse_preset("expiry", preset)?,
        (None, None) => Expiry::DEFAULT,
    };
    Ok(MintRequest {
        guild_id: body.guild_id,
        user_id: user_id.to_owned(),
        name: body.name,
        capabilities: body
            .capabilities
            .map(|caps| CapabilitySet::parse_list("capabilities", &caps.join(",")))
            .transpose()?,
        expiry,
        allowed_cidrs: parse_cidrs(
            "allowed_cidrs",
            body.allowed_cidrs.iter().map(String::as_str),
        )?,
        allow_self_reauth: body.allow_self_reauth,
        source: SOURCE_DASHBOARD.to_owned(),
    })
}

/// `POST /api-tokens`: mint a token for a guild the signed-in user owns.
pub async fn mint(
    State(state): State<DashboardState>,
    session: ApiSession,
    request: Request,
) -> Response {
    match mint_inner(&state, &session, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn mint_inner(
    state: &DashboardState,
    session: &ApiSession,
    request: Request,
) -> Result<Response, JsonError> {
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| {
            session.fail(ApiError::new(
                guildgate_core::ErrorCode::ValidationFailed,
                "The body is too large.",
            ))
        })?;
    let body: MintBody = serde_json::from_slice(&body).map_err(|e| {
        session.fail(ApiError::validation(
            "body",
            format!("invalid JSON body: {e}"),
        ))
    })?;
    // Only the guild's owner mints from the dashboard; another guild is "not found".
    state
        .store
        .guild(&body.guild_id)
        .await
        .map_err(|e| session.fail(e))?
        .filter(|g| g.owner_id == session.0.user_id)
        .ok_or_else(|| session.fail(ApiError::not_found("Guild")))?;
    let request = mint_request(&session.0.user_id, body).map_err(|e| session.fail(e))?;
    draw_mint_budget(state, &session.0.user_id)
        .await
        .map_err(|e| session.fail(e))?;
    let (token, secret) = mint_token(state.owner(), &session.0.actor(state), request)
        .await
        .map_err(|e| session.fail(e))?;
    let mut json = token_json(&token, state.now());
    json["token"] = json!(secret.expose());
    let mut response = (StatusCode::CREATED, axum::Json(json)).into_response();
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&session.0.request_id).expect("ascii"),
    );
    Ok(response)
}

fn token_json(token: &TokenRecord, now: i64) -> serde_json::Value {
    let mut value = json!(token);
    value["status"] = json!(token.status(now));
    value
}

/// A window call from a script that signed in: a session cookie and no Bearer.
pub fn is_session_window_call(request: &Request) -> bool {
    window_token_id(request.uri()).is_some()
        && !request.headers().contains_key(header::AUTHORIZATION)
        && cookie(request.headers(), SESSION_COOKIE).is_some()
}

/// The `{id}` of `/api/api-tokens/{id}/reauth-window`.
fn window_token_id(uri: &axum::http::Uri) -> Option<String> {
    uri.path()
        .strip_prefix("/api/api-tokens/")
        .and_then(|rest| rest.strip_suffix("/reauth-window"))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_owned)
}

/// The token id of a window call (routed by `SessionCallsLayer`, so from the URI).
pub struct WindowToken(String);

impl FromRequestParts<DashboardState> for WindowToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        Ok(WindowToken(window_token_id(&parts.uri).unwrap_or_default()))
    }
}

async fn owned_token(
    state: &DashboardState,
    session: &ApiSession,
    token_id: &str,
) -> Result<TokenRecord, JsonError> {
    let not_found = || session.fail(ApiError::not_found(&format!("Token {token_id}")));
    let Some(token_id) = guildgate_core::ids::canonical_ulid(token_id) else {
        return Err(not_found());
    };
    let token = state
        .store
        .token(&token_id)
        .await
        .map_err(|e| session.fail(e))?
        .ok_or_else(not_found)?;
    let guild = state
        .store
        .guild(&token.guild_id)
        .await
        .map_err(|e| session.fail(e))?;
    if guild.is_none_or(|g| g.owner_id != session.0.user_id) {
        return Err(not_found());
    }
    Ok(token)
}

fn window_response(
    window: Option<&guildgate_core::model::ReauthWindow>,
    request_id: &str,
) -> Response {
    let body = match window {
        Some(window) => json!({ "open": true, "window": window }),
        None => json!({ "open": false }),
    };
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(request_id).expect("ascii"),
    );
    response
}

pub async fn window_state(
    State(state): State<DashboardState>,
    session: ApiSession,
    WindowToken(token_id): WindowToken,
) -> Result<Response, JsonError> {
    let token = owned_token(&state, &session, &token_id).await?;
    let window = state
        .store
        .current_window(&token.id, state.now())
        .await
        .map_err(|e| session.fail(e))?;
    Ok(window_response(window.as_ref(), &session.0.request_id))
}

pub async fn open_window(
    State(state): State<DashboardState>,
    session: ApiSession,
    WindowToken(token_id): WindowToken,
) -> Result<Response, JsonError> {
    let token = owned_token(&state, &session, &token_id).await?;
    let window = open(state.owner(), &session.0.actor(&state), &token)
        .await
        .map_err(|e| session.fail(e))?;
    Ok(window_response(Some(&window), &session.0.request_id))
}

pub async fn close_window(
    State(state): State<DashboardState>,
    session: ApiSession,
    WindowToken(token_id): WindowToken,
) -> Result<Response, JsonError> {
    let token = owned_token(&state, &session, &token_id).await?;
    close(state.owner(), &session.0.actor(&state), &token)
        .await
        .map_err(|e| session.fail(e))?;
    Ok(window_response(None, &session.0.request_id))
}
