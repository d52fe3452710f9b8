//! The REST Tokens tab: list, create (shown once), renew, rotate, revoke.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use guildgate_core::capability::{Capability, CapabilitySet};
use guildgate_core::clock::{DAY, HOUR, Millis};
use guildgate_core::model::{SOURCE_DASHBOARD, TokenRecord};
use guildgate_owner::{
    Expiry, MintRequest, mint_token, parse_cidrs, renew_token, revoke_token, rotate_token,
};
use maud::{Markup, html};

use super::guild::GuildPage;
use super::{GuildForm, TokenForm, back_to, guild_token, or_show_on_tab, owned_guild};
use crate::api::draw_mint_budget;
use crate::error::PageError;
use crate::form::FormData;
use crate::session::SignedIn;
use crate::state::DashboardState;
use crate::view::{self, Frame, csrf_field, maybe_time, time};

/// Rotation reminders: the product's docs remind at 90 and 180 days.
const REMIND_AFTER: Millis = 90 * DAY;
const URGE_AFTER: Millis = 180 * DAY;
const UNUSED_FOR: Millis = 30 * DAY;

const GRACE_PRESETS: &[(&str, &str, Millis)] = &[
    ("0", "None: revoke the old secret now", 0),
    ("1h", "1 hour", HOUR),
    ("24h", "24 hours", DAY),
    ("7d", "7 days", 7 * DAY),
];

fn status_of(token: &TokenRecord, now: Millis) -> &'static str {
    match token.status(now) {
        "active" if token.replaced_by.is_some() => "rotating",
        status => status,
    }
}

/// Not used (or, if never used, not created) in the last 30 days, and still live.
fn unused(token: &TokenRecord, now: Millis) -> bool {
    token.status(now) == "active"
        && token.last_used_at.unwrap_or(token.created_at) < now - UNUSED_FOR
}

fn reminder(token: &TokenRecord, now: Millis) -> Markup {
    let age = now - token.created_at;
    if token.status(now) != "active" || token.replaced_by.is_some() {
        return html! {};
    }
    html! {
        @if age >= URGE_AFTER {
            " " span.badge.danger title="Rotate tokens older than 180 days" { "180+ days old: rotate now" }
        } @else if age >= REMIND_AFTER {
            " " span.badge.warn title="Consider rotating tokens older than 90 days" { "90+ days old: consider rotating" }
        }
    }
}

fn expiry_select(name: &str, id: &str, default: &str) -> Markup {
    html! {
        select name=(name) id=(id) {
            @for (value, label) in Expiry::PRESETS {
                option value=(value) selected[*value == default] { (label) }
            }
        }
    }
}

fn capability_boxes(name: &str, offered: CapabilitySet, checked: CapabilitySet) -> Markup {
    html! {
        @for cap in Capability::ALL.iter().filter(|c| offered.contains(**c)) {
            label.inline {
                input type="checkbox" name=(name) value=(cap.as_str()) checked[checked.contains(*cap)];
                (cap.as_str())
            }
        }
    }
}

