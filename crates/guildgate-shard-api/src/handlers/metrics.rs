//! `GET /metrics` (JSON, `?sinceMinutes=`) and `GET /metrics/prometheus` (text format):
//! this process's figures for the caller's shard.

use std::fmt::Write;

use axum::extract::Query;
use axum::http::header;
use axum::response::IntoResponse;
use guildgate_core::clock::{Millis, to_rfc3339};
use guildgate_http::{Answer, MessageError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Current, current, ok};
use crate::body::query_number;
use crate::caller::Caller;
use crate::hub::Operator;
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
        let effective: Vec<_> = self
            .operators
            .iter()
            .map(|op| self.shard.config.effective_nets(&op.user_id, &op.role_ids))
            .collect();
        self.shard
            .config
            .nets
            .iter()
            .map(|net| {
                (
                    net,
                    effective.iter().filter(|n| n.contains(&net.uid)).count(),
                )
            })
            .collect()
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

pub async fn json_metrics(caller: Caller, Query(query): Query<MetricsQuery>) -> Answer {
    let since_minutes = query_number(query.since_minutes.as_deref(), "sinceMinutes", 60, 1, 1440)?;
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
        "connected": snap.operators.len(), "connectedUsers": snap.operators.len(),
        "peakConnected": snap.metrics.peak_connected, "joins": snap.metrics.joins,
        "transmitting": snap.transmitting(), "transmissions": snap.metrics.transmissions,
        "talkTime": { "totalMs": total_ms, "totalSeconds": total_ms / 1000, "byNet": by_net },
        "nets": nets, "occupancy": samples,
    })))
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Exposition {
    text: String,
    guild: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, extra_labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(
            self.text,
            "{name}{{guild_id=\"{}\"{extra_labels}}} {value}",
            self.guild
        );
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, "", value);
    }
}

pub async fn prometheus(caller: Caller) -> Answer {
    let snap = snapshot(&caller).await?;
    let mut out = Exposition {
        text: String::new(),
        guild: label(caller.guild_id()),
    };
    let m = &snap.metrics;
    out.one(
        "guildgate_shard_uptime_seconds",
        "gauge",
        "Seconds since this guildgate process started.",
        snap.uptime_secs,
    );
    out.one(
        "guildgate_shard_connected_users",
        "gauge",
        "Comms clients connected now.",
        snap.operators.len(),
    );
    out.one(
        "guildgate_shard_peak_connected_users",
        "gauge",
        "Most comms clients connected at once since start.",
        m.peak_connected,
    );
    out.one(
        "guildgate_shard_joins_total",
        "counter",
        "Comms client connections since start.",
        m.joins,
    );
    out.one(
        "guildgate_shard_transmitting_users",
        "gauge",
        "Operators transmitting now.",
        snap.transmitting(),
    );
    out.one(
        "guildgate_shard_transmissions_total",
        "counter",
        "Push-to-talk presses since start.",
        m.transmissions,
    );
    out.one(
        "guildgate_shard_operation_open",
        "gauge",
        "1 while the operation is open.",
        u8::from(snap.shard.config.operation_open),
    );
    out.one(
        "guildgate_shard_nets",
        "gauge",
        "Active nets.",
        snap.shard.config.nets.len(),
    );
    out.family(
        "guildgate_shard_net_occupancy",
        "gauge",
        "Operators on each net now (assignments and role rules).",
    );
    for (net, count) in snap.occupancy() {
        let labels = format!(
            ",net_uid=\"{}\",net_id=\"{}\",net_name=\"{}\"",
            net.uid,
            net.id,
            label(&net.name)
        );
        out.sample("guildgate_shard_net_occupancy", &labels, count);
    }
    out.family(
        "guildgate_shard_talk_seconds_total",
        "counter",
        "Seconds of transmission per net since start.",
    );
    for (uid, ms) in &m.talk_ms {
        let (id, name) = snap.net_label(uid);
        let labels = format!(
            ",net_uid=\"{}\",net_id=\"{}\",net_name=\"{}\"",
            label(uid),
            id.map(|i| i.to_string()).unwrap_or_default(),
            label(&name)
        );
        out.sample(
            "guildgate_shard_talk_seconds_total",
            &labels,
            *ms as f64 / 1000.0,
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out.text,
    )
        .into_response())
}
