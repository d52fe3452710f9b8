use axum::http::StatusCode;
use guildgate_core::clock::MINUTE;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::Mute;
use guildgate_core::policy::Tier;
use serde_json::json;

use guildgate_core::bodies::AddMuteBody;
use guildgate_core::intent::Action;

use super::{Answer, ConfirmationOnly, Ids, lift, ok};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};
use guildgate_storage::Restriction;

pub async fn list_mutes(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read).await?;
    let now = call.state.clock.now();
    ok(&call
        .state
        .store
        .active_mutes(&call.guild_id, now, &page)
        .await?)
}

pub async fn add_mute(call: Call, json: GuildJson<AddMuteBody>) -> Answer {
    let input = json.body.validate()?;
    let destructive = call.policy.is_destructive(Some(input.duration_minutes));
    if destructive {
        call.confirm(&input.sentinel_values(), json.body.confirmation.as_deref())
            .await?;
    }
    call.set_target(input.user_id.as_str());
    let tier = call.policy.tier_for(destructive);
    let write = match call.admit(tier, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let now = write.call.state.clock.now();
    let mute = Mute {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        user_id: input.user_id.to_string(),
        reason: input.reason.map(str::to_owned),
        duration_minutes: input.duration_minutes,
        issued_by: write.call.issuer().to_owned(),
        issued_at: now,
        expires_at: now + i64::from(input.duration_minutes) * MINUTE,
    };
    let reason = mute.reason.clone();
    let write = write
        .apply_upstream(Action::Mute(mute.clone()), reason.as_deref())
        .await?;
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
