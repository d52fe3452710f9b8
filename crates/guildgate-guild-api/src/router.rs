//! The router, built from the policy table: a route exists for each row, with the row's
//! method and path, and nothing else. The surface middleware wraps every route.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use guildgate_core::error::ApiError;
use guildgate_core::policy::{Endpoint, POLICIES};

use crate::context::surface;
use crate::envelope::Failure;
use crate::handlers::{audit, bans, mutes, purge, reauth, servers, strikes, tickets};
use crate::state::AppState;

fn handler(endpoint: Endpoint, filter: MethodFilter) -> MethodRouter<AppState> {
    match endpoint {
        Endpoint::ListStrikes => on(filter, strikes::list_strikes),
        Endpoint::AddStrike => on(filter, strikes::add_strike),
        Endpoint::RemoveStrike => on(filter, strikes::remove_strike),
        Endpoint::ListTickets => on(filter, tickets::list_tickets),
        Endpoint::GetTicket => on(filter, tickets::get_ticket),
        Endpoint::ClaimTicket => on(filter, tickets::claim_ticket),
        Endpoint::UnclaimTicket => on(filter, tickets::unclaim_ticket),
        Endpoint::ListBans => on(filter, bans::list_bans),
        Endpoint::AddBan => on(filter, bans::add_ban),
        Endpoint::RemoveBan => on(filter, bans::remove_ban),
        Endpoint::ListMutes => on(filter, mutes::list_mutes),
        Endpoint::AddMute => on(filter, mutes::add_mute),
        Endpoint::LiftMute => on(filter, mutes::lift_mute),
        Endpoint::MassPurge => on(filter, purge::mass_purge),
        Endpoint::ListServers => on(filter, servers::list_servers),
        Endpoint::RunRcon => on(filter, servers::run_rcon),
        Endpoint::ListAudit => on(filter, audit::list_audit),
        Endpoint::GetReauthWindow => on(filter, reauth::get_reauth_window),
        Endpoint::OpenReauthWindow => on(filter, reauth::open_reauth_window),
        Endpoint::CloseReauthWindow => on(filter, reauth::close_reauth_window),
    }
}

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "DELETE" => MethodFilter::DELETE,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        other => panic!("policy table uses unsupported method {other}"),
    }
}

async fn no_route() -> Failure {
    Failure(ApiError::new(
        guildgate_core::ErrorCode::NotFound,
        "No such route. See docs/api.md for the endpoints.",
    ))
}

/// The guild surface: every row of the policy table, under the surface middleware.
pub fn router(state: AppState) -> Router {
    let mut paths: Vec<&str> = POLICIES.iter().map(|p| p.path).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut router = Router::new();
    for path in paths {
        let mut methods: MethodRouter<AppState> = MethodRouter::new();
        for policy in POLICIES.iter().filter(|p| p.path == path) {
            methods = methods.merge(handler(policy.endpoint, method_filter(policy.method)));
        }
        router = router.route(path, methods);
    }
    let body_limit = state.config.body_limit;
    router
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(state.clone(), surface))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
