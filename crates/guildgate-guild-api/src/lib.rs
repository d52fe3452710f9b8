//! The guild moderation API (`/api/public/v1/guilds/{guild_id}/...` and the token
//! re-auth window routes): the router built from the policy table, the guard pipeline
//! and thin handlers.

mod call;
mod context;
mod device;
mod enforcer;
mod envelope;
mod extract;
mod handlers;
pub mod openapi;
mod router;
mod state;
mod token_cache;
mod upstream;

pub use enforcer::{ActionContext, Enforcer, RecordOnly, UpstreamError};
pub use envelope::{Failure, envelope};
pub use guildgate_storage::AuditSink;
pub use router::{not_found, router};
pub use state::{AppState, GuildApiConfig};
pub use token_cache::TokenCache;
pub use upstream::{lift_expired_bans, reconcile};
