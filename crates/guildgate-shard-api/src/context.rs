//! The shard surface's place in the shared middleware: its audit name and route table.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use guildgate_core::shard::SHARD_ROUTES;

use crate::state::ShardState;

pub fn find_route(path: &str, method: &str) -> Option<(usize, &'static str)> {
    SHARD_ROUTES
        .iter()
        .position(|r| r.path == path && r.method == method)
        .map(|i| (i, SHARD_ROUTES[i].name))
}

pub async fn shard_surface(State(state): State<ShardState>, req: Request, next: Next) -> Response {
    guildgate_http::surface_middleware(&state.surface, req, next).await
}
