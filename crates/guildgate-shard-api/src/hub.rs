//! The shard's live side in this process: each guild's event channel (fed after every
//! commit that records events), its connected comms clients, and their talk-time and
//! occupancy figures.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use guildgate_core::clock::Millis;
use guildgate_storage::StoredEvent;
use tokio::sync::{Notify, broadcast, mpsc};

use crate::metrics::{GuildMetrics, Sample};

/// A connected comms client, as the roster shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub user_id: String,
    pub display_name: String,
    pub role_ids: Vec<String>,
    pub transport: String,
    /// The net uid the operator is transmitting on, and since when.
    pub transmitting: Option<(String, Millis)>,
    pub connected_at: Millis,
}

impl Operator {
    pub fn transmitting_on(&self) -> Option<&str> {
        self.transmitting.as_ref().map(|(uid, _)| uid.as_str())
    }

    /// What the occupancy count reads: (user id, role ids).
    pub fn member(&self) -> (&str, &[String]) {
        (&self.user_id, &self.role_ids)
    }
}

/// What the server tells one connection outside the event stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    Disconnect { reason: String },
}

struct Connection {
    operator: Operator,
    control: mpsc::UnboundedSender<Control>,
}

#[derive(Default)]
struct GuildLive {
    connections: BTreeMap<u64, Connection>,
    metrics: GuildMetrics,
}

/// One ended transmission.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmission {
    pub net_uid: String,
    pub duration_ms: u64,
}

/// The events a guild's channel carried lately, so an event heard twice (committed here,
/// then announced by the database to every instance) is passed on once.
#[derive(Default)]
pub struct Recent {
    order: std::collections::VecDeque<i64>,
    seen: std::collections::HashSet<i64>,
}

const RECENT_KEPT: usize = 4096;

impl Recent {
    /// False when `seq` was passed on already.
    pub fn first_time(&mut self, seq: i64) -> bool {
        if !self.seen.insert(seq) {
            return false;
        }
        self.order.push_back(seq);
        if self.order.len() > RECENT_KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

struct Channel {
    sender: broadcast::Sender<Arc<StoredEvent>>,
    recent: Recent,
}

#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, Channel>>,
    guilds: Mutex<HashMap<String, GuildLive>>,
    next_connection: AtomicU64,
    /// Wakes the webhook worker when deliveries were queued.
    pub deliveries: Notify,
}

const CHANNEL_CAPACITY: usize = 1024;

impl Hub {
    pub fn subscribe(&self, guild_id: &str) -> broadcast::Receiver<Arc<StoredEvent>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(guild_id.to_owned())
            .or_insert_with(|| Channel {
                sender: broadcast::channel(CHANNEL_CAPACITY).0,
                recent: Recent::default(),
            })
            .sender
            .subscribe()
    }

    /// Hands events committed here to live subscribers, and wakes the webhook worker. A
    /// guild nobody listens to gets no channel (its events are in the database for a
    /// later resume), and a channel whose listeners have all gone is dropped.
    pub fn publish(&self, events: Vec<StoredEvent>) {
        if events.is_empty() {
            return;
        }
        self.pass_on(events);
        self.deliveries.notify_one();
    }

    /// Hands on events another instance committed (its webhook deliveries are queued in
    /// the shared database already).
    pub fn publish_remote(&self, event: StoredEvent) {
        self.pass_on(vec![event]);
    }

    /// Whether anyone here listens to the guild's events.
    pub fn has_listeners(&self, guild_id: &str) -> bool {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.contains_key(guild_id)
    }

