use axum::http::StatusCode;
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::model::{Severity, Strike};
use guildgate_core::policy::Tier;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, ConfirmationOnly, Ids, ok, optional, required};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, MaybeJson, PageQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddStrikeBody {
    user_id: Option<String>,
    player_name: Option<String>,
    in_game_id: Option<String>,
    reason: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    #[serde(rename = "_confirmation")]
    confirmation: Option<String>,
}

pub async fn list_strikes(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read)?;
    ok(&call.state.store.strikes(&call.guild_id, &page).await?)
}

pub async fn add_strike(call: Call, json: GuildJson<AddStrikeBody>) -> Answer {
    let body = &json.body;
    let user_id = Snowflake::parse("user_id", required("user_id", &body.user_id, 20)?)?;
    let severity = Severity::parse(required("severity", &body.severity, 10)?)
        .ok_or_else(|| ApiError::validation("severity", "severity must be MINOR or MAJOR"))?;
    let reason = required("reason", &body.reason, 1000)?;
    let player_name = optional("player_name", body.player_name.as_deref(), 100)?;
    let in_game_id = optional("in_game_id", body.in_game_id.as_deref(), 64)?;
    let category = optional("category", body.category.as_deref(), 64)?;

    let values = [
        ("user_id", user_id.as_str()),
        ("MINOR|MAJOR", severity.as_str()),
    ];
    call.confirm(&values, body.confirmation.as_deref()).await?;
    call.set_target(user_id.as_str());
    let mut write = match call.admit(Tier::Destructive, Some(json.digest)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let id = new_ulid();
    let strike = Strike {
        strike_id: id.clone(),
        id,
        guild_id: write.call.guild_id.clone(),
        user_id: user_id.to_string(),
        player_name: player_name.map(str::to_owned),
        in_game_id: in_game_id.map(str::to_owned),
        reason: reason.to_owned(),
        category: category.map(str::to_owned),
        severity,
        points: severity.points(),
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
    call.confirm(
        &[("strikeId", &strike_id)],
        json.body.confirmation.as_deref(),
    )
    .await?;
    call.set_target(&strike_id);
    let mut write = match call.admit(Tier::Destructive, Some(json.digest)).await? {
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
