use guildgate_core::audit::{ActorSource, OUTCOME_SUCCESS};
use guildgate_core::error::ApiError;
use guildgate_core::policy::Tier;
use guildgate_storage::AuditFilter;
use serde::Deserialize;

use super::{Answer, ok};
use crate::call::Call;
use crate::extract::{GuildQuery, PageQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<String>,
    cursor: Option<String>,
    actor_source: Option<String>,
    token_id: Option<String>,
    outcome: Option<String>,
}

pub async fn list_audit(call: Call, GuildQuery(q): GuildQuery<AuditQuery>) -> Answer {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request()?;
    if let Some(source) = &q.actor_source
        && ActorSource::parse(source).is_none()
    {
        return Err(ApiError::validation(
            "actor_source",
            "actor_source must be token, mcp, dashboard, cli or system",
        )
        .into());
    }
    call.draw(Tier::Read).await?;
    // Rows of reads are written in batches; make the newest ones visible first.
    call.state.audit.flush().await;
    let filter = AuditFilter {
        surface: None,
        actor_source: q.actor_source,
        token_id: q.token_id,
        outcome: q.outcome.map(|o| {
            if o.eq_ignore_ascii_case(OUTCOME_SUCCESS) {
                OUTCOME_SUCCESS.to_owned()
            } else {
                o.to_ascii_uppercase()
            }
        }),
        ..AuditFilter::default()
    };
    ok(&call
        .state
        .store
        .audit(&call.guild_id, &filter, &page)
        .await?)
}
