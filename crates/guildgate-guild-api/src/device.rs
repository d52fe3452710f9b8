//! The OAuth 2.0 device authorization grant (RFC 8628) that pairs an MCP client:
//! `POST /oauth/device/code` and `POST /oauth/device/token`. Errors use OAuth's shape,
//! `{"error": "...", "error_description": "..."}`, as device-flow clients expect. The
//! owner approves a code with `guildgate admin device approve` (or, later, the dashboard).

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::DAY;
use guildgate_core::device::{
    DEFAULT_INTERVAL_SECS, DEVICE_CODE_TTL, DeviceCode, DeviceStatus, GRANT_TYPE, Poll,
    new_user_code,
};
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::issuance::mint_snapshot;
use guildgate_core::limiter::Access;
use guildgate_core::limits::{BucketRequest, Rate};
use guildgate_core::model::{SOURCE_MCP, TokenRecord};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::context::client_ip;
use crate::state::AppState;

/// Per client IP, as the rate-limits doc sets them.
const CODE_RATE: Rate = Rate::new(20, 20, 600);
const TOKEN_RATE: Rate = Rate::new(120, 120, 600);
/// Tokens paired for MCP expire like the dashboard's default.
const TOKEN_LIFETIME_DAYS: i64 = 90;

struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        tracing::error!(%err, "device flow storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "Try again shortly.",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Form-encoded (as RFC 8628 says) or JSON.
#[derive(Deserialize, Default)]
struct DeviceParams {
    guild_id: Option<String>,
    client_name: Option<String>,
    client_id: Option<String>,
    grant_type: Option<String>,
    device_code: Option<String>,
}

async fn params(req: Request, state: &AppState) -> Result<DeviceParams, OAuthError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bad = |e: String| OAuthError::bad("invalid_request", e);
    if is_json {
        Json::<DeviceParams>::from_request(req, state)
            .await
            .map(|j| j.0)
            .map_err(|e| bad(e.body_text()))
    } else {
        Form::<DeviceParams>::from_request(req, state)
            .await
            .map(|f| f.0)
            .map_err(|e| bad(e.body_text()))
    }
}

/// `client` is the caller's address, read from the request before any await (a request
/// body may not be held across one).
async fn limit(
    state: &AppState,
    client: String,
    route: &str,
    rate: Rate,
) -> Result<(), OAuthError> {
    let key = format!("{route}:{client}");
    let decision = state
        .limiter
        .decide(
            &[BucketRequest {
                name: "ip",
                key,
                rate,
            }],
            Access::Write,
        )
        .await
        .map_err(|_| {
            OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The rate-limit store is unreachable. Retry shortly.",
            )
        })?;
    if decision.allowed {
        return Ok(());
    }
    let mut err = OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "Too many requests from this address. Retry in {}s.",
            decision.retry_after_secs
        ),
    );
    err.retry_after = Some(decision.retry_after_secs);
    Err(err)
}

fn code_hash(state: &AppState, device_code: &str) -> [u8; 32] {
    state.hasher.hash(&format!("device:{device_code}"))
}

async fn device_code(State(state): State<AppState>, req: Request) -> Result<Response, OAuthError> {
    let client = client_ip(&state, &req).to_string();
    limit(&state, client, "device-code", CODE_RATE).await?;
    let p = params(req, &state).await?;
    let guild_id = p
        .guild_id
        .as_deref()
        .ok_or_else(|| OAuthError::bad("invalid_request", "guild_id is required"))?;
    let guild_id = Snowflake::parse("guild_id", guild_id.trim())
        .map_err(|e| OAuthError::bad("invalid_request", e.message))?;
    let client_name = p
        .client_name
        .or(p.client_id)
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let client_name = client_name.unwrap_or_else(|| "MCP client".to_owned());
    if client_name.chars().count() > 100 {
        return Err(OAuthError::bad(
            "invalid_request",
            "client_name must be at most 100 characters",
        ));
    }
    let guild = state
        .store
        .guild(guild_id.as_str())
        .await?
        .ok_or_else(|| OAuthError::bad("invalid_request", "unknown guild_id"))?;
    if !guild.mcp_enabled {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "feature_not_enabled",
            "MCP is not enabled for this guild (FEATURE_NOT_ENABLED). The owner turns it on with `guildgate admin guild set-feature --mcp on`.",
        ));
    }
    let now = state.clock.now();
    let secret: [u8; 32] = rand::random();
    let device_code = URL_SAFE_NO_PAD.encode(secret);
    let code = DeviceCode {
        user_code: new_user_code(),
        guild_id: guild.id.clone(),
        client_name,
        created_at: now,
        expires_at: now + DEVICE_CODE_TTL,
        interval_secs: DEFAULT_INTERVAL_SECS,
        last_polled_at: None,
        status: DeviceStatus::Pending,
        approved_by: None,
        capabilities: None,
    };
    let mut tx = state.store.begin().await?;
    tx.insert_device_code(&code, &code_hash(&state, &device_code))
        .await?;
    tx.commit().await?;
    let base = state.config.dashboard_base_url.trim_end_matches('/');
    let verification_uri = format!("{base}/dashboard/{}/settings/api-mcp?tab=mcp", guild.id);
    Ok(Json(json!({
        "device_code": device_code,
        "user_code": code.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}&user_code={}", code.user_code),
        "expires_in": DEVICE_CODE_TTL / 1000,
        "interval": code.interval_secs,
    }))
    .into_response())
}

