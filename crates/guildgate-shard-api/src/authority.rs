//! "Central validation": every privileged write is shown to one authority before it
//! changes the shard's active configuration. In-process by default; a deployment with a
//! remote authority implements the trait and hands it to `ShardState::with_authority`.

use async_trait::async_trait;
use guildgate_core::shard::{ProposedChange, Refusal, validate_locally};

#[async_trait]
pub trait ValidationAuthority: Send + Sync {
    async fn validate(&self, change: &ProposedChange<'_>) -> Result<(), Refusal>;
}

/// The core's rules, applied in process.
pub struct LocalAuthority;

#[async_trait]
impl ValidationAuthority for LocalAuthority {
    async fn validate(&self, change: &ProposedChange<'_>) -> Result<(), Refusal> {
        validate_locally(change)
    }
}
