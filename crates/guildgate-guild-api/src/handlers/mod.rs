//! Thin handlers, one file per resource: validate the input, run the guard steps the
//! policy row asks for, make the change through a `Write`.

pub mod audit;
pub mod bans;
pub mod mutes;
pub mod purge;
pub mod reauth;
pub mod servers;
pub mod strikes;
pub mod tickets;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, canonical_ulid};
use guildgate_storage::Restriction;
use serde::Serialize;

use crate::envelope::Failure;
use crate::state::AppState;

pub type Answer = Result<Response, Failure>;

pub fn ok(body: &impl Serialize) -> Answer {
    Ok(axum::Json(body).into_response())
}

/// The route's path parameters.
pub struct Ids(Vec<(String, String)>);

impl FromRequestParts<AppState> for Ids {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Failure(ApiError::validation("path", "The path is not valid UTF-8.")))?;
        Ok(Ids(raw
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()))
    }
}

impl Ids {
    fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn snowflake(&self, name: &str) -> Result<Snowflake, Failure> {
        Ok(Snowflake::parse(name, self.raw(name))?)
    }

    /// A guildgate id (a ULID); anything else is named in VALIDATION_FAILED.
    pub fn ulid(&self, name: &str) -> Result<String, Failure> {
        canonical_ulid(self.raw(name)).ok_or_else(|| {
            ApiError::validation(name, format!("{name} must be a 26-character id")).into()
        })
    }
}

pub use guildgate_core::bodies::ConfirmationOnly;

/// Lifting a ban and lifting a mute differ only in which record and which upstream call.
pub async fn lift(
    call: crate::call::Call,
    ids: Ids,
    json: crate::extract::GuildJson<ConfirmationOnly>,
    what: Restriction,
) -> Answer {
    use crate::call::Admission;
    use guildgate_core::intent::Action;
    use guildgate_core::policy::Tier;

    let user_id = ids.snowflake("user_id")?;
    json.body.check_echoed("user_id", user_id.as_str())?;
    call.confirm(
        &[("userId", user_id.to_string())],
        json.body.confirmation.as_deref(),
    )
    .await?;
    call.set_target(user_id.as_str());
    // Admitted first, so a retried DELETE replays its saved answer instead of a 404.
    let write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let (guild_id, by) = (write.call.guild_id.clone(), write.call.issuer().to_owned());
    let now = write.call.state.clock.now();
    let user = user_id.to_string();
    let key = match what {
        Restriction::Ban => "ban",
        Restriction::Mute => "mute",
    };
    if !write
        .call
        .state
        .store
        .is_restricted(what, &guild_id, &user, now)
        .await?
    {
        return Err(ApiError::not_found(&format!("Active {key} for that user")).into());
    }
    let action = match what {
        Restriction::Ban => Action::Unban {
            guild_id: guild_id.clone(),
            user_id: user.clone(),
            by,
            at: now,
        },
        Restriction::Mute => Action::LiftMute {
            guild_id: guild_id.clone(),
            user_id: user.clone(),
            by,
            at: now,
        },
    };
    let write = write.apply_upstream(action, None).await?;
    let lifted_at = guildgate_core::clock::to_rfc3339(now);
    let answer = serde_json::json!({ key: { "guild_id": guild_id, "user_id": user, "lifted": true, "lifted_at": lifted_at } });
    write.finish(axum::http::StatusCode::OK, &answer).await
}
