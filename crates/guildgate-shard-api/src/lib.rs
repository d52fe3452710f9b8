//! The comms shard Owner API (`/api/v1`, `scok_` keys): status, nets, assignments, role
//! rules, features, the public net, the operation, the event stream and webhooks. Built
//! on the same core as the other surfaces (key hashing, rate limits, request ids, audit,
//! the `{"error": "<message>"}` error); every privileged write passes one validation
//! authority before it changes the shard's configuration.

mod authority;
mod body;
mod caller;
mod context;
mod handlers;
mod hub;
pub mod openapi;
mod router;
mod state;
mod webhooks;
mod write;

pub use authority::{LocalAuthority, ValidationAuthority};
pub use router::router;
pub use state::{ShardSettings, ShardState};
pub use webhooks::WebhookSettings;

/// The shard's background work: undoing temporary assignments on time and delivering
/// webhooks. Both read their queues from the database, so a restart loses nothing.
/// Runs until dropped.
pub async fn run_workers(state: ShardState) {
    tokio::join!(
        write::expire_temporary_assignments(state.clone()),
        webhooks::deliver(state),
    );
}
