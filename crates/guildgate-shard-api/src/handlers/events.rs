//! The live event stream (SSE with `Last-Event-ID` resume) and webhook registrations.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::ids::new_ulid;
use guildgate_core::shard::signing::{new_webhook_secret, webhook_key};
use guildgate_core::shard::{EVENT_TYPES, ShardEvent, is_event_type};
use guildgate_http::{Answer, MessageError};
use guildgate_storage::{StoredEvent, WebhookRow};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::ok;
use crate::body::{Body, QueryParams};
use crate::caller::Caller;
use crate::hub::Recent;
use crate::state::ShardState;
use crate::webhooks::check_target;

/// The body every consumer sees: `{id, type, guildId, at, data}`.
pub fn event_body(event: &StoredEvent) -> ShardEvent {
    ShardEvent {
        id: event.seq.to_string(),
        kind: event.kind.clone(),
        guild_id: event.guild_id.clone(),
        at: to_rfc3339(event.at),
        data: serde_json::from_str(&event.data).unwrap_or(Value::Null),
    }
}

#[derive(Deserialize)]
pub struct StreamQuery {
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

const REPLAY_PAGE: u32 = 500;

struct Follow {
    state: ShardState,
    guild_id: String,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    /// The newest event sent (or the resume point); `None` until the first.
    last: Option<i64>,
    /// The client's `Last-Event-ID`: nothing at or before it is sent again.
    resumed_after: Option<i64>,
    /// Events read from the database, not sent yet.
    pending: VecDeque<StoredEvent>,
    /// Catching up from the database before following live events.
    replaying: bool,
    /// Events sent lately. Live events may arrive out of order when several instances
    /// commit at once, so a duplicate is recognised by its id, not by being older.
    sent: Recent,
}

fn sse_event(event: &StoredEvent) -> Event {
    let body = serde_json::to_string(&event_body(event)).unwrap_or_default();
    Event::default()
        .id(event.seq.to_string())
        .event(event.kind.clone())
        .data(body)
}

impl Follow {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if !self.sent.first_time(event.seq) {
                    continue;
                }
                self.last = Some(self.last.map_or(event.seq, |last| last.max(event.seq)));
                return Some(sse_event(&event));
            }
            if self.replaying {
                let after = self.last.unwrap_or(0);
                match self
                    .state
                    .store
                    .shard_events_after(&self.guild_id, after, REPLAY_PAGE)
                    .await
                {
                    Ok(page) => {
                        self.replaying = page.len() == REPLAY_PAGE as usize;
                        self.pending.extend(page);
                    }
                    Err(err) => {
                        tracing::warn!(%err, "event replay failed; the stream ends");
                        return None;
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) => {
                    // Replayed already, or from before the resume point.
                    if !self.sent.first_time(event.seq)
                        || self.resumed_after.is_some_and(|after| event.seq <= after)
                    {
                        continue;
                    }
                    self.last = Some(self.last.map_or(event.seq, |last| last.max(event.seq)));
                    return Some(sse_event(&event));
                }
                // Too slow to keep up: catch up from the database instead.
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

pub async fn stream(
    caller: Caller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Answer {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.last_event_id);
    let last = match resume.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            MessageError::bad_request("Last-Event-ID must be the id of an event this stream sent")
        })?),
    };
    let state = caller.state.clone();
    // Subscribe before replaying, so nothing committed in between is missed.
    let live = state.hub.subscribe(caller.guild_id());
    let follower = Follow {
        guild_id: caller.guild_id().to_owned(),
        live,
        replaying: last.is_some(),
        last,
        resumed_after: last,
        pending: VecDeque::new(),
        sent: Recent::default(),
        state: state.clone(),
    };
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(state.settings.keep_alive_secs));
    Ok(Sse::new(follow_stream(follower))
        .keep_alive(keep_alive)
        .into_response())
}

fn follow_stream(follower: Follow) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(follower, |mut follower| async move {
        let event = follower.next().await?;
        Some((Ok(event), follower))
    })
}

pub fn webhook_json(webhook: &WebhookRow) -> Value {
    let events: Value = serde_json::from_str(&webhook.events).unwrap_or(json!([]));
    json!({
        "id": webhook.id, "url": webhook.url, "events": events,
        "createdAt": to_rfc3339(webhook.created_at),
        "enabled": webhook.disabled_at.is_none(),
        "disabledAt": webhook.disabled_at.map(to_rfc3339),
        "consecutiveFailures": webhook.consecutive_failures,
        "lastError": webhook.last_error,
    })
}

pub async fn list_webhooks(caller: Caller) -> Answer {
    let webhooks = caller.state.store.shard_webhooks(caller.guild_id()).await?;
    let list: Vec<Value> = webhooks.iter().map(webhook_json).collect();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "webhooks": list, "events": EVENT_TYPES,
    })))
}

const MAX_WEBHOOKS: usize = 20;

pub async fn create_webhook(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let url = body.required_str("url")?.trim().to_owned();
    check_target(&url, caller.state.settings.webhooks.allow_private_targets)
        .map_err(MessageError::bad_request)?;
    let events = body.string_list("events")?.unwrap_or_default();
    if events.is_empty() {
        return Err(MessageError::bad_request(format!(
            "events must list at least one event type (or \"*\"): {}",
            EVENT_TYPES.join(", ")
        )));
    }
    if let Some(unknown) = events.iter().find(|e| *e != "*" && !is_event_type(e)) {
        return Err(MessageError::bad_request(format!(
            "Unknown event type '{unknown}'. Known: {}",
            EVENT_TYPES.join(", ")
        )));
    }
    let secret = match body.str("secret")? {
        Some(secret) => {
            webhook_key(secret).map_err(MessageError::bad_request)?;
            secret.to_owned()
        }
        None => new_webhook_secret(),
    };
    let existing = caller.state.store.shard_webhooks(caller.guild_id()).await?;
    if existing.len() >= MAX_WEBHOOKS {
        return Err(MessageError::conflict(format!(
            "A shard has at most {MAX_WEBHOOKS} webhooks; delete one first"
        )));
    }
    let webhook = WebhookRow {
        id: format!("wh_{}", new_ulid()),
        guild_id: caller.guild_id().to_owned(),
        url,
        events: serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
        sealed_secret: caller.state.sealer.seal(secret.as_bytes()),
        created_at: caller.now(),
        consecutive_failures: 0,
        last_error: None,
        disabled_at: None,
    };
    caller.set_target(&webhook.id);
    let mut tx = caller.state.store.begin().await?;
    tx.insert_webhook(&webhook).await?;
    caller.commit(tx).await?;
    Ok(ok(&json!({
        "ok": true, "webhook": webhook_json(&webhook), "secret": secret,
    })))
}

pub async fn delete_webhook(caller: Caller, Path(id): Path<String>) -> Answer {
    caller.set_target(&id);
    let mut tx = caller.state.store.begin().await?;
    if !tx.delete_webhook(caller.guild_id(), &id).await? {
        return Err(MessageError::not_found("Webhook"));
    }
    caller.commit(tx).await?;
    Ok(ok(&json!({ "ok": true, "deleted": true, "id": id })))
}
