//! The shard surface's hook into the shared middleware (request ids, limits headers, audit).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::ShardState;

pub async fn shard_surface(State(state): State<ShardState>, req: Request, next: Next) -> Response {
    guildgate_http::surface_middleware(&state.surface, req, next).await
}
