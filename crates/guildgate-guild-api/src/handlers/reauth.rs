//! `/api/api-tokens/{token_id}/reauth-window`: a token's own 15-minute window.

use axum::http::StatusCode;
use guildgate_core::audit::ActorSource;
use guildgate_core::error::ApiError;
use guildgate_core::guard;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::{REAUTH_WINDOW_MILLIS, ReauthWindow};
use guildgate_core::policy::Tier;
use serde_json::json;

use super::{Answer, Ids, ok};
use crate::call::{Admission, Call};

/// The window routes act on the Bearer's own token only.
fn own_token(call: &Call, ids: &Ids) -> Result<(), crate::Failure> {
    let token_id = ids.ulid("token_id")?;
    if token_id != call.caller.token.id {
        return Err(ApiError::forbidden(
            "A token can manage only its own re-auth window; the URL must carry the id of the token in the Bearer header.",
        )
        .into());
    }
    call.set_target(&token_id);
    Ok(())
}

pub fn window_body(window: Option<&ReauthWindow>) -> serde_json::Value {
    match window {
        Some(window) => json!({ "open": true, "window": window }),
        None => json!({ "open": false }),
    }
}

pub async fn get_reauth_window(call: Call, ids: Ids) -> Answer {
    own_token(&call, &ids)?;
    call.draw(Tier::Read).await?;
    let window = call
        .state
        .store
        .current_window(&call.caller.token.id, call.state.clock.now())
        .await?;
    ok(&window_body(window.as_ref()))
}

pub async fn open_reauth_window(call: Call, ids: Ids) -> Answer {
    own_token(&call, &ids)?;
    if !call.caller.token.allow_self_reauth {
        let url = call.state.reauth_url(&call.guild_id, &call.caller.token.id);
        let mut err = guard::reauth_required(&url);
        err.message =
            "This token was not minted with self re-auth, so its Bearer cannot open a window. \
            Approve the window from the dashboard (details.reauth_url) or run \
            `guildgate admin reauth open --token-id <id>`."
                .to_owned();
        return Err(err.into());
    }
    let mut write = match call.admit(Tier::Reversible, None).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let window = ReauthWindow {
        window_id: new_ulid(),
        token_id: write.call.caller.token.id.clone(),
        opened_at: now,
        expires_at: now + REAUTH_WINDOW_MILLIS,
        opened_by: ActorSource::Token,
    };
    write.tx().open_window(&window).await?;
    write
        .finish(StatusCode::OK, &window_body(Some(&window)))
        .await
}

pub async fn close_reauth_window(call: Call, ids: Ids) -> Answer {
    own_token(&call, &ids)?;
    let mut write = match call.admit(Tier::Reversible, None).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let token_id = write.call.caller.token.id.clone();
    write.tx().close_windows(&token_id, now).await?;
    write.finish(StatusCode::OK, &window_body(None)).await
}

/// `GET /api/api-tokens/current`: what the calling token is and may do now.
pub async fn token_info(call: Call) -> Answer {
    call.draw(Tier::Read).await?;
    let token = &call.caller.token;
    ok(&json!({
        "id": token.id,
        "name": token.name,
        "guild_id": token.guild_id,
        "user_id": token.user_id,
        "capabilities": call.caller.effective.names(),
        "expires_at": token.expires_at.map(guildgate_core::clock::to_rfc3339),
        "allow_self_reauth": token.allow_self_reauth,
        "source": token.source,
    }))
}

/// `GET /api/public/v1/status`: where this server sends actions.
pub async fn status(call: Call) -> Answer {
    call.draw(Tier::Read).await?;
    ok(&json!({
        "version": env!("CARGO_PKG_VERSION"),
        "upstream": {
            "discord": call.state.enforcer.mode(),
            "rcon": call.state.enforcer.rcon_mode(),
        },
    }))
}
