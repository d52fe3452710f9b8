//! `GET /metrics` (JSON, `?sinceMinutes=`) and `GET /metrics/prometheus` (OpenMetrics or classic text):
//! this process's figures for the caller's shard.

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;

use axum::http::{HeaderMap, header};
use guildgate_core::clock::{Millis, to_rfc3339};
use guildgate_http::{Answer, MessageError};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Current, current, ok};
use crate::body::{QueryParams, query_number};
use crate::caller::Caller;
use crate::hub::{Operator, distinct_users};
use crate::metrics::GuildMetrics;

#[derive(Deserialize)]
pub struct MetricsQuery {
    #[serde(rename = "sinceMinutes")]
    since_minutes: Option<String>,
}

struct Snapshot {
    shard: Current,
    operators: Vec<Operator>,
    metrics: GuildMetrics,
    now: Millis,
    uptime_secs: i64,
}

async fn snapshot(caller: &Caller) -> Result<Snapshot, MessageError> {
    let shard = current(caller).await?;
    let now = caller.now();
    Ok(Snapshot {
        operators: caller.state.hub.operators(caller.guild_id()),
        metrics: caller.state.hub.metrics(caller.guild_id(), now),
        uptime_secs: (now - caller.state.started_at).max(0) / 1000,
        shard,
        now,
    })
}

impl Snapshot {
    /// (net, operators on it now) for every net.
    fn occupancy(&self) -> Vec<(&guildgate_core::shard::Net, usize)> {
        let counts = self
            .shard
            .config
            .occupancy(self.operators.iter().map(Operator::member));
        self.shard
            .config
            .nets
            .iter()
            .map(|net| (net, counts.get(&net.uid).copied().unwrap_or(0)))
            .collect()
    }

    /// Users connected (one may run several clients).
    fn users(&self) -> usize {
        distinct_users(self.operators.iter())
    }

    fn transmitting(&self) -> usize {
        self.operators
            .iter()
            .filter(|op| op.transmitting.is_some())
            .count()
    }

    fn net_label(&self, uid: &str) -> (Option<u32>, String) {
        self.shard
            .config
            .net_by_uid(uid)
            .map_or((None, String::new()), |n| (Some(n.id), n.name.clone()))
    }
}

pub async fn json_metrics(caller: Caller, QueryParams(query): QueryParams<MetricsQuery>) -> Answer {
    let since_minutes = query_number(
        query.since_minutes.as_deref(),
        &guildgate_core::shard::METRICS_SINCE_MINUTES,
    )?;
    let snap = snapshot(&caller).await?;
    let from = snap.now - i64::from(since_minutes) * 60_000;
    let samples: Vec<Value> = snap
        .metrics
        .samples
        .iter()
        .filter(|s| s.at >= from)
        .map(|s| {
            let nets: Vec<Value> = s
                .occupancy
                .iter()
                .map(|(uid, count)| {
                    let (id, _) = snap.net_label(uid);
                    json!({ "netUid": uid, "netId": id, "occupancy": count })
                })
                .collect();
            json!({
                "at": to_rfc3339(s.at), "connected": s.connected,
                "transmitting": s.transmitting, "nets": nets,
            })
        })
        .collect();
    let by_net: Vec<Value> = snap
        .metrics
        .talk_ms
        .iter()
        .map(|(uid, ms)| {
            let (id, name) = snap.net_label(uid);
            json!({ "netUid": uid, "netId": id, "name": name, "ms": ms })
        })
        .collect();
    let nets: Vec<Value> = snap
        .occupancy()
        .iter()
        .map(|(net, count)| json!({ "netId": net.id, "netUid": net.uid, "name": net.name, "occupancy": count }))
        .collect();
    let total_ms = snap.metrics.talk_total_ms();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "sinceMinutes": since_minutes,
        "startedAt": to_rfc3339(caller.state.started_at), "uptimeSeconds": snap.uptime_secs,
        "connected": snap.users(), "connectedUsers": snap.users(),
        "connections": snap.operators.len(),
        "peakConnected": snap.metrics.peak_connected, "joins": snap.metrics.joins,
        "transmitting": snap.transmitting(), "transmissions": snap.metrics.transmissions,
        "talkTime": { "totalMs": total_ms, "totalSeconds": total_ms / 1000, "byNet": by_net },
        "nets": nets, "occupancy": samples,
    })))
}

type NetLabels = Vec<(&'static str, String)>;

fn net_labels(uid: &str, id: Option<u32>, name: &str) -> NetLabels {
    vec![
        ("net_uid", uid.to_owned()),
        ("net_id", id.map(|i| i.to_string()).unwrap_or_default()),
        ("net_name", name.to_owned()),
    ]
}

/// Registers a gauge holding `value`.
fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge: Gauge = Gauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

/// Registers a counter at `value` (the encoder adds `_total`).
fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter: Counter = Counter::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The figures in the OpenMetrics text format when the scraper asks for it (Prometheus
/// does), in Prometheus's classic text format otherwise; every series labelled with the
/// guild.
pub async fn prometheus(caller: Caller, headers: HeaderMap) -> Answer {
    let snap = snapshot(&caller).await?;
    let m = &snap.metrics;
    let mut registry = Registry::with_labels(std::iter::once((
        Cow::Borrowed("guild_id"),
        Cow::Owned(caller.guild_id().to_owned()),
    )));
    let r = &mut registry;
    gauge(
        r,
        "guildgate_shard_uptime_seconds",
        "Seconds since this guildgate process started",
        snap.uptime_secs,
    );
    gauge(
        r,
        "guildgate_shard_connected_users",
        "Comms clients connected now",
        count(snap.users()),
    );
    gauge(
        r,
        "guildgate_shard_peak_connected_users",
        "Most comms clients connected at once since start",
        count(m.peak_connected),
    );
    counter(
        r,
        "guildgate_shard_joins",
        "Comms client connections since start",
        m.joins,
    );
    gauge(
        r,
        "guildgate_shard_transmitting_users",
        "Operators transmitting now",
        count(snap.transmitting()),
    );
    counter(
        r,
        "guildgate_shard_transmissions",
        "Push-to-talk presses since start",
        m.transmissions,
    );
    gauge(
        r,
        "guildgate_shard_operation_open",
        "1 while the operation is open",
        i64::from(snap.shard.config.operation_open),
    );
    gauge(
        r,
        "guildgate_shard_nets",
        "Active nets",
        count(snap.shard.config.nets.len()),
    );
    let occupancy = Family::<NetLabels, Gauge>::default();
    for (net, on) in snap.occupancy() {
        occupancy
            .get_or_create(&net_labels(&net.uid, Some(net.id), &net.name))
            .set(count(on));
    }
    r.register(
        "guildgate_shard_net_occupancy",
        "Operators on each net now (assignments and role rules)",
        occupancy,
    );
    let talk = Family::<NetLabels, Counter<f64, AtomicU64>>::default();
    for (uid, ms) in &m.talk_ms {
        let (id, name) = snap.net_label(uid);
        talk.get_or_create(&net_labels(uid, id, &name))
            .inc_by(*ms as f64 / 1000.0);
    }
    r.register(
        "guildgate_shard_talk_seconds",
        "Seconds of transmission per net since start",
        talk,
    );
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|_| MessageError::internal())?;
    Ok(guildgate_http::metrics_response(
        headers.get(header::ACCEPT),
        text,
    ))
}
