//! Thin handlers: read the input, make the change through `change_shard`, answer in the
//! shapes the shard's client reads.

pub mod archive;
pub mod assignments;
pub mod clients;
pub mod embed;
pub mod events;
pub mod metrics;
pub mod nets;
pub mod presets;
pub mod ready_checks;
pub mod settings;
pub mod status;
pub mod uri_links;

use axum::response::{IntoResponse, Response};
use guildgate_core::shard::{ShardConfig, ShardTier};
use guildgate_http::MessageError;
use guildgate_storage::ShardRow;
use serde::Serialize;

use crate::caller::Caller;

pub fn ok(body: &impl Serialize) -> Response {
    axum::Json(body).into_response()
}

/// The caller's shard as it is now.
pub struct Current {
    pub row: ShardRow,
    pub config: ShardConfig,
    pub tier: ShardTier,
}

pub async fn current(caller: &Caller) -> Result<Current, MessageError> {
    load(&caller.state, caller.guild_id()).await
}

pub async fn load(
    state: &crate::state::ShardState,
    guild_id: &str,
) -> Result<Current, MessageError> {
    let row = state
        .store
        .shard(guild_id)
        .await?
        .ok_or_else(|| MessageError::not_found("Guild"))?;
    Current::from_row(row)
}

impl Current {
    /// The stored row with its configuration parsed.
    pub fn from_row(row: ShardRow) -> Result<Self, MessageError> {
        let config = ShardConfig::parse(&row.config).map_err(|err| {
            tracing::error!(%err, guild_id = %row.guild_id, "stored shard configuration does not parse");
            MessageError::internal()
        })?;
        Ok(Self {
            tier: ShardTier::parse(&row.tier).unwrap_or(ShardTier::Free),
            row,
            config,
        })
    }
}
