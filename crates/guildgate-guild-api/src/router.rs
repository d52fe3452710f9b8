//! The router, built from the policy table: a route exists for each row, with the row's
//! method and path, and nothing else. The surface middleware wraps every route.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use guildgate_core::error::ApiError;
use guildgate_core::policy::{Endpoint, POLICIES};

use crate::context::surface;
use axum::http::HeaderValue;
use axum::response::Response;
use guildgate_core::ids::new_request_id;

use crate::envelope::envelope;
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
        Endpoint::TokenInfo => on(filter, reauth::token_info),
        Endpoint::Status => on(filter, reauth::status),
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

/// The answer to a path no route matches, in the envelope (for use as a fallback, which
/// the surface middleware does not wrap).
pub async fn not_found() -> Response {
    let request_id = new_request_id();
    let mut response = envelope(&no_such_route(), &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A path under `/api/public/v1/` that no route matches. Routed (not left to the server's
/// fallback) so that it passes the surface middleware like any other call: the
/// specification counts every request to the public surface against the caller's address
/// and puts the rate-limit headers on every response there.
async fn unknown_public_route() -> crate::envelope::Failure {
    no_such_route().into()
}

fn no_such_route() -> ApiError {
    ApiError::new(
        guildgate_core::ErrorCode::NotFound,
        "No such route. See docs/api.md for the endpoints.",
    )
}

/// The guild surface: every row of the policy table, under the surface middleware. It has
/// no fallback: the server composes surfaces and adds one ([`not_found`]).
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
    // The catch-all does not match the bare prefix, with or without its slash.
    for unknown in [
        "/api/public/v1",
        "/api/public/v1/",
        "/api/public/v1/{*rest}",
    ] {
        router = router.route(unknown, axum::routing::any(unknown_public_route));
    }
    let body_limit = state.config.body_limit;
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), surface))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone())
        .merge(crate::device::routes(state))
}
