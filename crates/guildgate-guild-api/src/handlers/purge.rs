use axum::http::StatusCode;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::Purge;
use guildgate_core::policy::Tier;
use serde_json::json;

use guildgate_core::bodies::MassPurgeBody;
use guildgate_core::intent::Action;

use super::Answer;
use crate::call::{Admission, Call};
use crate::extract::GuildJson;

pub async fn mass_purge(call: Call, json: GuildJson<MassPurgeBody>) -> Answer {
    let input = json.body.validate()?;
    call.confirm(&input.sentinel_values(), json.body.confirmation.as_deref())
        .await?;
    call.set_target(input.channel_id.as_str());
    let write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let purge = Purge {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        channel_id: input.channel_id.to_string(),
        count: input.count,
        reason: input.reason.map(str::to_owned),
        issued_by: write.call.issuer().to_owned(),
        issued_at: write.call.state.clock.now(),
        status: write
            .call
            .state
            .enforcer
            .mode()
            .replace("record-only", "recorded"),
    };
    let reason = purge.reason.clone();
    let write = write
        .apply_upstream(Action::Purge(purge.clone()), reason.as_deref())
        .await?;
    write
        .finish(StatusCode::CREATED, &json!({ "purge": purge }))
        .await
}
