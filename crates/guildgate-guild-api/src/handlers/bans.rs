use axum::http::StatusCode;
use guildgate_core::clock::MINUTE;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::Ban;
use guildgate_core::policy::Tier;
use serde_json::json;

use guildgate_core::bodies::AddBanBody;
use guildgate_core::intent::Action;

use super::{Answer, ConfirmationOnly, Ids, lift, ok};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};
use guildgate_storage::Restriction;

pub async fn list_bans(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read).await?;
    let now = call.state.clock.now();
    ok(&call
        .state
        .store
        .active_bans(&call.guild_id, now, &page)
        .await?)
}

pub async fn add_ban(call: Call, json: GuildJson<AddBanBody>) -> Answer {
    let input = json.body.validate()?;
    call.confirm(&input.sentinel_values(), json.body.confirmation.as_deref())
        .await?;
    call.set_target(input.user_id.as_str());
    let write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let ban = Ban {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        user_id: input.user_id.to_string(),
        reason: input.reason.map(str::to_owned),
        duration_minutes: input.duration_minutes,
        delete_message_seconds: input.delete_message_seconds,
        issued_by: write.call.issuer().to_owned(),
        issued_at: now,
        expires_at: input.duration_minutes.map(|m| now + i64::from(m) * MINUTE),
    };
    let reason = ban.reason.clone();
    let write = write
        .apply_upstream(Action::Ban(ban.clone()), reason.as_deref())
        .await?;
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
