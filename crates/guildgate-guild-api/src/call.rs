//! The guard pipeline as a handler sees it. `Call` (an extractor) authenticates the token
//! and checks the capability; `confirm` checks a destructive call's sentinel and re-auth
//! window; `admit` settles idempotency and draws from the rate-limit buckets; `Write` then
//! commits the change with its audit row and saved response in one transaction.

use guildgate_core::limiter::Access;
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::audit::OUTCOME_SUCCESS;
use guildgate_core::error::{ApiError, ErrorCode};
use guildgate_core::guard::{self, Caller};
use guildgate_core::ids::Snowflake;
use guildgate_core::limits::BucketRequest;
use guildgate_core::policy::{EndpointPolicy, Tier};
use guildgate_core::sentinel::{self, SentinelTemplate};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::WriteTx;
use guildgate_storage::idempotent::{self, HeldWrite, MAX_IDEMPOTENCY_KEY};
use serde::Serialize;

use crate::context::{CallerInfo, RequestContext};
use crate::envelope::Failure;
use crate::state::AppState;

pub struct Call {
    pub state: AppState,
    pub ctx: Arc<RequestContext>,
    pub policy: &'static EndpointPolicy,
    pub caller: Caller,
    /// The guild of the route, validated; the token's own guild on token routes.
    pub guild_id: String,
    idempotency_key: Option<String>,
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "Missing Authorization header. Send `Authorization: Bearer arkpat_...`.",
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("The Authorization header is not valid text."))?;
    guildgate_http::bearer_credentials(value).ok_or_else(|| {
        ApiError::unauthorized(if value.contains(' ') {
            "The Authorization scheme must be Bearer."
        } else {
            "The Authorization header must be `Bearer <token>`."
        })
    })
}

fn idempotency_key(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(value) = parts.headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Ok(Some(key.to_owned())),
        _ => Err(ApiError::validation(
            "Idempotency-Key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters."),
        )),
    }
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let ctx = parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .ok_or_else(|| Failure(ApiError::internal()))?;
        let policy = ctx.policy.ok_or_else(|| Failure(ApiError::internal()))?;

        let presented = bearer(parts)?;
        let token = GUILD_TOKEN
            .parse(presented)
            .map_err(|why| ApiError::unauthorized(format!("Malformed token: {why}.")))?;
        let found = state
            .tokens
            .find(&*state.store, state.hasher.hash(token.expose()))
            .await?;
        if let Some(found) = &found {
            ctx.record().caller = Some(CallerInfo {
                token_id: found.token.id.clone(),
                token_name: found.token.name.clone(),
                user_id: found.token.user_id.clone(),
                guild_id: found.token.guild_id.clone(),
                source: found.token.source.clone(),
            });
        }
        let now = state.clock.now();
        let caller = guard::authenticate(found, now, ctx.client_ip, None)?;

        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Failure(ApiError::internal()))?;
        let guild_id = match params.iter().find(|(name, _)| *name == "guild_id") {
            Some((_, raw)) => {
                let guild = Snowflake::parse("guild_id", raw)?;
                if guild.as_str() != caller.token.guild_id {
                    return Err(ApiError::forbidden("This token cannot act on that guild.").into());
                }
                guild.as_str().to_owned()
            }
            None => caller.token.guild_id.clone(),
        };
        if let Some(capability) = policy.capability {
            guard::require(&caller, capability)?;
        }
        let idempotency_key = idempotency_key(parts)?;
        state
            .audit
            .touch_token(&caller.token.id, now, ctx.client_ip)
            .await;
        Ok(Call {
            state: state.clone(),
            ctx,
            policy,
            caller,
            guild_id,
            idempotency_key,
        })
    }
}

/// What `admit` decided for a write.
pub enum Admission {
    Proceed(Box<Write>),
    /// The saved response of an earlier request with the same key.
    Replay(Response),
}

impl Call {
    pub fn issuer(&self) -> &str {
        &self.caller.token.user_id
    }

    /// For the upstream's own audit log: this token's name and the caller's reason.
    pub fn action_context(&self, reason: Option<&str>) -> crate::enforcer::ActionContext {
        crate::enforcer::ActionContext {
            token_name: self.caller.token.name.clone(),
            reason: reason.map(str::to_owned),
        }
    }

    pub fn set_target(&self, target: impl Into<String>) {
        self.ctx.record().target = Some(target.into());
    }

    /// The destructive guard: the sentinel rendered from validated fields (the route's guild
    /// is added here), compared with `_confirmation`, then the token's re-auth window.
    pub async fn confirm(
        &self,
        values: &[(&str, String)],
        presented: Option<&str>,
    ) -> Result<(), Failure> {
        let template: SentinelTemplate = self
            .policy
            .sentinel
            .ok_or_else(|| Failure(ApiError::internal()))?;
        let mut all = vec![("guildId", self.guild_id.as_str())];
        all.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
        let expected = template.render(&all);
        sentinel::verify(template, &expected, presented)?;
        let window = self
            .state
            .store
            .current_window(&self.caller.token.id, self.state.clock.now())
            .await?;
        if window.is_none() {
            let url = self.state.reauth_url(&self.guild_id, &self.caller.token.id);
            return Err(guard::reauth_required(&url).into());
        }
        Ok(())
    }