    fn pass_on(&self, events: Vec<StoredEvent>) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            let guild_id = event.guild_id.clone();
            let Some(channel) = channels.get_mut(&guild_id) else {
                continue;
            };
            if !channel.recent.first_time(event.seq) {
                continue;
            }
            if channel.sender.send(Arc::new(event)).is_err() {
                channels.remove(&guild_id);
            }
        }
    }

    fn guilds(&self) -> MutexGuard<'_, HashMap<String, GuildLive>> {
        self.guilds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection: its id, and where its control messages arrive.
    pub fn connect(
        &self,
        guild_id: &str,
        operator: Operator,
    ) -> (u64, mpsc::UnboundedReceiver<Control>) {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let (control, receiver) = mpsc::unbounded_channel();
        let mut guilds = self.guilds();
        let live = guilds.entry(guild_id.to_owned()).or_default();
        live.connections
            .insert(id, Connection { operator, control });
        live.metrics.joins += 1;
        let users = distinct_users(live.connections.values().map(|c| &c.operator));
        live.metrics.peak_connected = live.metrics.peak_connected.max(users);
        (id, receiver)
    }

    /// Removes a connection; a transmission it left open ends now.
    pub fn disconnect(
        &self,
        guild_id: &str,
        connection: u64,
        now: Millis,
    ) -> Option<(Operator, Option<Transmission>)> {
        let mut guilds = self.guilds();
        let live = guilds.get_mut(guild_id)?;
        let mut gone = live.connections.remove(&connection)?.operator;
        let ended = end_transmission(&mut gone, &mut live.metrics, now);
        Some((gone, ended))
    }

    /// Marks the connection as transmitting on `net_uid`. `None` when nothing started (it
    /// is transmitting there already, or gone); else the transmission on another net that
    /// ended first, if any.
    pub fn start_transmit(
        &self,
        guild_id: &str,
        connection: u64,
        net_uid: &str,
        now: Millis,
    ) -> Option<Option<Transmission>> {
        let mut guilds = self.guilds();
        let live = guilds.get_mut(guild_id)?;
        let operator = &mut live.connections.get_mut(&connection)?.operator;
        if operator.transmitting_on() == Some(net_uid) {
            return None;
        }
        let ended = end_transmission(operator, &mut live.metrics, now);
        operator.transmitting = Some((net_uid.to_owned(), now));
        live.metrics.transmissions += 1;
        Some(ended)
    }

    /// Ends the connection's transmission when its net is no longer among `nets` (the
    /// operator was moved off it, or the net was removed).
    pub fn stop_transmit_outside(
        &self,
        guild_id: &str,
        connection: u64,
        nets: &std::collections::BTreeSet<String>,
        now: Millis,
    ) -> Option<Transmission> {
        let mut guilds = self.guilds();
        let live = guilds.get_mut(guild_id)?;
        let operator = &mut live.connections.get_mut(&connection)?.operator;
        if operator
            .transmitting_on()
            .is_none_or(|uid| nets.contains(uid))
        {
            return None;
        }
        end_transmission(operator, &mut live.metrics, now)
    }

    pub fn stop_transmit(
        &self,
        guild_id: &str,
        connection: u64,
        now: Millis,
    ) -> Option<Transmission> {
        let mut guilds = self.guilds();
        let live = guilds.get_mut(guild_id)?;
        let operator = &mut live.connections.get_mut(&connection)?.operator;
        end_transmission(operator, &mut live.metrics, now)
    }

    pub fn operators(&self, guild_id: &str) -> Vec<Operator> {
        self.guilds()
            .get(guild_id)
            .map(|live| {
                live.connections
                    .values()
                    .map(|c| c.operator.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many connections the user has.
    pub fn connections_of(&self, guild_id: &str, user_id: &str) -> usize {
        self.guilds().get(guild_id).map_or(0, |live| {
            live.connections
                .values()
                .filter(|c| c.operator.user_id == user_id)
                .count()
        })
    }

    /// Sends `control` to every connection of the user; how many there were.
    pub fn control_user(&self, guild_id: &str, user_id: &str, control: Control) -> usize {
        self.guilds().get(guild_id).map_or(0, |live| {
            live.connections
                .values()
                .filter(|c| c.operator.user_id == user_id)
                .filter(|c| c.control.send(control.clone()).is_ok())
                .count()
        })
    }

    /// The guild's figures, with transmissions still open counted up to `now`.
    pub fn metrics(&self, guild_id: &str, now: Millis) -> GuildMetrics {
        let guilds = self.guilds();
        let Some(live) = guilds.get(guild_id) else {
            return GuildMetrics::default();
        };
        let mut metrics = live.metrics.clone();
        for connection in live.connections.values() {
            if let Some((uid, since)) = &connection.operator.transmitting {
                metrics.add_talk(uid, elapsed(*since, now));
            }
        }
        metrics
    }

    /// Guilds with someone connected, for the occupancy sampler.
    pub fn online_guilds(&self) -> Vec<String> {
        self.guilds()
            .iter()
            .filter(|(_, live)| !live.connections.is_empty())
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn record_sample(&self, guild_id: &str, sample: Sample) {
        if let Some(live) = self.guilds().get_mut(guild_id) {
            live.metrics.push_sample(sample);
        }
    }
}

/// How many users the connections belong to (one user may run several clients).
pub fn distinct_users<'a>(operators: impl Iterator<Item = &'a Operator>) -> usize {
    operators
        .map(|op| op.user_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn elapsed(since: Millis, now: Millis) -> u64 {
    u64::try_from(now - since).unwrap_or(0)
}

fn end_transmission(
    operator: &mut Operator,
    metrics: &mut GuildMetrics,
    now: Millis,
) -> Option<Transmission> {
    let (net_uid, since) = operator.transmitting.take()?;
    let duration_ms = elapsed(since, now);
    metrics.add_talk(&net_uid, duration_ms);
    Some(Transmission {
        net_uid,
        duration_ms,
    })
}