pub async fn tab(page: &GuildPage<'_>) -> Result<Markup, PageError> {
    let now = page.now;
    let mut tokens = page.state.store.tokens_of_guild(&page.guild.id).await?;
    tokens.reverse();
    let only_unused = page.query.filter.as_deref() == Some("unused");
    if only_unused {
        tokens.retain(|t| unused(t, now));
    }
    let base = format!("/dashboard/{}", page.guild.id);
    let offered = page
        .member
        .as_ref()
        .map_or(CapabilitySet::EMPTY, |m| m.capabilities);
    let csrf = &page.signed_in.csrf;
    Ok(html! {
        section.card aria-labelledby="create-heading" {
            h2 id="create-heading" { "Create a token" }
            form method="post" action={ (base) "/tokens" } {
                (csrf_field(csrf))
                label for="token-name" { "Name" }
                input id="token-name" name="name" maxlength="100" required placeholder="moderation-bot";
                fieldset {
                    legend { "Capabilities (narrow what the token may do)" }
                    (capability_boxes("capabilities", offered, offered))
                }
                label for="token-expiry" { "Expires after" }
                (expiry_select("expiry", "token-expiry", "90"))
                label for="token-cidrs" { "Allowed client networks (optional)" }
                textarea id="token-cidrs" name="allowed_cidrs" placeholder="203.0.113.0/24, 2001:db8::/32" {}
                label.inline {
                    input type="checkbox" name="allow_self_reauth" value="1";
                    "Scripted re-auth: the token's own Bearer may open its re-auth window"
                }
                div { button type="submit" { "Create token" } }
            }
        }
        h2 { "Tokens" }
        p {
            @if only_unused {
                "Showing tokens unused for 30 days. " a href={ (base) "/settings/api-mcp?tab=tokens" } { "Show all" }
            } @else {
                a href={ (base) "/settings/api-mcp?tab=tokens&filter=unused" } { "Show tokens unused for 30 days" }
            }
        }
        div.table-wrap {
            table id="token-list" {
                caption.muted { (tokens.len()) " token(s)" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Capabilities" }
                    th scope="col" { "Created" } th scope="col" { "Last used" }
                    th scope="col" { "Expires" } th scope="col" { "Status" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for token in &tokens {
                        (token_row(&base, csrf, token, now))
                    }
                    @if tokens.is_empty() { tr { td colspan="7" .muted { "No tokens." } } }
                }
            }
        }
    })
}

fn token_row(base: &str, csrf: &str, token: &TokenRecord, now: Millis) -> Markup {
    let status = status_of(token, now);
    let live = status == "active";
    html! {
        tr data-token-id=(token.id) data-token-name=(token.name) {
            td { strong { (token.name) } (reminder(token, now)) br; code.muted { (token.id) }
                 @if token.source != "cli" { br; span.muted { "via " (token.source) } } }
            td.optional { (token.capabilities.names().join(", ")) }
            td.optional { (time(token.created_at)) }
            td { (maybe_time(token.last_used_at, "never"))
                 @if let Some(ip) = &token.last_used_ip { br; span.muted { "from " (ip) } } }
            td { (maybe_time(token.expires_at, "never")) }
            td { span.badge.(status) { (status) } }
            td {
                @if live {
                    form method="post" action={ (base) "/tokens/" (token.id) "/renew" } {
                        (csrf_field(csrf))
                        label.inline { span.muted { "Renew for" } (expiry_select("expiry", &format!("renew-{}", token.id), "90")) }
                        button.secondary type="submit" { "Renew" }
                    }
                    details {
                        summary { "Rotate…" }
                        form method="post" action={ (base) "/tokens/" (token.id) "/rotate" } {
                            (csrf_field(csrf))
                            label for={ "grace-" (token.id) } { "Old secret keeps working for" }
                            select name="grace" id={ "grace-" (token.id) } {
                                @for (value, label, _) in GRACE_PRESETS {
                                    option value=(value) selected[*value == "24h"] { (label) }
                                }
                            }
                            label for={ "rotate-expiry-" (token.id) } { "New secret expires after" }
                            (expiry_select("expiry", &format!("rotate-expiry-{}", token.id), "90"))
                            div { button type="submit" { "Rotate" } }
                        }
                    }
                }
                @if token.revoked_at.is_none() {
                    a href={ (base) "/tokens/" (token.id) "/revoke" } aria-label={ "Revoke " (token.name) } { "Revoke…" }
                }
            }
        }
    }
}

fn mint_request(
    guild_id: &str,
    user_id: &str,
    form: &FormData,
) -> Result<MintRequest, guildgate_core::error::ApiError> {
    let capabilities = form.capabilities("pick at least one capability")?;
    Ok(MintRequest {
        guild_id: guild_id.to_owned(),
        user_id: user_id.to_owned(),
        name: form.get("name").unwrap_or("").to_owned(),
        capabilities: Some(capabilities),
        expiry: Expiry::parse_preset("expiry", form.get("expiry").unwrap_or("90"))?,
        allowed_cidrs: parse_cidrs(
            "allowed_cidrs",
            form.get("allowed_cidrs")
                .unwrap_or("")
                .split([',', '\n', ' ']),
        )?,
        allow_self_reauth: form.checked("allow_self_reauth"),
        source: SOURCE_DASHBOARD.to_owned(),
    })
}

fn secret_page(
    signed_in: &SignedIn,
    guild_id: &str,
    token: &TokenRecord,
    secret: &str,
) -> Response {
    let frame = Frame {
        title: "Token created",
        user_id: &signed_in.user_id,
        csrf: &signed_in.csrf,
    };
    let back = format!("/dashboard/{guild_id}/settings/api-mcp?tab=tokens");
    view::page(
        &frame,
        view::secret_once("Token", &token.name, &token.id, secret, &back),
    )
    .into_response()
}

pub async fn create(
    State(state): State<DashboardState>,
    GuildForm {
        signed_in,
        guild,
        form,
        ..
    }: GuildForm,
) -> Result<Response, PageError> {
    let result = async {
        let request = mint_request(&guild.id, &signed_in.user_id, &form)?;
        draw_mint_budget(&state, &signed_in.user_id).await?;
        let (token, secret) = mint_token(state.owner(), &signed_in.actor(&state), request).await?;
        Ok(secret_page(&signed_in, &guild.id, &token, secret.expose()))
    }
    .await;
    or_show_on_tab(result, &state, &signed_in, &guild, "tokens").await
}

pub async fn confirm_revoke(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    Path((guild_id, token_id)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    let guild = owned_guild(&state, &signed_in, &guild_id).await?;
    let token = guild_token(&state, &guild, &token_id).await?;
    let frame = Frame {
        title: "Revoke token",
        user_id: &signed_in.user_id,
        csrf: &signed_in.csrf,
    };
    Ok(view::page(
        &frame,
        html! {
            section.card {
                h1 { "Revoke " (token.name) "?" }
                p { "Every script, bot or AI client using this token is refused from the next request on. "
                    "Revocation cannot be undone; create a new token if you need one." }
                form method="post" action={ "/dashboard/" (guild.id) "/tokens/" (token.id) "/revoke" } {
                    (csrf_field(&signed_in.csrf))
                    button.danger id="confirm-revoke" type="submit" { "Revoke " (token.name) }
                    " " a href={ "/dashboard/" (guild.id) "/settings/api-mcp?tab=tokens" } { "Cancel" }
                }
            }
        },
    ))
}

pub async fn revoke(
    State(state): State<DashboardState>,
    TokenForm {
        signed_in,
        guild,
        token,
        form: _,
    }: TokenForm,
) -> Result<Response, PageError> {
    revoke_token(state.owner(), &signed_in.actor(&state), &token).await?;
    Ok(back_to(&guild.id, "tokens", "revoked"))
}

pub async fn renew(
    State(state): State<DashboardState>,
    TokenForm {
        signed_in,
        guild,
        token,
        form,
    }: TokenForm,
) -> Result<Response, PageError> {
    let result = async {
        let expiry = Expiry::parse_preset("expiry", form.get("expiry").unwrap_or("90"))?;
        renew_token(state.owner(), &signed_in.actor(&state), &token, expiry).await?;
        Ok(back_to(&guild.id, "tokens", "renewed"))
    }
    .await;
    or_show_on_tab(result, &state, &signed_in, &guild, "tokens").await
}

pub async fn rotate(
    State(state): State<DashboardState>,
    TokenForm {
        signed_in,
        guild,
        token,
        form,
    }: TokenForm,
) -> Result<Response, PageError> {
    let result = async {
        let grace = GRACE_PRESETS
            .iter()
            .find(|(value, _, _)| Some(*value) == form.get("grace"))
            .map(|(_, _, millis)| *millis)
            .ok_or_else(|| {
                guildgate_core::error::ApiError::validation(
                    "grace",
                    "grace must be one of 0, 1h, 24h or 7d",
                )
            })?;
        let expiry = Expiry::parse_preset("expiry", form.get("expiry").unwrap_or("90"))?;
        draw_mint_budget(&state, &signed_in.user_id).await?;
        let (successor, secret) = rotate_token(
            state.owner(),
            &signed_in.actor(&state),
            &token,
            grace,
            expiry,
        )
        .await?;
        Ok(secret_page(
            &signed_in,
            &guild.id,
            &successor,
            secret.expose(),
        ))
    }
    .await;
    or_show_on_tab(result, &state, &signed_in, &guild, "tokens").await
}
