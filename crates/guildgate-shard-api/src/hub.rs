//! The shard's live side in this process: each guild's event channel (fed after every
//! commit that records events) and its connected operators.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use guildgate_core::clock::Millis;
use guildgate_storage::StoredEvent;
use tokio::sync::{Notify, broadcast};

/// A connected comms client, as the roster shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub user_id: String,
    pub display_name: String,
    pub role_ids: Vec<String>,
    pub transport: String,
    /// The net uid the operator is transmitting on.
    pub transmitting_on: Option<String>,
    pub connected_at: Millis,
}

#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, broadcast::Sender<Arc<StoredEvent>>>>,
    operators: Mutex<HashMap<String, Vec<Operator>>>,
    /// Wakes the webhook worker when deliveries were queued.
    pub deliveries: Notify,
}

const CHANNEL_CAPACITY: usize = 1024;

impl Hub {
    pub fn subscribe(&self, guild_id: &str) -> broadcast::Receiver<Arc<StoredEvent>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(guild_id.to_owned())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Hands committed events to live subscribers, and wakes the webhook worker. A guild
    /// nobody listens to gets no channel (its events are in the database for a later
    /// resume), and a channel whose listeners have all gone is dropped.
    pub fn publish(&self, events: Vec<StoredEvent>) {
        if events.is_empty() {
            return;
        }
        {
            let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
            for event in events {
                let guild_id = event.guild_id.clone();
                if let Some(sender) = channels.get(&guild_id)
                    && sender.send(Arc::new(event)).is_err()
                {
                    channels.remove(&guild_id);
                }
            }
        }
        self.deliveries.notify_one();
    }

    pub fn operators(&self, guild_id: &str) -> Vec<Operator> {
        let operators = self.operators.lock().unwrap_or_else(|p| p.into_inner());
        operators.get(guild_id).cloned().unwrap_or_default()
    }
}
