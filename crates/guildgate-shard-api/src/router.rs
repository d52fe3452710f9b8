//! The shard router, built from `SHARD_ROUTES`: one route per row.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use guildgate_http::table_router;

use crate::context::shard_surface;
use crate::handlers::{
    archive, assignments, clients, embed, events, metrics, nets, presets, ready_checks, settings,
    status, uri_links,
};
use crate::state::ShardState;

fn handler(name: &str, filter: MethodFilter) -> MethodRouter<ShardState> {
    match name {
        "health" => on(filter, status::health),
        "openapi" => on(filter, crate::openapi::serve),
        "status" => on(filter, status::status),
        "get_assignments" => on(filter, status::assignments),
        "get_features" => on(filter, status::features),
        "get_public_net" => on(filter, status::public_net),
        "get_rules" => on(filter, status::rules),
        "audit" => on(filter, status::audit),
        "public_token" => on(filter, embed::public_token),
        "embed_status" => on(filter, embed::status),
        "embed_widget" => on(filter, embed::widget),
        "assign" => on(filter, assignments::assign),
        "assign_bulk" => on(filter, assignments::bulk),
        "assign_temporary" => on(filter, assignments::temporary),
        "create_net" => on(filter, nets::create),
        "rename_net" => on(filter, nets::rename),
        "delete_net" => on(filter, nets::delete),
        "remove_net" => on(filter, nets::remove),
        "list_archive" => on(filter, archive::list),
        "upsert_archive" => on(filter, archive::upsert),
        "archive_sync_status" => on(filter, archive::sync_status),
        "get_archive" => on(filter, archive::read),
        "update_archive" | "patch_archive" => on(filter, archive::update),
        "delete_archive" => on(filter, archive::delete),
        "restore_archive" => on(filter, archive::restore),
        "set_operation" => on(filter, settings::operation),
        "set_features" => on(filter, settings::set_features),
        "show_public_net" | "show_public_net_alias" | "restore_public_net" => {
            on(filter, settings::show_public_net)
        }
        "hide_public_net" => on(filter, settings::hide_public_net),
        "remove_public_net" => on(filter, settings::remove_public_net),
        "replace_rules" => on(filter, settings::replace_rules),
        "stream" => on(filter, events::stream),
        "list_webhooks" => on(filter, events::list_webhooks),
        "create_webhook" => on(filter, events::create_webhook),
        "delete_webhook" => on(filter, events::delete_webhook),
        "roster" => on(filter, clients::roster),
        "disconnect_client" => on(filter, clients::disconnect),
        "acars" => on(filter, clients::acars),
        "metrics" => on(filter, metrics::json_metrics),
        "metrics_prometheus" => on(filter, metrics::prometheus),
        "list_ready_checks" => on(filter, ready_checks::list),
        "save_ready_check" => on(filter, ready_checks::save),
        "delete_ready_check" => on(filter, ready_checks::delete),
        "start_ready_check" => on(filter, ready_checks::start),
        "ready_check_status" => on(filter, ready_checks::status),
        "ready_check_session" => on(filter, ready_checks::session_status),
        "list_presets" => on(filter, presets::list),
        "save_preset" => on(filter, presets::save),
        "delete_preset" => on(filter, presets::delete),
        "apply_preset" => on(filter, presets::apply),
        "list_uri_links" => on(filter, uri_links::list),
        "create_uri_link" => on(filter, uri_links::create),
        "revoke_uri_link" => on(filter, uri_links::revoke),
        "resolve_uri_link" => on(filter, uri_links::resolve),
        "client_socket" => on(filter, crate::socket::client_socket),
        other => panic!("no handler for shard route {other}"),
    }
}

/// Every route of `SHARD_ROUTES` under the shard middleware (no fallback: the server
/// composes surfaces and answers unknown paths).
pub fn router(state: ShardState) -> Router {
    let router = table_router(&state.surface.routes, handler);
    let body_limit = state.settings.body_limit;
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shard_surface,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