    /// Draws one call from the per-IP (on the public surface), per-token and per-user
    /// buckets of `tier`, all or nothing.
    pub async fn draw(&self, tier: Tier) -> Result<(), Failure> {
        let limits = &self.state.config.limits;
        let token = &self.caller.token;
        let mut buckets = vec![
            BucketRequest {
                name: tier_bucket_name(tier, false),
                key: ["tok:", &token.id, ":", tier.as_str()].concat(),
                rate: limits.token_rate(tier),
            },
            BucketRequest {
                name: tier_bucket_name(tier, true),
                key: [
                    "usr:",
                    &token.guild_id,
                    ":",
                    &token.user_id,
                    ":",
                    tier.as_str(),
                ]
                .concat(),
                rate: limits.aggregate_rate(tier),
            },
        ];
        if self.ctx.public {
            buckets.push(self.ctx.ip_bucket(&self.state));
        }
        let access = if tier == Tier::Read {
            Access::Read
        } else {
            Access::Write
        };
        let decision = self.state.limiter.decide(&buckets, access).await?;
        let mut record = self.ctx.record();
        // Decided here with the others, all or nothing: a refusal takes from no bucket.
        record.ip_charged = self.ctx.public;
        record.buckets = decision.buckets;
        if !decision.allowed {
            return Err(ApiError::rate_limited(decision.retry_after_secs).into());
        }
        Ok(())
    }

    /// For a write: replays a saved response for a reused `Idempotency-Key`, else draws
    /// from the buckets and opens the transaction the change will commit in.
    pub async fn admit(self, tier: Tier, body: Option<&[u8]>) -> Result<Admission, Failure> {
        let now = self.state.clock.now();
        let admission = idempotent::admit(
            &self.state.store,
            &self.caller.token.id,
            self.idempotency_key.as_deref(),
            || idempotent::fingerprint(&self.ctx.method, &self.ctx.path, body),
            now,
        )
        .await?;
        let held = match admission {
            idempotent::Admission::Proceed(hold) => hold,
            idempotent::Admission::Replay { status, body } => {
                return Ok(Admission::Replay(json_response(status, body, true)));
            }
            idempotent::Admission::InFlight => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyInUse,
                    "A request with this Idempotency-Key is still being processed. Retry shortly.",
                )
                .into());
            }
            idempotent::Admission::Mismatch => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "This Idempotency-Key was already used with a different request. Use a new key.",
                )
                .into());
            }
        };
        // Drawn before the transaction opens: a refused call never takes the writer.
        self.draw(tier).await?;
        let held = held.begin().await?;
        Ok(Admission::Proceed(Box::new(Write { call: self, held })))
    }
}

fn tier_bucket_name(tier: Tier, aggregate: bool) -> &'static str {
    match (tier, aggregate) {
        (Tier::Read, false) => "token-read",
        (Tier::Reversible, false) => "token-reversible",
        (Tier::Destructive, false) => "token-destructive",
        (Tier::Read, true) => "user-read",
        (Tier::Reversible, true) => "user-reversible",
        (Tier::Destructive, true) => "user-destructive",
    }
}

pub fn json_response(status: u16, body: String, replayed: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert(
            guildgate_core::audit::REPLAYED_HEADER,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// An admitted write. Dropped without `finish`, its transaction rolls back and its
/// idempotency key is let go, so a retry runs afresh.
pub struct Write {
    pub call: Call,
    held: HeldWrite,
}

impl Write {
    pub fn tx(&mut self) -> &mut dyn WriteTx {
        self.held.tx()
    }

    pub(crate) async fn checkpoint(&mut self) -> Result<(), Failure> {
        Ok(self.held.checkpoint().await?)
    }

    pub(crate) async fn commit_without_response(self) -> Result<(), Failure> {
        Ok(self.held.commit_without_response().await?)
    }

    /// Commits the change with its audit row (and saved response) and answers `body`.
    pub async fn finish(
        self,
        status: StatusCode,
        body: &impl Serialize,
    ) -> Result<Response, Failure> {
        let text = serde_json::to_string(body).map_err(|_| Failure(ApiError::internal()))?;
        let event = self.call.ctx.audit_event(
            self.call.state.clock.now(),
            OUTCOME_SUCCESS,
            status.as_u16(),
        );
        self.held.commit(&event, status.as_u16(), &text).await?;
        self.call.ctx.record().audited = true;
        Ok(json_response(status.as_u16(), text, false))
    }
}
