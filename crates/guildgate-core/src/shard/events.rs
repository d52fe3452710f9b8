//! The shard's live events, as the stream and webhooks carry them.

use serde::Serialize;
use serde_json::Value;

/// Every event type the stream and webhooks carry.
pub const EVENT_TYPES: &[&str] = &[
    "user.joined",
    "user.left",
    "ptt.start",
    "ptt.stop",
    "operation.opened",
    "operation.closed",
    "assignments.changed",
    "config.changed",
    "client.disconnected",
    "acars.sent",
    "ready-check.configured",
    "ready-check.removed",
    "ready-check.started",
    "ready-check.response",
    "ready-check.completed",
];

pub fn is_event_type(value: &str) -> bool {
    EVENT_TYPES.contains(&value)
}

/// `{id, type, guildId, at, data}`: the SSE `data:` line and a webhook's body.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardEvent {
    /// The event's sequence number, as text: the SSE id and `Last-Event-ID`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub guild_id: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub data: Value,
}
