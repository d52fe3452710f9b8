//! The page frame, shared pieces, and the embedded assets. No CDN: everything a page
//! needs is served by this binary.

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guildgate_core::clock::{Millis, to_rfc3339};
use maud::{DOCTYPE, Markup, html};

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");

/// Frames, scripts and caches are locked down on every dashboard response: pages show
/// secrets once and must never be framed (clickjacking) or kept by a cache.
pub async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// What the signed-in frame shows around a page.
pub struct Frame<'a> {
    pub title: &'a str,
    pub user_id: &'a str,
    pub csrf: &'a str,
}

fn head(title: &str, with_script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · guildgate" }
            link rel="stylesheet" href="/dashboard/assets/app.css";
            @if with_script { script src="/dashboard/assets/app.js" defer {} }
        }
    }
}

pub fn page(frame: &Frame, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(frame.title, true))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/dashboard" { "guildgate" }
                    nav aria-label="Account" {
                        a href="/dashboard" { "Guilds" }
                        a href="/dashboard/settings/api-keys" { "API Keys" }
                        span.who { "Signed in as " (frame.user_id) }
                        form method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(frame.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// A page with no session: sign-in and errors.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, false))
            body {
                header.top { a.brand href="/dashboard" { "guildgate" } }
                main id="main" { (body) }
            }
        }
    }
}

pub fn message_page(title: &str, message: &str) -> Markup {
    bare_page(
        title,
        html! {
            h1 { (title) }
            p role="alert" { (message) }
            p { a href="/dashboard" { "Back to the dashboard" } }
        },
    )
}

pub fn login_page(login_token: &str, next: &str, error: Option<&str>) -> Markup {
    bare_page(
        "Sign in",
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                @if let Some(error) = error {
                    p.notice.error role="alert" id="login-error" { (error) }
                }
                form method="post" action="/dashboard/login" {
                    input type="hidden" name="csrf" value=(login_token);
                    input type="hidden" name="next" value=(next);
                    label for="discord_id" { "Discord user id" }
                    input id="discord_id" name="discord_id" inputmode="numeric"
                        autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password"
                        autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
                p.hint {
                    "No account yet? The server's operator creates one with "
                    code { "guildgate admin user create --discord-id <id> --password-stdin" } "."
                }
            }
        },
    )
}

/// A time for people, with the machine-readable value beside it.
pub fn time(at: Millis) -> Markup {
    let iso = to_rfc3339(at);
    let shown = format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "));
    html! { time datetime=(iso) { (shown) } }
}

pub fn maybe_time(at: Option<Millis>, none: &str) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { (none) } },
    }
}

/// A short, fixed message chosen by a redirect's `notice` parameter: never echoed text.
pub fn notice(code: Option<&str>) -> Markup {
    let message = match code {
        Some("revoked") => "Token revoked. It stops working at once.",
        Some("renewed") => "Token renewed; its secret is unchanged.",
        Some("window-open") => "Re-auth window open for 15 minutes.",
        Some("window-closed") => "Re-auth window closed.",
        Some("approved") => "Pairing approved. The MCP client receives its token on its next poll.",
        Some("denied") => "Pairing denied.",
        Some("key-revoked") => "Key revoked.",
        _ => return html! {},
    };
    html! { p.notice.ok role="status" { (message) } }
}

pub fn error_notice(message: &str) -> Markup {
    html! { p.notice.error role="alert" { (message) } }
}

pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// The page shown once after a token or key is created.
pub fn secret_once(kind: &str, name: &str, id: &str, secret: &str, back: &str) -> Markup {
    html! {
        section.card {
            h1 { (kind) " created: " (name) }
            p.notice.warn role="alert" {
                strong { "Copy it now." } " This is the only time the secret is shown; "
                "guildgate keeps only a keyed hash of it."
            }
            label for="token-secret" { "Secret" }
            div.copy-row {
                input id="token-secret" readonly value=(secret) spellcheck="false";
                button id="copy-token" type="button" data-copy="token-secret" { "Copy" }
            }
            p { "Id: " code id="token-id" { (id) } }
            p { a href=(back) { "Done, back to the list" } }
        }
    }
}
