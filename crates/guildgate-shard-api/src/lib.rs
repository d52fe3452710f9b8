//! The comms shard Owner API (`/api/v1`, `scok_` keys) and its comms clients' WebSocket:
//! status, roster, nets, assignments, role rules, features, the public net, the operation,
//! presets, ACARS, ready checks, join links, metrics, the event stream and webhooks. Built
//! on the same core as the other surfaces (key hashing, rate limits, request ids, audit,
//! the `{"error": "<message>"}` error); every privileged write passes one validation
//! authority before it changes the shard's configuration.

use std::collections::{BTreeMap, BTreeSet};

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
/// webhooks (both read their queues from the database, so a restart loses nothing),
/// sampling occupancy for the metrics, and following other instances' events. Runs until
/// dropped.
pub async fn run_workers(state: ShardState) {
    tokio::join!(
        write::expire_temporary_assignments(state.clone()),
        webhooks::deliver(state.clone()),
        metrics::sample_occupancy(state.clone()),
        follow_other_instances(state),
    );
}

/// Where several instances share a PostgreSQL database: events another instance committed
/// reach this one's streams and comms clients (the database announces each committed
/// event; it is read back and handed on, once). Returns at once on SQLite.
async fn follow_other_instances(state: ShardState) {
    let mut feed = match state.store.event_feed().await {
        Ok(Some(feed)) => feed,
        Ok(None) => return,
        Err(err) => {
            tracing::error!(%err, "cannot listen for other instances' shard events");
            return;
        }
    };
    // Announcements are taken in batches: a backlog becomes one read per guild.
    let mut batch = Vec::new();
    while feed.recv_many(&mut batch, 1024).await > 0 {
        let mut wanted: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        for (guild_id, seq) in batch.drain(..) {
            if state.hub.has_listeners(&guild_id) {
                wanted.entry(guild_id).or_default().insert(seq);
            }
        }
        for (guild_id, seqs) in wanted {
            let (Some(first), Some(last)) = (seqs.first(), seqs.last()) else {
                continue;
            };
            let span = u32::try_from(last - first + 1).unwrap_or(u32::MAX);
            match state
                .store
                .shard_events_after(&guild_id, first - 1, span)
                .await
            {
                Ok(events) => {
                    for event in events.into_iter().filter(|e| seqs.contains(&e.seq)) {
                        state.hub.publish_remote(event);
                    }
                }
                Err(err) => tracing::warn!(%err, "could not read another instance's events"),
            }
        }
    }
}
