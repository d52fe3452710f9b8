//! The tasks surface's place in the shared middleware: its audit name and route table.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use guildgate_core::tasks::TASK_ROUTES;

pub use guildgate_http::RequestContext;

use crate::state::TasksState;

pub fn find_route(path: &str, method: &str) -> Option<(usize, &'static str)> {
    TASK_ROUTES
        .iter()
        .position(|r| r.path == path && r.method == method)
        .map(|i| (i, TASK_ROUTES[i].name))
}

pub async fn tasks_surface(State(state): State<TasksState>, req: Request, next: Next) -> Response {
    guildgate_http::surface_middleware(&state.surface, req, next).await
}
