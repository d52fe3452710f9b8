//! The Re-auth tab: "Approve next destructive action" opens a token's 15-minute window;
//! an open window counts down in the browser and can be closed early.

use axum::extract::State;
use axum::response::Response;
use guildgate_owner::{close_window, open_window};
use maud::{Markup, html};

use super::guild::GuildPage;
use super::{TokenForm, back_to, or_show_on_tab};
use crate::error::PageError;
use crate::state::DashboardState;
use crate::view::{csrf_field, time};

pub async fn tab(page: &GuildPage<'_>) -> Result<Markup, PageError> {
    let now = page.now;
    let mut tokens = page.state.store.tokens_of_guild(&page.guild.id).await?;
    tokens.retain(|t| t.status(now) == "active");
    tokens.reverse();
    let mut rows = Vec::with_capacity(tokens.len());
    for token in tokens {
        let window = page.state.store.current_window(&token.id, now).await?;
        rows.push((token, window));
    }
    let base = format!("/dashboard/{}/tokens", page.guild.id);
    let csrf = &page.signed_in.csrf;
    let highlighted = page.query.token.as_deref();
    Ok(html! {
        p { "Destructive calls (bans, purges, strike removal, RCON…) need an open re-auth window on "
            "the token that makes them. A window lasts 15 minutes and covers every destructive call "
            "of that token until it ends." }
        div.table-wrap id="approve-window" {
            table id="reauth-list" {
                thead { tr { th scope="col" { "Token" } th scope="col" { "Window" } th scope="col" { "Actions" } } }
                tbody {
                    @for (token, window) in &rows {
                        tr data-token-id=(token.id) data-window=(if window.is_some() { "open" } else { "closed" })
                           class=[(highlighted == Some(token.id.as_str())).then_some("highlight")] {
                            td { strong { (token.name) } br; code.muted { (token.id) } }
                            td {
                                @if let Some(window) = window {
                                    span.badge.open { "open" } " "
                                    span.countdown role="timer" data-expires-at=(window.expires_at) {
                                        (format!("{}:{:02} left", (window.expires_at - now) / 60_000, ((window.expires_at - now) / 1000) % 60))
                                    }
                                    br; span.muted { "until " (time(window.expires_at)) }
                                } @else {
                                    span.muted { "closed" }
                                }
                            }
                            td {
                                form method="post" action={ (base) "/" (token.id) "/reauth-window" } {
                                    (csrf_field(csrf))
                                    button type="submit" aria-label={ "Approve next destructive action for " (token.name) } {
                                        "Approve next destructive action"
                                    }
                                }
                                @if window.is_some() {
                                    form.close-window method="post" action={ (base) "/" (token.id) "/reauth-window/close" } {
                                        (csrf_field(csrf))
                                        button.secondary type="submit" { "Close now" }
                                    }
                                }
                            }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="3" .muted { "No active tokens." } } }
                }
            }
        }
        p.hint { "Scripts can open a window with this session too: "
            code { "POST /api/api-tokens/{id}/reauth-window" } " with the session cookie." }
    })
}

pub async fn open(
    State(state): State<DashboardState>,
    TokenForm {
        signed_in,
        guild,
        token,
        form: _,
    }: TokenForm,
) -> Result<Response, PageError> {
    let result = open_window(state.owner(), &signed_in.actor(&state), &token)
        .await
        .map(|_| back_to(&guild.id, "reauth", "window-open"));
    or_show_on_tab(result, &state, &signed_in, &guild, "reauth").await
}

pub async fn close(
    State(state): State<DashboardState>,
    TokenForm {
        signed_in,
        guild,
        token,
        form: _,
    }: TokenForm,
) -> Result<Response, PageError> {
    close_window(state.owner(), &signed_in.actor(&state), &token).await?;
    Ok(back_to(&guild.id, "reauth", "window-closed"))
}
