//! The MCP Tokens tab: pairing requests from the device flow (approve with a capability
//! selection, or deny) and the tokens MCP clients hold.

use axum::extract::State;
use axum::response::Response;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::device::normalise_user_code;
use guildgate_core::model::SOURCE_MCP;
use guildgate_owner::{PairingDecision, decide_pairing};
use maud::{Markup, html};

use super::guild::GuildPage;
use super::{GuildForm, back_to, or_show_on_tab};
use crate::error::PageError;
use crate::state::DashboardState;
use crate::view::{csrf_field, maybe_time, time};

pub async fn tab(page: &GuildPage<'_>) -> Result<Markup, PageError> {
    let now = page.now;
    let pairings = page
        .state
        .store
        .pending_pairings(&page.guild.id, now)
        .await?;
    let mut tokens = page.state.store.tokens_of_guild(&page.guild.id).await?;
    tokens.retain(|t| t.source == SOURCE_MCP);
    tokens.reverse();
    let wanted = page
        .query
        .user_code
        .as_deref()
        .and_then(normalise_user_code);
    let offered = page
        .member
        .as_ref()
        .map_or(CapabilitySet::EMPTY, |m| m.capabilities);
    let base = format!("/dashboard/{}", page.guild.id);
    let csrf = &page.signed_in.csrf;
    Ok(html! {
        @if !page.guild.mcp_enabled {
            p.notice.warn { "MCP is a Labs feature that is off for this guild: pairings are refused until the operator runs "
                code { "guildgate admin guild set-feature --id " (page.guild.id) " --mcp on" } "." }
        }
        h2 { "Pairing requests" }
        p { "Compare the code with the one your MCP client shows before you approve." }
        @if pairings.is_empty() { p.muted id="no-pairings" { "No pending pairing requests." } }
        @for code in &pairings {
            section.card data-user-code=(code.user_code)
                class=[(wanted.as_deref() == Some(code.user_code.as_str())).then_some("highlight")] {
                h3 { code { (code.user_code) } " · " (code.client_name) }
                p.muted { "Requested " (time(code.created_at)) ", expires " (time(code.expires_at)) }
                form method="post" action={ (base) "/pairings/" (code.user_code) "/approve" } {
                    (csrf_field(csrf))
                    fieldset {
                        legend { "Capabilities for this client" }
                        @for cap in offered.iter() {
                            label.inline { input type="checkbox" name="capabilities" value=(cap.as_str()) checked; (cap.as_str()) }
                        }
                    }
                    button type="submit" { "Approve " (code.user_code) }
                }
                form method="post" action={ (base) "/pairings/" (code.user_code) "/deny" } {
                    (csrf_field(csrf))
                    button.secondary type="submit" { "Deny" }
                }
            }
        }
        h2 { "Tokens held by MCP clients" }
        ul {
            @for token in &tokens {
                li { strong { (token.name) } " · " (token.status(now)) " · last used " (maybe_time(token.last_used_at, "never"))
                     @if token.revoked_at.is_none() { " · " a href={ (base) "/tokens/" (token.id) "/revoke" } { "Revoke…" } } }
            }
            @if tokens.is_empty() { li.muted { "None yet." } }
        }
    })
}

pub async fn approve(
    State(state): State<DashboardState>,
    GuildForm {
        signed_in,
        guild,
        form,
        params,
    }: GuildForm,
) -> Result<Response, PageError> {
    let user_code = params.get("user_code").map_or("", String::as_str);
    let result = async {
        let capabilities = form.capabilities("pick at least one capability for the client")?;
        let decision = PairingDecision::Approve {
            issuer: Some(signed_in.user_id.clone()),
            capabilities: Some(capabilities),
        };
        decide_pairing(
            state.owner(),
            &signed_in.actor(&state),
            user_code,
            Some(&guild.id),
            decision,
        )
        .await?;
        Ok(back_to(&guild.id, "mcp", "approved"))
    }
    .await;
    or_show_on_tab(result, &state, &signed_in, &guild, "mcp").await
}

pub async fn deny(
    State(state): State<DashboardState>,
    GuildForm {
        signed_in,
        guild,
        form: _,
        params,
    }: GuildForm,
) -> Result<Response, PageError> {
    let user_code = params.get("user_code").map_or("", String::as_str);
    let result = decide_pairing(
        state.owner(),
        &signed_in.actor(&state),
        user_code,
        Some(&guild.id),
        PairingDecision::Deny,
    )
    .await
    .map(|_| back_to(&guild.id, "mcp", "denied"));
    or_show_on_tab(result, &state, &signed_in, &guild, "mcp").await
}
