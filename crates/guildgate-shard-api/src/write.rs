//! One way to change a shard: read its configuration in the write transaction, apply the
//! change, show the result to the validation authority, save it with the events it
//! causes and its audit row, commit, then publish the events.

use guildgate_core::audit::{ActorSource, AuditEvent};
use guildgate_core::clock::Millis;
use guildgate_core::shard::{
    Assignment, NetRef, ProposedChange, Refusal, RefusalKind, ShardConfig, ShardTier,
};
use guildgate_http::MessageError;
use guildgate_storage::{StoreError, StoredEvent, WriteTx};
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::handlers::Current;
use crate::state::ShardState;

pub fn refused(refusal: Refusal) -> MessageError {
    match refusal.kind {
        RefusalKind::Invalid => MessageError::bad_request(refusal.message),
        RefusalKind::NotFound => {
            MessageError::new(axum::http::StatusCode::NOT_FOUND, refusal.message)
        }
        RefusalKind::Conflict => MessageError::conflict(refusal.message),
        RefusalKind::NotInTier => MessageError::forbidden(refusal.message),
    }
}

/// What a change does beyond the configuration: events to record, and extra writes in the
/// same transaction.
#[derive(Default)]
pub struct Effects {
    pub events: Vec<(&'static str, Value)>,
}

impl Effects {
    pub fn event(&mut self, kind: &'static str, data: Value) {
        self.events.push((kind, data));
    }
}

/// Opens or closes the operation; records `operation.opened` or `operation.closed` (with
/// `detail` merged into its data) when that changes anything. True when it did.
pub fn set_operation(
    config: &mut ShardConfig,
    effects: &mut Effects,
    open: bool,
    detail: Value,
) -> bool {
    if config.operation_open == open {
        return false;
    }
    config.operation_open = open;
    let mut data = json!({ "operationOpen": open });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), detail) {
        data.extend(extra);
    }
    let kind = if open {
        "operation.opened"
    } else {
        "operation.closed"
    };
    effects.event(kind, data);
    true
}

/// Who a change is made by, for its audit row.
pub enum Author<'a> {
    Call(&'a Caller),
    System {
        action: &'static str,
        target: String,
    },
}

pub struct Changed<T> {
    pub value: T,
    pub config: ShardConfig,
    pub tier: ShardTier,
}

pub type TxStep<'t> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), MessageError>> + Send + 't>>;

/// Runs `change` on the guild's shard configuration and commits it. `extra` runs in the
/// same transaction after the configuration is saved (temporary-assignment rows, archive
/// documents), so either all of it lands or none of it.
pub async fn change_shard<T, F, X>(
    state: &ShardState,
    guild_id: &str,
    author: Author<'_>,
    change: F,
    extra: X,
) -> Result<Changed<T>, MessageError>
where
    F: FnOnce(&mut ShardConfig, ShardTier, &mut Effects) -> Result<T, MessageError>,
    X: for<'t> FnOnce(&'t mut dyn WriteTx, &'t T) -> TxStep<'t>,
{
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let row = tx
        .shard_for_update(guild_id)
        .await?
        .ok_or_else(|| MessageError::not_found("Guild"))?;
    let Current {
        row,
        config: before,
        tier,
    } = Current::from_row(row)?;
    let mut after = before.clone();
    let mut effects = Effects::default();
    let value = change(&mut after, tier, &mut effects)?;
    state
        .authority
        .validate(&ProposedChange {
            guild_id,
            tier,
            before: &before,
            after: &after,
        })
        .await
        .map_err(refused)?;
    if after != before {
        tx.save_shard_config(guild_id, &after.to_json(), row.version, now)
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => MessageError::conflict(
                    "The shard configuration changed meanwhile; retry the request",
                ),
                other => other.into(),
            })?;
    }
    extra(&mut *tx, &value).await?;
    let events = record_events(&mut *tx, guild_id, now, effects.events).await?;
    match author {
        Author::Call(caller) => caller.commit(tx).await?,
        Author::System { action, target } => {
            tx.append_audit(&system_event(now, guild_id, action, &target))
                .await?;
            tx.commit().await?;
        }
    }
    state.hub.publish(events);
    Ok(Changed {
        value,
        config: after,
        tier,
    })
}

