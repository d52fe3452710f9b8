use axum::http::StatusCode;
use guildgate_core::bodies::AddStrikeBody;
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::Strike;
use guildgate_core::policy::Tier;
use serde_json::json;

use super::{Answer, ConfirmationOnly, Ids, ok};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};

pub async fn list_strikes(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read).await?;
    ok(&call.state.store.strikes(&call.guild_id, &page).await?)
}

pub async fn add_strike(call: Call, json: GuildJson<AddStrikeBody>) -> Answer {
    let input = json.body.validate()?;
    call.confirm(&input.sentinel_values(), json.body.confirmation.as_deref())
        .await?;
    call.set_target(input.user_id.as_str());
    let mut write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let id = new_ulid();
    let strike = Strike {
        strike_id: id.clone(),
        id,
        guild_id: write.call.guild_id.clone(),
        user_id: input.user_id.to_string(),
        player_name: input.player_name.map(str::to_owned),
        in_game_id: input.in_game_id.map(str::to_owned),
        reason: input.reason.to_owned(),
        category: input.category.map(str::to_owned),
        severity: input.severity,
        points: input.severity.points(),
        issued_by: write.call.issuer().to_owned(),
        token_id: Some(write.call.caller.token.id.clone()),
        issued_at: write.call.state.clock.now(),
        removed_at: None,
    };
    write.tx().insert_strike(&strike).await?;
    write
        .finish(StatusCode::CREATED, &json!({ "strike": strike }))
        .await
}

pub async fn remove_strike(
    call: Call,
    ids: Ids,
    MaybeJson(json): MaybeJson<ConfirmationOnly>,
) -> Answer {
    let strike_id = ids.ulid("strike_id")?;
    json.body.check_echoed("strike_id", &strike_id)?;
    call.confirm(
        &[("strikeId", strike_id.clone())],
        json.body.confirmation.as_deref(),
    )
    .await?;
    call.set_target(&strike_id);
    let mut write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let guild_id = write.call.guild_id.clone();
    let Some(mut strike) = write.tx().strike(&guild_id, &strike_id).await? else {
        return Err(ApiError::not_found("Strike").into());
    };
    let now = write.call.state.clock.now();
    let by = write.call.issuer().to_owned();
    write.tx().remove_strike(&strike_id, now, &by).await?;
    strike.removed_at = Some(now);
    write
        .finish(
            StatusCode::OK,
            &json!({ "strike": strike, "removed": true }),
        )
        .await
}
