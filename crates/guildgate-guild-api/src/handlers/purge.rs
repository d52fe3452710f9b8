use axum::http::StatusCode;
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::model::Purge;
use guildgate_core::policy::Tier;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, bounded, optional, required};
use crate::call::{Admission, Call};
use crate::extract::GuildJson;

pub const MAX_PURGE: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MassPurgeBody {
    channel_id: Option<String>,
    count: Option<u32>,
    reason: Option<String>,
    #[serde(rename = "_confirmation")]
    confirmation: Option<String>,
}

pub async fn mass_purge(call: Call, json: GuildJson<MassPurgeBody>) -> Answer {
    let body = &json.body;
    let channel_id = Snowflake::parse("channel_id", required("channel_id", &body.channel_id, 20)?)?;
    let count = body
        .count
        .ok_or_else(|| ApiError::validation("count", "count is required"))?;
    let count = bounded("count", count, 1..=MAX_PURGE)?;
    let reason = optional("reason", body.reason.as_deref(), 512)?;
    let n = count.to_string();
    call.confirm(
        &[("count", &n), ("channel_id", channel_id.as_str())],
        body.confirmation.as_deref(),
    )
    .await?;
    call.set_target(channel_id.as_str());
    let mut write = match call.admit(Tier::Destructive, Some(json.digest)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let purge = Purge {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        channel_id: channel_id.to_string(),
        count,
        reason: reason.map(str::to_owned),
        issued_by: write.call.issuer().to_owned(),
        issued_at: write.call.state.clock.now(),
        status: write
            .call
            .state
            .enforcer
            .mode()
            .replace("record-only", "recorded"),
    };
    write.call.state.enforcer.purge(&purge).await?;
    write.tx().insert_purge(&purge).await?;
    write
        .finish(StatusCode::CREATED, &json!({ "purge": purge }))
        .await
}
