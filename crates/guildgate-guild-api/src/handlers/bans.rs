use axum::http::StatusCode;
use guildgate_core::clock::MINUTE;
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::model::Ban;
use guildgate_core::policy::Tier;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, ConfirmationOnly, Ids, Restriction, bounded, lift, ok, optional, required};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};

/// A year, in minutes: longer bans are permanent ones.
const MAX_BAN_MINUTES: u32 = 525_600;
/// Discord deletes at most 7 days of a banned user's messages.
const MAX_DELETE_MESSAGE_SECONDS: u32 = 604_800;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBanBody {
    user_id: Option<String>,
    reason: Option<String>,
    /// Absent or null: permanent.
    duration_minutes: Option<u32>,
    delete_message_seconds: Option<u32>,
    #[serde(rename = "_confirmation")]
    confirmation: Option<String>,
}

pub async fn list_bans(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read)?;
    let now = call.state.clock.now();
    ok(&call
        .state
        .store
        .active_bans(&call.guild_id, now, &page)
        .await?)
}

pub async fn add_ban(call: Call, json: GuildJson<AddBanBody>) -> Answer {
    let body = &json.body;
    let user_id = Snowflake::parse("user_id", required("user_id", &body.user_id, 20)?)?;
    let reason = optional("reason", body.reason.as_deref(), 512)?;
    let duration = body
        .duration_minutes
        .map(|d| bounded("duration_minutes", d, 1..=MAX_BAN_MINUTES))
        .transpose()?;
    let delete_seconds = bounded(
        "delete_message_seconds",
        body.delete_message_seconds.unwrap_or(0),
        0..=MAX_DELETE_MESSAGE_SECONDS,
    )?;
    let span = match duration {
        Some(minutes) => format!("DURATION {minutes}"),
        None => "PERMANENT".to_owned(),
    };
    let values = [
        ("user_id", user_id.as_str()),
        ("PERMANENT|DURATION N", span.as_str()),
    ];
    call.confirm(&values, body.confirmation.as_deref()).await?;
    call.set_target(user_id.as_str());
    let mut write = match call.admit(Tier::Destructive, Some(json.digest)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let ban = Ban {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        user_id: user_id.to_string(),
        reason: reason.map(str::to_owned),
        duration_minutes: duration,
        delete_message_seconds: delete_seconds,
        issued_by: write.call.issuer().to_owned(),
        issued_at: now,
        expires_at: duration.map(|m| now + i64::from(m) * MINUTE),
    };
    write.call.state.enforcer.ban(&ban).await?;
    write.tx().replace_ban(&ban).await?;
    write
        .finish(StatusCode::CREATED, &json!({ "ban": ban }))
        .await
}

pub async fn remove_ban(
    call: Call,
    ids: Ids,
    MaybeJson(json): MaybeJson<ConfirmationOnly>,
) -> Answer {
    lift(call, ids, json, Restriction::Ban).await
}
