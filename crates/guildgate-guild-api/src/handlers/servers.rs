use axum::http::StatusCode;
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::RconRun;
use guildgate_core::policy::Tier;
use serde_json::json;

use guildgate_core::bodies::RunRconBody;

use super::{Answer, Ids, ok};
use crate::call::{Admission, Call};
use crate::extract::{GuildJson, GuildQuery, PageQuery};

pub async fn list_servers(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read).await?;
    ok(&call.state.store.servers(&call.guild_id, &page).await?)
}

pub async fn run_rcon(call: Call, ids: Ids, json: GuildJson<RunRconBody>) -> Answer {
    let server_id = ids.ulid("server_id")?;
    guildgate_core::bodies::echoed_id("server_id", json.body.server_id.as_deref(), &server_id)?;
    let command = json.body.validate()?;
    call.confirm(
        &[("serverId", server_id.clone())],
        json.body.confirmation.as_deref(),
    )
    .await?;
    call.set_target(&server_id);
    let Some((server, sealed)) = call.state.store.server(&call.guild_id, &server_id).await? else {
        return Err(ApiError::not_found("Server").into());
    };
    let password = call.state.sealer.unseal(&sealed).map_err(|err| {
        tracing::error!(%err, server_id, "cannot unseal an RCON password");
        ApiError::internal()
    })?;
    let password = String::from_utf8(password).map_err(|_| ApiError::internal())?;
    let mut write = match call.admit(Tier::Destructive, Some(&json.raw)).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let mut run = RconRun {
        id: new_ulid(),
        guild_id: write.call.guild_id.clone(),
        server_id: server_id.clone(),
        command: command.to_owned(),
        issued_by: write.call.issuer().to_owned(),
        issued_at: write.call.state.clock.now(),
        status: "recorded".to_owned(),
        output: None,
    };
    if let Some(output) = write
        .call
        .state
        .enforcer
        .rcon(&server, &password, &run)
        .await?
    {
        run.status = "completed".to_owned();
        run.output = Some(output);
    }
    write.tx().insert_rcon_run(&run).await?;
    write.finish(StatusCode::OK, &json!({ "run": run })).await
}
