//! `/dashboard`: the guilds the signed-in user owns.

use axum::extract::State;
use maud::{Markup, html};

use crate::error::PageError;
use crate::session::SignedIn;
use crate::state::DashboardState;
use crate::view::{self, Frame};

pub async fn home(
    State(state): State<DashboardState>,
    signed_in: SignedIn,
) -> Result<Markup, PageError> {
    let guilds = state.store.guilds_owned_by(&signed_in.user_id).await?;
    let frame = Frame {
        title: "Your guilds",
        user_id: &signed_in.user_id,
        csrf: &signed_in.csrf,
    };
    Ok(view::page(
        &frame,
        html! {
            h1 { "Your guilds" }
            @if guilds.is_empty() {
                p.card {
                    "You own no guild on this server yet. The operator creates one with "
                    code { "guildgate admin guild create --id <guild> --owner " (signed_in.user_id) }
                    "."
                }
            } @else {
                ul.card {
                    @for guild in &guilds {
                        li {
                            a href={ "/dashboard/" (guild.id) "/settings/api-mcp" } { (guild.name) }
                            " " span.badge.(guild.tier.as_str()) { (guild.tier.as_str()) }
                            " " span.muted { (guild.id) }
                            @if !guild.mcp_enabled { " " span.muted { "(MCP not enabled)" } }
                        }
                    }
                }
            }
            h2 { "Tasks API keys" }
            p { a href="/dashboard/settings/api-keys" { "Settings → API Keys" } " for your " code { "arca_" } " keys." }
        },
    ))
}
