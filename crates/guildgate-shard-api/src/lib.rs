//! The comms shard Owner API (`/api/v1`, `scok_` keys) and its comms clients' WebSocket:
//! status, roster, nets, assignments, role rules, features, the public net, the operation,
//! presets, ACARS, ready checks, join links, metrics, the event stream and webhooks. Built
//! on the same core as the other surfaces (key hashing, rate limits, request ids, audit,
//! the `{"error": "<message>"}` error); every privileged write passes one validation
//! authority before it changes the shard's configuration.

mod authority;
mod body;
mod caller;
mod context;
mod handlers;
mod hub;
mod metrics;
pub mod openapi;
mod ready;
mod router;
mod socket;
mod state;
mod webhooks;
mod write;

pub use authority::{LocalAuthority, ValidationAuthority};
pub use router::router;
pub use state::{ShardSettings, ShardState};
pub use webhooks::WebhookSettings;

/// The shard's background work: undoing temporary assignments on time, delivering
/// webhooks (both read their queues from the database, so a restart loses nothing) and
/// sampling occupancy for the metrics. Runs until dropped.
pub async fn run_workers(state: ShardState) {
    tokio::join!(
        write::expire_temporary_assignments(state.clone()),
        webhooks::deliver(state.clone()),
        metrics::sample_occupancy(state),
    );
}
