use axum::http::StatusCode;
use guildgate_core::error::ApiError;
use guildgate_core::policy::Tier;
use serde_json::json;

use super::{Answer, Ids, ok};
use crate::call::{Admission, Call};
use crate::extract::{GuildQuery, PageQuery};

pub async fn list_tickets(call: Call, GuildQuery(q): GuildQuery<PageQuery>) -> Answer {
    let page = q.to_request()?;
    call.draw(Tier::Read).await?;
    ok(&call.state.store.tickets(&call.guild_id, &page).await?)
}

pub async fn get_ticket(call: Call, ids: Ids) -> Answer {
    let ticket_id = ids.ulid("ticket_id")?;
    call.draw(Tier::Read).await?;
    match call.state.store.ticket(&call.guild_id, &ticket_id).await? {
        Some(ticket) => ok(&json!({ "ticket": ticket })),
        None => Err(ApiError::not_found("Ticket").into()),
    }
}

/// Claim and unclaim differ only in the rule applied to the ticket.
async fn change_claim(call: Call, ids: Ids, claim: bool) -> Answer {
    let ticket_id = ids.ulid("ticket_id")?;
    call.set_target(&ticket_id);
    let mut write = match call.admit(Tier::Reversible, None).await? {
        Admission::Replay(saved) => return Ok(saved),
        Admission::Proceed(write) => write,
    };
    let guild_id = write.call.guild_id.clone();
    let Some(mut ticket) = write.tx().ticket(&guild_id, &ticket_id).await? else {
        return Err(ApiError::not_found("Ticket").into());
    };
    let issuer = write.call.issuer().to_owned();
    if claim {
        ticket.claim(&issuer, write.call.state.clock.now())?;
    } else {
        ticket.unclaim(&issuer)?;
    }
    write.tx().save_ticket_claim(&ticket).await?;
    write
        .finish(StatusCode::OK, &json!({ "ticket": ticket }))
        .await
}

pub async fn claim_ticket(call: Call, ids: Ids) -> Answer {
    change_claim(call, ids, true).await
}

pub async fn unclaim_ticket(call: Call, ids: Ids) -> Answer {
    change_claim(call, ids, false).await
}
