//! The dashboard's pages. Each guild page checks that the signed-in user owns the guild;
//! a guild they do not own is "not found", the same as one that does not exist.

pub mod audit;
pub mod guild;
pub mod home;
pub mod keys;
pub mod mcp;
pub mod reauth;
pub mod tokens;

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guildgate_core::error::ApiError;
use guildgate_core::ids::is_ulid;
use guildgate_core::model::{Guild, TokenRecord};
use guildgate_owner::OwnerError;

use crate::error::PageError;
use crate::form::FormData;
use crate::session::SignedIn;
use crate::state::DashboardState;

/// A form posted to one of the owner's guilds: signed in, CSRF-checked, guild owned.
pub struct GuildForm {
    pub signed_in: SignedIn,
    pub guild: Guild,
    pub form: FormData,
    /// The route's other path parameters (`token_id`, `user_code`).
    pub params: HashMap<String, String>,
}

/// A `GuildForm` about one of that guild's tokens (`{token_id}` in the route).
pub struct TokenForm {
    pub signed_in: SignedIn,
    pub guild: Guild,
    pub token: TokenRecord,
    pub form: FormData,
}

impl FromRequest<DashboardState> for GuildForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &DashboardState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let Path(mut params) =
            Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
                .await
                .map_err(|_| PageError::not_found())?;
        let form = FormData::from_request(Request::from_parts(parts, body), state).await?;
        signed_in.check_csrf(&form)?;
        let guild_id = params.remove("guild_id").unwrap_or_default();
        let guild = owned_guild(state, &signed_in, &guild_id).await?;
        Ok(GuildForm {
            signed_in,
            guild,
            form,
            params,
        })
    }
}

impl FromRequest<DashboardState> for TokenForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &DashboardState) -> Result<Self, PageError> {
        let posted = GuildForm::from_request(req, state).await?;
        let token_id = posted.params.get("token_id").map_or("", String::as_str);
        let token = guild_token(state, &posted.guild, token_id).await?;
        Ok(TokenForm {
            signed_in: posted.signed_in,
            guild: posted.guild,
            token,
            form: posted.form,
        })
    }
}

pub async fn owned_guild(
    state: &DashboardState,
    signed_in: &SignedIn,
    guild_id: &str,
) -> Result<Guild, PageError> {
    if guild_id.is_empty() || !guild_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PageError::not_found());
    }
    state
        .store
        .guild(guild_id)
        .await?
        .filter(|g| g.owner_id == signed_in.user_id)
        .ok_or_else(PageError::not_found)
}

pub async fn guild_token(
    state: &DashboardState,
    guild: &Guild,
    token_id: &str,
) -> Result<TokenRecord, PageError> {
    if !is_ulid(token_id) {
        return Err(PageError::not_found());
    }
    state
        .store
        .token(token_id)
        .await?
        .filter(|t| t.guild_id == guild.id)
        .ok_or_else(PageError::not_found)
}

/// Back to a guild tab after a change, with a fixed notice.
pub fn back_to(guild_id: &str, tab: &str, notice: &str) -> Response {
    Redirect::to(&format!(
        "/dashboard/{guild_id}/settings/api-mcp?tab={tab}&notice={notice}"
    ))
    .into_response()
}

/// A rule the owner broke is shown on the page they came from; anything else is an
/// error page.
pub async fn or_show_on_tab(
    result: Result<Response, OwnerError>,
    state: &DashboardState,
    signed_in: &SignedIn,
    guild: &Guild,
    tab: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(response) => Ok(response),
        Err(OwnerError::Api(err)) => Ok(rule_refused(state, signed_in, guild, tab, &err).await?),
        Err(OwnerError::Store(err)) => Err(err.into()),
    }
}

async fn rule_refused(
    state: &DashboardState,
    signed_in: &SignedIn,
    guild: &Guild,
    tab: &str,
    err: &ApiError,
) -> Result<Response, PageError> {
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let query = guild::SettingsQuery {
        tab: Some(tab.to_owned()),
        ..guild::SettingsQuery::default()
    };
    let page = guild::render(state, signed_in, guild, &query, Some(&err.message)).await?;
    Ok((status, page).into_response())
}
