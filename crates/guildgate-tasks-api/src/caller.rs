//! Who is calling, checked in order: one key header, the key's shape and record, expiry,
//! the per-key rate limit, the route's scope. Then, per call, workspace membership and
//! role; and for writes, idempotency and the transaction the change commits in.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::audit::OUTCOME_SUCCESS;
use guildgate_core::limits::BucketRequest;
use guildgate_core::tasks::{Role, TASK_ROUTES, TASKS_KEY, TasksKey, Workspace};
use guildgate_http::KeyIdentity;
use guildgate_storage::WriteTx;
use guildgate_storage::idempotent::{self, HeldWrite, MAX_IDEMPOTENCY_KEY};
use serde::Serialize;

use crate::context::RequestContext;
use crate::error::TasksError;
use crate::state::TasksState;

pub struct Caller {
    pub state: TasksState,
    pub ctx: Arc<RequestContext>,
    pub key: TasksKey,
    idempotency_key: Option<String>,
}

fn presented_key(parts: &Parts) -> Result<&str, TasksError> {
    let text = |name: header::HeaderName| {
        parts.headers.get(&name).map(|v| {
            v.to_str()
                .map_err(|_| TasksError::unauthorized("Invalid API key"))
        })
    };
    let bearer = text(header::AUTHORIZATION);
    let api_key = text(header::HeaderName::from_static("x-api-key"));
    let value = match (bearer, api_key) {
        (Some(_), Some(_)) => {
            return Err(TasksError::bad_request(
                "Send the API key in one header, Authorization or X-API-Key, not both",
            ));
        }
        (None, None) => {
            return Err(TasksError::unauthorized(
                "Missing API key. Send Authorization: Bearer arca_... or X-API-Key: arca_...",
            ));
        }
        (Some(bearer), None) => guildgate_http::bearer_credentials(bearer?).ok_or_else(|| {
            TasksError::unauthorized("The Authorization header must use the Bearer prefix")
        })?,
        (None, Some(api_key)) => api_key?,
    };
    if !value.starts_with("arca_") {
        return Err(TasksError::unauthorized(
            "Invalid API key: it must start with arca_",
        ));
    }
    Ok(value)
}

impl FromRequestParts<TasksState> for Caller {
    type Rejection = TasksError;

