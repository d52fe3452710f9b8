//! Who is calling, checked in order: the Bearer header, the key's shape (checksum first,
//! before any lookup) and record, the per-key rate limit, the route's scope.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use guildgate_core::audit::OUTCOME_SUCCESS;
use guildgate_core::limits::BucketRequest;
use guildgate_core::shard::{RouteTier, SHARD_KEY, SHARD_ROUTES, Scope, ShardKey};
use guildgate_http::{KeyIdentity, MessageError, RequestContext};
use guildgate_storage::WriteTx;

use crate::state::ShardState;

pub struct Caller {
    pub state: ShardState,
    pub ctx: Arc<RequestContext>,
    pub key: ShardKey,
}

fn presented_key(parts: &Parts) -> Result<&str, MessageError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            MessageError::unauthorized("Missing API key. Send Authorization: Bearer scok_...")
        })?
        .to_str()
        .map_err(|_| MessageError::unauthorized("Invalid API key"))?;
    let key = guildgate_http::bearer_credentials(value).ok_or_else(|| {
        MessageError::unauthorized("The Authorization header must use the Bearer prefix")
    })?;
    if !key.starts_with("scok_") {
        return Err(MessageError::unauthorized(
            "Invalid API key: an Owner API key starts with scok_",
        ));
    }
    Ok(key)
}

pub fn request_context(parts: &Parts) -> Result<Arc<RequestContext>, MessageError> {
    parts
        .extensions
        .get::<Arc<RequestContext>>()
        .cloned()
        .ok_or_else(MessageError::internal)
}

impl FromRequestParts<ShardState> for Caller {
    type Rejection = MessageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ShardState,
    ) -> Result<Self, MessageError> {
        let ctx = request_context(parts)?;
        let route = ctx
            .route_index()
            .map(|i| &SHARD_ROUTES[i])
            .ok_or_else(MessageError::internal)?;
        let presented = presented_key(parts)?;
        let secret = SHARD_KEY
            .parse(presented)
            .map_err(|why| MessageError::unauthorized(format!("Invalid API key: {why}")))?;
        let key = state
            .store
            .shard_key_by_hash(&state.hasher.hash(secret.expose()))
            .await?
            .ok_or_else(|| MessageError::unauthorized("Invalid API key"))?;
        {
            let mut record = ctx.record();
            record.caller = Some(KeyIdentity {
                key_id: key.id.clone(),
                key_name: key.name.clone(),
                user_id: None,
            });
            record.guild_id = Some(key.guild_id.clone());
        }
        if key.revoked_at.is_some() {
            return Err(MessageError::unauthorized("API key has been revoked"));
        }
        let mut buckets = vec![BucketRequest {
            name: "key",
            key: format!("scok:{}", key.id),
            rate: state.settings.per_key,
        }];
        // A key without the route's scope is refused below; it must not spend the shard's
        // ACARS budget on the way.
        if route.tier == RouteTier::Acars && route.scope.is_none_or(|s| key.scopes.contains(s)) {
            buckets.push(BucketRequest {
                name: "acars",
                key: format!("acars:{}", key.guild_id),
                rate: state.settings.acars,
            });
        }
        ctx.take(&state.limiter, &buckets).await?;
        if let Some(scope) = route.scope
            && !key.scopes.contains(scope)
        {
            return Err(missing_scope(scope));
        }
        Ok(Caller {
            state: state.clone(),
            ctx,
            key,
        })
    }
}

pub fn missing_scope(scope: Scope) -> MessageError {
    MessageError::forbidden(format!(
        "Missing scope: this endpoint requires {}",
        scope.as_str()
    ))
}

impl Caller {
    pub fn guild_id(&self) -> &str {
        &self.key.guild_id
    }

    pub fn now(&self) -> i64 {
        self.state.clock.now()
    }

    /// Commits `tx` with this call's audit row in it.
    pub async fn commit(&self, mut tx: Box<dyn WriteTx>) -> Result<(), MessageError> {
        let audit = self.ctx.audit_event(self.now(), OUTCOME_SUCCESS, 200);
        tx.append_audit(&audit).await?;
        tx.commit().await?;
        self.ctx.record().audited = true;
        Ok(())
    }

    pub fn set_target(&self, target: impl ToString) {
        self.ctx.record().target = Some(target.to_string());
    }
}