/// Records events that change no configuration (joins, push-to-talk, ACARS, ready
/// checks) and publishes them; a call's audit row commits with them.
pub async fn emit(
    state: &ShardState,
    guild_id: &str,
    caller: Option<&Caller>,
    events: Vec<(&'static str, Value)>,
) -> Result<(), MessageError> {
    let tx = state.store.begin().await?;
    commit_events(state, guild_id, tx, caller, events).await
}

/// Records `events` in `tx`, commits it (with the call's audit row when there is a call)
/// and publishes them.
pub async fn commit_events(
    state: &ShardState,
    guild_id: &str,
    mut tx: Box<dyn WriteTx>,
    caller: Option<&Caller>,
    events: Vec<(&'static str, Value)>,
) -> Result<(), MessageError> {
    let stored = record_events(&mut *tx, guild_id, state.clock.now(), events).await?;
    match caller {
        Some(caller) => caller.commit(tx).await?,
        None => tx.commit().await?,
    }
    state.hub.publish(stored);
    Ok(())
}

/// No extra writes.
pub fn nothing<'t, T>(_: &'t mut dyn WriteTx, _: &'t T) -> TxStep<'t> {
    Box::pin(async { Ok(()) })
}

pub async fn record_events(
    tx: &mut dyn WriteTx,
    guild_id: &str,
    at: Millis,
    events: Vec<(&'static str, Value)>,
) -> Result<Vec<StoredEvent>, MessageError> {
    let mut stored = Vec::with_capacity(events.len());
    for (kind, data) in events {
        let text = data.to_string();
        let seq = tx.insert_shard_event(guild_id, kind, at, &text).await?;
        stored.push(StoredEvent {
            seq,
            guild_id: guild_id.to_owned(),
            kind: kind.to_owned(),
            at,
            data: text,
        });
    }
    Ok(stored)
}

fn system_event(at: Millis, guild_id: &str, action: &str, target: &str) -> AuditEvent {
    let mut event = AuditEvent::unattended(
        ActorSource::System,
        at,
        Some(guild_id),
        action,
        Some(target),
    );
    event.surface = "shard";
    event
}

const ALREADY_EXPIRED: &str = "the temporary assignment was already undone";

/// Once a second (by default): temporary assignments whose time is up are undone, each in
/// its own transaction with an `assignments.changed` event and a `system` audit row.
pub async fn expire_temporary_assignments(state: ShardState) {
    let every = std::time::Duration::from_millis(state.settings.sweep_every_ms);
    loop {
        tokio::time::sleep(every).await;
        let due = match state
            .store
            .due_temporary_assignments(state.clock.now(), 100)
            .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "could not read due temporary assignments");
                continue;
            }
        };
        for temp in due {
            let action = Assignment {
                user_id: temp.user_id.clone(),
                net: NetRef::Uid(temp.net_uid.clone()),
                assign: false,
            };
            let (guild, user, net) = (
                temp.guild_id.clone(),
                temp.user_id.clone(),
                temp.net_uid.clone(),
            );
            let result = change_shard(
                &state,
                &temp.guild_id,
                Author::System {
                    action: "assignment.expire",
                    target: format!("{}:{}", temp.user_id, temp.net_uid),
                },
                |config, _, effects| {
                    // The net may be gone already; then only the timer row is left to drop.
                    if let Ok(applied) = config.apply_assignment(&action)
                        && applied.changed
                    {
                        effects.event(
                            "assignments.changed",
                            json!({ "reason": "temporary-expired", "changes": [{
                                "userId": action.user_id, "netId": applied.net_id,
                                "netUid": applied.net_uid, "action": "unassign",
                            }]}),
                        );
                    }
                    Ok(())
                },
                move |tx, _| {
                    Box::pin(async move {
                        // Another instance sharing the database undid it first: roll back,
                        // so its audit row and event are not written twice.
                        if tx.delete_temporary_assignment(&guild, &user, &net).await? {
                            Ok(())
                        } else {
                            Err(MessageError::conflict(ALREADY_EXPIRED))
                        }
                    })
                },
            )
            .await;
            if let Err(err) = result
                && err.message != ALREADY_EXPIRED
            {
                tracing::warn!(error = %err.message, "could not undo a temporary assignment");
            }
        }
    }
}