    async fn from_request_parts(parts: &mut Parts, state: &TasksState) -> Result<Self, TasksError> {
        let ctx = parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .ok_or_else(TasksError::internal)?;
        let route = ctx
            .route_index()
            .map(|i| &TASK_ROUTES[i])
            .ok_or_else(TasksError::internal)?;
        let presented = presented_key(parts)?;
        let secret = TASKS_KEY
            .parse(presented)
            .map_err(|_| TasksError::unauthorized("Invalid API key"))?;
        let key = state
            .store
            .tasks_key_by_hash(&state.hasher.hash(secret.expose()))
            .await?
            .ok_or_else(|| TasksError::unauthorized("Invalid API key"))?;
        ctx.record().caller = Some(KeyIdentity {
            key_id: key.id.clone(),
            key_name: key.label.clone(),
            user_id: Some(key.user_id.to_string()),
        });
        let now = state.clock.now();
        if key.revoked_at.is_some() {
            return Err(TasksError::unauthorized("API key has been revoked"));
        }
        if key.expires_at.is_some_and(|at| at <= now) {
            return Err(TasksError::unauthorized("API key has expired"));
        }
        ctx.take(
            &state.limiter,
            &[BucketRequest {
                name: "key",
                key: format!("arca:{}", key.id),
                rate: state.config.per_key,
            }],
        )
        .await?;
        if !key.scopes.contains(route.scope) {
            return Err(TasksError::forbidden(format!(
                "Scope '{}' is required for this endpoint",
                route.scope.as_str()
            )));
        }
        let idempotency_key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(v) => match v.to_str() {
                Ok(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY => Some(k.to_owned()),
                _ => {
                    return Err(TasksError::bad_request(
                        "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    ));
                }
            },
        };
        Ok(Caller {
            state: state.clone(),
            ctx,
            key,
            idempotency_key,
        })
    }
}

pub enum Admission {
    Proceed(Box<Write>),
    Replay(Response),
}

impl Caller {
    pub fn user_id(&self) -> i64 {
        self.key.user_id
    }

    pub fn now(&self) -> i64 {
        self.state.clock.now()
    }

    pub fn set_target(&self, target: impl ToString) {
        self.ctx.record().target = Some(target.to_string());
    }

    /// The workspace, when the key's user is a member; otherwise 404, as if it did not exist.
    pub async fn workspace(&self, id: i64, missing: &str) -> Result<Workspace, TasksError> {
        let workspace = self
            .state
            .store
            .workspace_for(self.key.user_id, id)
            .await?
            .ok_or_else(|| TasksError::not_found(missing))?;
        self.ctx.record().guild_id = Some(id.to_string());
        Ok(workspace)
    }

    /// Viewers read only.
    pub fn require_write(&self, workspace: &Workspace) -> Result<(), TasksError> {
        if workspace.role.can_write() {
            Ok(())
        } else {
            Err(TasksError::forbidden(
                "Viewers have read-only access to this workspace",
            ))
        }
    }

    pub fn require_role(
        &self,
        workspace: &Workspace,
        allowed: fn(Role) -> bool,
        message: &str,
    ) -> Result<(), TasksError> {
        if allowed(workspace.role) {
            Ok(())
        } else {
            Err(TasksError::forbidden(message))
        }
    }

    /// Settles `Idempotency-Key` and opens the write transaction.
    pub async fn admit(self, body: &[u8]) -> Result<Admission, TasksError> {
        let admission = idempotent::admit(
            &self.state.store,
            &self.key.id,
            self.idempotency_key.as_deref(),
            || idempotent::fingerprint(&self.ctx.method, &self.ctx.path, Some(body)),
            self.now(),
        )
        .await?;
        match admission {
            idempotent::Admission::Proceed(hold) => {
                let held = hold.begin().await?;
                Ok(Admission::Proceed(Box::new(Write { caller: self, held })))
            }
            idempotent::Admission::Replay { status, body } => {
                Ok(Admission::Replay(json_response(status, body, true)))
            }
            idempotent::Admission::InFlight => Err(TasksError::conflict(
                "A request with this Idempotency-Key is still in progress",
            )),
            idempotent::Admission::Mismatch => Err(TasksError::unprocessable(
                "This Idempotency-Key was already used with a different request",
            )),
        }
    }
}

fn json_response(status: u16, body: String, replayed: bool) -> Response {
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
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

/// An admitted write; dropped without `finish`, it rolls back and lets its key go.
pub struct Write {
    pub caller: Caller,
    held: HeldWrite,
}

impl Write {
    pub fn tx(&mut self) -> &mut dyn WriteTx {
        self.held.tx()
    }

    pub async fn finish(
        self,
        status: StatusCode,
        body: &impl Serialize,
    ) -> Result<Response, TasksError> {
        let text = serde_json::to_string(body).map_err(|_| TasksError::internal())?;
        let event =
            self.caller
                .ctx
                .audit_event(self.caller.now(), OUTCOME_SUCCESS, status.as_u16());
        self.held.commit(&event, status.as_u16(), &text).await?;
        self.caller.ctx.record().audited = true;
        Ok(json_response(status.as_u16(), text, false))
    }
}

/// `let mut write = admit!(caller, body bytes);`: replays return at once.
#[macro_export]
macro_rules! admit {
    ($caller:expr, $body:expr) => {
        match $caller.admit($body).await? {
            $crate::caller::Admission::Replay(saved) => return Ok(saved),
            $crate::caller::Admission::Proceed(write) => write,
        }
    };
}
