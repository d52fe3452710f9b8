//! A guild's live figures for this process: joins, the peak of connected users, talk time
//! per net, and occupancy sampled on a fixed interval (kept for a day).

use std::collections::{BTreeMap, VecDeque};

use guildgate_core::clock::Millis;

use crate::handlers::load;
use crate::hub::{Operator, distinct_users};
use crate::state::ShardState;

/// Samples kept per guild: a day at the default one-minute interval.
pub const SAMPLES_KEPT: usize = 1_440;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuildMetrics {
    pub joins: u64,
    pub peak_connected: usize,
    /// Push-to-talk presses.
    pub transmissions: u64,
    /// Net uid -> milliseconds of transmission.
    pub talk_ms: BTreeMap<String, u64>,
    pub samples: VecDeque<Sample>,
}

/// Who was on the shard at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: Millis,
    pub connected: usize,
    pub transmitting: usize,
    /// Net uid -> operators on it.
    pub occupancy: BTreeMap<String, usize>,
}

impl GuildMetrics {
    pub fn add_talk(&mut self, net_uid: &str, ms: u64) {
        *self.talk_ms.entry(net_uid.to_owned()).or_default() += ms;
    }

    pub fn push_sample(&mut self, sample: Sample) {
        if self.samples.len() == SAMPLES_KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    pub fn talk_total_ms(&self) -> u64 {
        self.talk_ms.values().sum()
    }
}

/// Every `sample_every_ms`: each guild with someone connected gets an occupancy sample.
pub async fn sample_occupancy(state: ShardState) {
    let every = std::time::Duration::from_millis(state.settings.sample_every_ms);
    loop {
        tokio::time::sleep(every).await;
        for guild_id in state.hub.online_guilds() {
            let shard = match load(&state, &guild_id).await {
                Ok(shard) => shard,
                Err(err) => {
                    tracing::warn!(error = %err.message, %guild_id, "could not sample occupancy");
                    continue;
                }
            };
            let operators = state.hub.operators(&guild_id);
            let occupancy = shard
                .config
                .occupancy(operators.iter().map(Operator::member));
            state.hub.record_sample(
                &guild_id,
                Sample {
                    at: state.clock.now(),
                    connected: distinct_users(operators.iter()),
                    transmitting: operators
                        .iter()
                        .filter(|op| op.transmitting.is_some())
                        .count(),
                    occupancy,
                },
            );
        }
    }
}
