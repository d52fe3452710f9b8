use axum::http::StatusCode;
use guildgate_core::clock::MINUTE;
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::model::Mute;
use guildgate_core::policy::Tier;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, ConfirmationOnly, Ids, Restriction, bounded, lift, ok, optional, required};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};

/// Discord caps a timeout at 28 days.
pub const MAX_MUTE_MINUTES: u32 = 28 * 24 * 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMuteBody {
    user_id: Option<String>,
    duration_minutes: Option<u32>,
    reason: Option<String>,
    #[serde(rename = "_confirmation")]
    confirmation: Option<String>,
}

pub async fn list_mutes(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read)?;
    let now = call.state.clock.now();
    ok(&call
        .state
        .store
        .active_mutes(&call.guild_id, now, &page)
        .await?)
}

pub async fn add_mute(call: Call, json: GuildJson<AddMuteBody>) -> Answer {
    let body = &json.body;
    let user_id = Snowflake::parse("user_id", required("user_id", &body.user_id, 20)?)?;
    let minutes = body
        .duration_minutes
        .ok_or_else(|| ApiError::validation("duration_minutes", "duration_minutes is required"))?;
    let minutes = bounded("duration_minutes", minutes, 1..=MAX_MUTE_MINUTES)?;
    let reason = optional("reason", body.reason.as_deref(), 512)?;
    let destructive = call.policy.is_destructive(Some(minutes));
    if destructive {
        let n = minutes.to_string();
        call.confirm(
            &[("user_id", user_id.as_str()), ("N", &n)],
            body.confirmation.as_deref(),
        )
        .await?;
    }
    call.set_target(user_id.as_str());
    let tier = call.policy.tier_for(destructive);
    let mut write = match call.admit(tier, Some(json.digest)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let mute = Mute {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        user_id: user_id.to_string(),
        reason: reason.map(str::to_owned),
        duration_minutes: minutes,
        issued_by: write.call.issuer().to_owned(),
        issued_at: now,
        expires_at: now + i64::from(minutes) * MINUTE,
    };
    write.call.state.enforcer.mute(&mute).await?;
    write.tx().replace_mute(&mute).await?;
    write
        .finish(StatusCode::CREATED, &json!({ "mute": mute }))
        .await
}

pub async fn lift_mute(
    call: Call,
    ids: Ids,
    MaybeJson(json): MaybeJson<ConfirmationOnly>,
) -> Answer {
    lift(call, ids, json, Restriction::Mute).await
}
