//! `/dashboard/{guild}/settings/api-mcp`: Settings → API & MCP, one tab at a time
//! (`?tab=tokens|reauth|mcp|audit`). These are the URLs that error messages and the
//! device flow hand out.

use axum::extract::{Path, Query, State};
use guildgate_core::model::{Guild, Member};
use maud::{Markup, html};
use serde::Deserialize;

use super::owned_guild;
use crate::error::PageError;
use crate::session::SignedIn;
use crate::state::DashboardState;
use crate::view::{self, Frame};

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsQuery {
    pub tab: Option<String>,
    pub notice: Option<String>,
    /// Tokens: `unused` lists tokens not used for 30 days.
    pub filter: Option<String>,
    /// Re-auth: the token an error message pointed at. Audit: the token filter.
    pub token: Option<String>,
    /// MCP: the pairing code the device flow linked to.
    pub user_code: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub before: Option<String>,
}

const TABS: &[(&str, &str)] = &[
    ("tokens", "REST Tokens"),
    ("reauth", "Re-auth"),
    ("mcp", "MCP Tokens"),
    ("audit", "Audit log"),
];

/// What a tab renders from.
pub struct GuildPage<'a> {
    pub state: &'a DashboardState,
    pub signed_in: &'a SignedIn,
    pub guild: &'a Guild,
    /// The owner's own membership: what they can hand to a token.
    pub member: Option<Member>,
    pub query: &'a SettingsQuery,
    pub now: i64,
}

pub async fn settings(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
    Path(guild_id): Path<String>,
    Query(query): Query<SettingsQuery>,
) -> Result<Markup, PageError> {
    let guild = owned_guild(&state, &signed_in, &guild_id).await?;
    render(&state, &signed_in, &guild, &query, None).await
}

pub async fn render(
    state: &DashboardState,
    signed_in: &SignedIn,
    guild: &Guild,
    query: &SettingsQuery,
    error: Option<&str>,
) -> Result<Markup, PageError> {
    let tab = query.tab.as_deref().unwrap_or("tokens");
    let tab = TABS
        .iter()
        .find(|(id, _)| *id == tab)
        .map_or("tokens", |(id, _)| *id);
    let member = state.store.member(&guild.id, &signed_in.user_id).await?;
    let page = GuildPage {
        state,
        signed_in,
        guild,
        member,
        query,
        now: state.now(),
    };
    let body = match tab {
        "reauth" => super::reauth::tab(&page).await?,
        "mcp" => super::mcp::tab(&page).await?,
        "audit" => super::audit::tab(&page).await?,
        _ => super::tokens::tab(&page).await?,
    };
    let title = format!("{} · API & MCP", guild.name);
    let frame = Frame {
        title: &title,
        user_id: &signed_in.user_id,
        csrf: &signed_in.csrf,
    };
    Ok(view::page(
        &frame,
        html! {
            p.muted { a href="/dashboard" { "Guilds" } " / " (guild.name) " / Settings" }
            h1 { "API & MCP" }
            nav aria-label="API & MCP sections" {
                ul.tabs {
                    @for (id, label) in TABS {
                        li {
                            a href={ "/dashboard/" (guild.id) "/settings/api-mcp?tab=" (id) }
                              aria-current=[(*id == tab).then_some("page")] { (label) }
                        }
                    }
                }
            }
            (view::notice(query.notice.as_deref()))
            @if let Some(error) = error { (view::error_notice(error)) }
            @if guild.tier != guildgate_core::model::GuildTier::Pro {
                p.notice.warn { "This guild is on the free tier: API tokens need the pro tier." }
            }
            (body)
        },
    ))
}
