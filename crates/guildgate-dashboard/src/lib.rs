//! The owner dashboard, served by `guildgate serve` under `/dashboard`: sign in with a
//! local account, then per guild the REST token list (create, renew, rotate, revoke), the
//! re-auth windows with a live countdown, MCP pairings and the audit log; and the tasks
//! surface's API keys. Pages are rendered on the server (maud); the little JavaScript
//! there is (copy button, countdown) only improves pages that work without it.
//!
//! Two JSON routes take the session cookie instead of a Bearer: `POST /api-tokens` and
//! `/api/api-tokens/{id}/reauth-window` (when the request carries no Authorization
//! header; with one, the guild API answers as before).

mod api;
mod error;
mod form;
mod leaks;
mod pages;
mod session;
mod state;
mod view;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use tower::ServiceExt;
use tower::util::Oneshot;

pub use state::{DashboardConfig, DashboardState};

/// The dashboard's pages and its session-authenticated JSON routes.
pub fn router(state: DashboardState) -> Router {
    let pages = Router::new()
        .route("/dashboard", get(pages::home::home))
        .route("/dashboard/", get(pages::home::home))
        .route(
            "/dashboard/login",
            get(session::login_page).post(session::login),
        )
        .route("/dashboard/logout", post(session::logout))
        .route("/dashboard/assets/{file}", get(view::asset))
        .route(
            "/dashboard/{guild_id}/settings/api-mcp",
            get(pages::guild::settings),
        )
        .route("/dashboard/{guild_id}/tokens", post(pages::tokens::create))
        .route(
            "/dashboard/{guild_id}/tokens/{token_id}/revoke",
            get(pages::tokens::confirm_revoke).post(pages::tokens::revoke),
        )
        .route(
            "/dashboard/{guild_id}/tokens/{token_id}/renew",
            post(pages::tokens::renew),
        )
        .route(
            "/dashboard/{guild_id}/tokens/{token_id}/rotate",
            post(pages::tokens::rotate),
        )
        .route(
            "/dashboard/{guild_id}/tokens/{token_id}/reauth-window",
            post(pages::reauth::open),
        )
        .route(
            "/dashboard/{guild_id}/tokens/{token_id}/reauth-window/close",
            post(pages::reauth::close),
        )
        .route(
            "/dashboard/{guild_id}/pairings/{user_code}/approve",
            post(pages::mcp::approve),
        )
        .route(
            "/dashboard/{guild_id}/pairings/{user_code}/deny",
            post(pages::mcp::deny),
        )
        .route(
            "/dashboard/settings/api-keys",
            get(pages::keys::list).post(pages::keys::create),
        )
        .route(
            "/dashboard/settings/api-keys/{key_id}/revoke",
            post(pages::keys::revoke),
        );
    let json = Router::new()
        .route("/api-tokens", post(api::mint))
        .route("/api/security/leaked-tokens", post(leaks::report));
    pages
        .layer(middleware::from_fn(session::same_origin_only))
        .layer(middleware::from_fn(view::page_headers))
        .merge(json)
        .with_state(state)
}

/// Wraps the whole server's `app` so that `/api/api-tokens/{id}/reauth-window` calls that
/// carry a session cookie and no Bearer reach the dashboard's session routes; every other
/// request goes on to `app` (with a Bearer, the guild API answers as before).
pub fn with_session_calls(app: Router, state: DashboardState) -> Router {
    let session_routes = Router::new()
        .route(
            "/api/api-tokens/{token_id}/reauth-window",
            get(api::window_state)
                .post(api::open_window)
                .delete(api::close_window),
        )
        .with_state(state);
    app.layer(SessionCallsLayer(session_routes))
}

/// Sends session window calls to the dashboard's routes, everything else on. A tower
/// layer rather than `from_fn`, which clones and boxes for every call of the server: this
/// one costs a look at the path.
#[derive(Clone)]
struct SessionCallsLayer(Router);

impl<S> tower::Layer<S> for SessionCallsLayer {
    type Service = SessionCalls<S>;

    fn layer(&self, inner: S) -> SessionCalls<S> {
        SessionCalls {
            inner,
            session_routes: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct SessionCalls<S> {
    inner: S,
    session_routes: Router,
}

impl<S> tower::Service<Request> for SessionCalls<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = SessionCallsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if api::is_session_window_call(&request) {
            return SessionCallsFuture::Session {
                call: self.session_routes.clone().oneshot(request),
            };
        }
        SessionCallsFuture::Other {
            call: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    #[project = Routed]
    enum SessionCallsFuture<F> {
        Session { #[pin] call: Oneshot<Router, Request> },
        Other { #[pin] call: F },
    }
}

impl<F> Future for SessionCallsFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Routed::Session { call } => call.poll(cx),
            Routed::Other { call } => call.poll(cx),
        }
    }
}