async fn device_token(State(state): State<AppState>, req: Request) -> Result<Response, OAuthError> {
    let client = client_ip(&state, &req).to_string();
    limit(&state, client, "device-token", TOKEN_RATE).await?;
    let p = params(req, &state).await?;
    if p.grant_type.as_deref() != Some(GRANT_TYPE) {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            format!("grant_type must be {GRANT_TYPE}"),
        ));
    }
    let device_code = p
        .device_code
        .ok_or_else(|| OAuthError::bad("invalid_request", "device_code is required"))?;
    let hash = code_hash(&state, &device_code);
    let mut code = state
        .store
        .device_code(&hash)
        .await?
        .ok_or_else(|| OAuthError::bad("invalid_grant", "unknown device_code"))?;
    let now = state.clock.now();
    let outcome = code.poll(now);
    let mut tx = state.store.begin().await?;
    let answer = match outcome {
        Poll::Pending => {
            code.last_polled_at = Some(now);
            tx.update_device_code(&code, None).await?;
            Err(OAuthError::bad(
                "authorization_pending",
                "The owner has not approved this code yet.",
            ))
        }
        Poll::SlowDown { interval_secs } => {
            code.last_polled_at = Some(now);
            code.interval_secs = interval_secs;
            tx.update_device_code(&code, None).await?;
            Err(OAuthError::bad(
                "slow_down",
                format!("Poll at most every {interval_secs} seconds."),
            ))
        }
        Poll::Expired => Err(OAuthError::bad(
            "expired_token",
            "The code expired; start pairing again.",
        )),
        Poll::Denied => Err(OAuthError::bad(
            "access_denied",
            "The owner denied this pairing.",
        )),
        Poll::Used => Err(OAuthError::bad(
            "invalid_grant",
            "This code was already used.",
        )),
        Poll::Issue => issue(&state, &mut code, &mut *tx, now).await,
    };
    tx.commit().await?;
    answer
}

/// Mints the paired token, once: its snapshot is what the owner approved, checked again
/// against the issuer and the guild as they are now.
async fn issue(
    state: &AppState,
    code: &mut DeviceCode,
    tx: &mut dyn guildgate_storage::WriteTx,
    now: i64,
) -> Result<Response, OAuthError> {
    let denied = |why: String| OAuthError::bad("access_denied", why);
    let issuer = code
        .approved_by
        .clone()
        .ok_or_else(|| denied("no issuer recorded".into()))?;
    let guild = state
        .store
        .guild(&code.guild_id)
        .await?
        .ok_or_else(|| denied("the guild is gone".into()))?;
    let member = state.store.member(&guild.id, &issuer).await?;
    let expires_at = Some(now + TOKEN_LIFETIME_DAYS * DAY);
    let snapshot = mint_snapshot(&guild, member.as_ref(), code.capabilities, expires_at, now)
        .map_err(|e| denied(e.message))?;
    let secret = GUILD_TOKEN.generate();
    let token = TokenRecord {
        id: new_ulid(),
        guild_id: guild.id.clone(),
        user_id: issuer,
        name: code.client_name.clone(),
        capabilities: snapshot,
        allowed_cidrs: vec![],
        allow_self_reauth: false,
        created_at: now,
        expires_at,
        revoked_at: None,
        revoked_reason: None,
        last_used_at: None,
        last_used_ip: None,
        source: SOURCE_MCP.to_owned(),
        replaced_by: None,
    };
    tx.insert_token(&token, &state.hasher.hash(secret.expose()))
        .await?;
    code.status = DeviceStatus::Consumed;
    code.last_polled_at = Some(now);
    tx.update_device_code(code, Some(&token.id)).await?;
    let mut event = AuditEvent::cli(now, Some(&guild.id), "device.issue", Some(&token.id));
    event.actor_source = guildgate_core::audit::ActorSource::Mcp;
    event.token_id = Some(token.id.clone());
    event.token_name = Some(token.name.clone());
    tx.append_audit(&event).await?;
    let mut response = Json(json!({
        "access_token": secret.expose(),
        "token_type": "Bearer",
        "token_id": token.id,
        "guild_id": token.guild_id,
        "capabilities": token.capabilities.names(),
        "expires_at": expires_at.map(guildgate_core::clock::to_rfc3339),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The two device-flow routes.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/oauth/device/code", post(device_code))
        .route("/oauth/device/token", post(device_token))
        .with_state(state)
}
