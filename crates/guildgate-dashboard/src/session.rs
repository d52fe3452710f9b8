//! Sign-in, sign-out, the session cookie, CSRF and the same-origin rule.
//!
//! The cookie holds a random secret; the database holds only its keyed hash. Sign-in always
//! issues a new secret and deletes the session the browser came with, so a session id
//! planted before sign-in is worth nothing after it. Every form carries a CSRF token
//! derived from the session secret, and every state-changing request from a browser must
//! come from this origin (`Origin` / `Sec-Fetch-Site`), on top of `SameSite=Strict`.

use guildgate_core::limiter::Access;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use guildgate_core::account::{constant_time_eq, csrf_token, new_session_secret, verify_password};
use guildgate_core::audit::ActorSource;
use guildgate_core::clock::SECOND;
use guildgate_core::ids::new_request_id;
use guildgate_core::limits::BucketRequest;
use guildgate_owner::{Actor, sign_in_session};
use maud::Markup;
use serde::Deserialize;

use crate::error::PageError;
use crate::form::FormData;
use crate::state::DashboardState;
use crate::view;

/// The name the destructive-actions page shows (`Cookie: arkanis_session=...`), so a script
/// written from it can open a re-auth window with the owner's session.
pub const SESSION_COOKIE: &str = "arkanis_session";
const LOGIN_COOKIE: &str = "gg_login";

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(
    state: &DashboardState,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64url")
}

/// The client's address, through trusted proxies only.
pub fn client_ip(state: &DashboardState, parts: &Parts) -> IpAddr {
    guildgate_http::client_ip(
        &state.config.trusted_proxies,
        &parts.headers,
        &parts.extensions,
    )
}

/// A request from a signed-in owner.
pub struct SignedIn {
    pub user_id: String,
    secret: String,
    pub csrf: String,
    pub ip: IpAddr,
    pub request_id: String,
}

impl SignedIn {
    pub fn actor(&self, state: &DashboardState) -> Actor {
        Actor {
            source: ActorSource::Dashboard,
            user_id: Some(self.user_id.clone()),
            ip: Some(self.ip.to_string()),
            request_id: Some(self.request_id.clone()),
            now: state.now(),
        }
    }

    /// Refuses a form whose CSRF token is missing or belongs to another session.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), PageError> {
        match form.get("csrf") {
            Some(token) if constant_time_eq(token, &self.csrf) => Ok(()),
            _ => Err(PageError::forbidden(
                "This form has expired or was not sent from this dashboard. Reload the page and try again.",
            )),
        }
    }
}

/// Looks the session up; `None` when there is no live one.
pub async fn session_of(
    state: &DashboardState,
    parts: &Parts,
) -> Result<Option<SignedIn>, PageError> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .session(&state.hasher.hash(secret), state.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        user_id: session.user_id,
        csrf: csrf_token(&state.hasher, secret),
        secret: secret.to_owned(),
        ip: client_ip(state, parts),
        request_id: new_request_id(),
    }))
}

impl FromRequestParts<DashboardState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        session_of(state, parts)
            .await?
            .ok_or_else(|| PageError::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .map_or("/dashboard".to_owned(), |p| p.to_string()),
            })
    }
}

/// Refuses state-changing requests that a browser sent from another site. Requests
/// without these headers (scripts, curl) pass: they carry no ambient browser credentials
/// unless their author put them there.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !is_same_origin(request.headers()) {
        return PageError::forbidden(
            "Cross-site requests to the dashboard are refused. Use the dashboard itself.",
        )
        .into_response();
    }
    next.run(request).await
}

pub fn is_same_origin(headers: &HeaderMap) -> bool {
    // Browsers that send Fetch Metadata say it outright; `none` is a user-typed address.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin_host.is_some() && origin_host == host
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only paths inside the dashboard are followed after sign-in: never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/dashboard") && !n.contains("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

fn login_response(
    state: &DashboardState,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
) -> Response {
    let login_token = new_session_secret();
    let page: Markup = view::login_page(&login_token, next, error);
    let mut response = (status, page).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, &login_token, "/dashboard/login", 3600),
    );
    response
}

pub async fn login_page(
    State(state): State<DashboardState>,
    Query(q): Query<NextQuery>,
) -> Response {
    login_response(&state, StatusCode::OK, &safe_next(q.next.as_deref()), None)
}

pub async fn login(State(state): State<DashboardState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let form = FormData::parse(&body);
    let next = safe_next(form.get("next"));
    // Login CSRF: the form's token must match the cookie set with the form.
    let posted = form.get("csrf").unwrap_or("");
    if !cookie(&parts.headers, LOGIN_COOKIE).is_some_and(|c| constant_time_eq(c, posted)) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired. Please try again."),
        );
    }
    let account = form.get("discord_id").unwrap_or("").trim().to_owned();
    let password = form.get("password").unwrap_or("");
    let ip = client_ip(&state, &parts);
    let buckets = [
        BucketRequest {
            name: "login-account",
            key: format!("login:account:{account}"),
            rate: state.config.login_per_account,
        },
        BucketRequest {
            name: "login-ip",
            key: format!("login:ip:{ip}"),
            rate: state.config.login_per_ip,
        },
    ];
    // Sign-ins are guarded like writes: no unmetered password guessing while the shared
    // buckets are away.
    let Ok(budget) = state.limiter.peek(&buckets, Access::Write).await else {
        return login_response(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            &next,
            Some("Sign-in is paused briefly. Try again in a moment."),
        );
    };
    if !budget.allowed {
        let minutes = budget.retry_after_secs.div_ceil(60).max(1);
        let mut response = login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(budget.retry_after_secs),
        );
        return response;
    }
    let user = match state.store.dashboard_user(&account).await {
        Ok(user) => user,
        Err(err) => return PageError::from(err).into_response(),
    };
    let mut actor = Actor {
        source: ActorSource::Dashboard,
        user_id: user.as_ref().map(|u| u.user_id.clone()),
        ip: Some(ip.to_string()),
        request_id: Some(new_request_id()),
        now: state.now(),
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_owned = password.to_owned();
    let verified =
        tokio::task::spawn_blocking(move || verify_password(hash.as_deref(), &password_owned))
            .await
            .unwrap_or(false);
    if !verified {
        let _ = state.limiter.decide(&buckets, Access::Write).await;
        let mut event = actor.event(None, "session.sign_in", None);
        event.outcome = "UNAUTHORIZED".to_owned();
        event.status = Some(401);
        if let Err(err) = state.store.append_audit(&[event]).await {
            tracing::warn!(%err, "could not audit a failed sign-in");
        }
        return login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That Discord id and password do not match an account."),
        );
    }
    let user_id = user.map(|u| u.user_id).unwrap_or_default();
    actor.now = state.now();
    let previous = cookie(&parts.headers, SESSION_COOKIE);
    let (secret, session) = match sign_in_session(state.owner(), &actor, &user_id, previous).await {
        Ok(done) => done,
        Err(err) => return PageError::from(err).into_response(),
    };
    let lifetime = (session.expires_at - session.created_at) / SECOND;
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &secret, "/", lifetime),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", "/dashboard/login", 0),
    );
    response
}

pub async fn logout(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    form: FormData,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&form)?;
    let mut tx = state.store.begin().await?;
    tx.delete_session(&state.hasher.hash(&signed_in.secret))
        .await?;
    tx.append_audit(&signed_in.actor(&state).event(
        None,
        "session.sign_out",
        Some(&signed_in.user_id),
    ))
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to("/dashboard/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", "/", 0),
    );
    Ok(response)
}
