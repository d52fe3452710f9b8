//! Thin handlers: read the input with the reference's messages, check membership and
//! role, make the change through a `Write`.

pub mod comments;
pub mod containers;
pub mod tasks;
pub mod workspaces;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::body::path_id;
use crate::error::TasksError;
use crate::state::TasksState;

pub fn ok(body: &impl Serialize) -> Response {
    axum::Json(body).into_response()
}

/// Collections answer `{"data": [...]}`.
pub fn data(items: &impl Serialize) -> Response {
    axum::Json(json!({ "data": items })).into_response()
}

/// The route's one numeric path id.
pub struct PathId(pub String);

impl FromRequestParts<TasksState> for PathId {
    type Rejection = TasksError;

    async fn from_request_parts(parts: &mut Parts, state: &TasksState) -> Result<Self, TasksError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| TasksError::bad_request("Invalid path"))?;
        Ok(PathId(
            raw.iter()
                .next()
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default(),
        ))
    }
}

impl PathId {
    pub fn parse(&self, invalid: &str) -> Result<i64, TasksError> {
        path_id(&self.0, invalid)
    }
}
