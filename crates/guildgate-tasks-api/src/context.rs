//! The tasks surface's hook into the shared middleware (request ids, limits headers, audit).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub use guildgate_http::RequestContext;

use crate::state::TasksState;

pub async fn tasks_surface(State(state): State<TasksState>, req: Request, next: Next) -> Response {
    guildgate_http::surface_middleware(&state.surface, req, next).await
}
