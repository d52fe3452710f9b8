//! The tasks router, built from `TASK_ROUTES`: one route per row.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use guildgate_http::table_router;

use crate::context::tasks_surface;
use crate::handlers::{comments, containers, tasks, workspaces};
use crate::state::TasksState;

fn handler(name: &str, filter: MethodFilter) -> MethodRouter<TasksState> {
    match name {
        "get_me" => on(filter, workspaces::get_me),
        "list_workspaces" => on(filter, workspaces::list_workspaces),
        "get_workspace" => on(filter, workspaces::get_workspace),
        "list_members" => on(filter, workspaces::list_members),
        "list_statuses" => on(filter, workspaces::list_statuses),
        "create_status" => on(filter, workspaces::create_status),
        "list_labels" => on(filter, workspaces::list_labels),
        "create_label" => on(filter, workspaces::create_label),
        "list_folders" => on(filter, containers::list_folders),
        "create_folder" => on(filter, containers::create_folder),
        "update_folder" => on(filter, containers::update_folder),
        "delete_folder" => on(filter, containers::delete_folder),
        "list_lists" => on(filter, containers::list_lists),
        "create_list" => on(filter, containers::create_list),
        "update_list" => on(filter, containers::update_list),
        "delete_list" => on(filter, containers::delete_list),
        "list_tasks" => on(filter, tasks::list_tasks),
        "get_task" => on(filter, tasks::get_task),
        "create_task" => on(filter, tasks::create_task),
        "update_task" => on(filter, tasks::update_task),
        "delete_task" => on(filter, tasks::delete_task),
        "list_comments" => on(filter, comments::list_comments),
        "create_comment" => on(filter, comments::create_comment),
        other => panic!("no handler for tasks route {other}"),
    }
}

/// Every route of `TASK_ROUTES` under the tasks middleware (no fallback: the server
/// composes surfaces and answers unknown paths).
pub fn router(state: TasksState) -> Router {
    let router = table_router(&state.surface.routes, handler);
    let body_limit = state.config.body_limit;
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tasks_surface,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// The answer to an unknown path under `/api/v1`. It carries a request id as every other
/// answer of the surface does, though no surface middleware wraps a fallback.
pub async fn not_found() -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = crate::error::TasksError::not_found("Route").into_response();
    if let Ok(id) = guildgate_core::ids::new_request_id().parse() {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}
