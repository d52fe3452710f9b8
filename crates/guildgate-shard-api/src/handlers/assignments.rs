//! Assign and unassign: one, up to 200 at once, or for a while.

use axum::body::Bytes;
use guildgate_core::clock::{MINUTE, to_rfc3339};
use guildgate_core::shard::{Applied, Assignment};
use guildgate_http::{Answer, MessageError};
use guildgate_storage::{TemporaryAssignment, WriteTx};
use serde_json::{Map, Value, json};

use super::ok;
use crate::body::{Body, discord_id, net_ref_of};
use crate::caller::Caller;
use crate::write::{Author, Effects, TxStep, change_shard, nothing, refused};

pub const BULK_MAX: usize = 200;
/// The longest temporary assignment: 7 days.
const TEMPORARY_MAX_MS: i64 = 7 * 24 * 60 * MINUTE;

fn action_of(value: Option<&Value>, default: Option<bool>) -> Result<bool, MessageError> {
    match value.filter(|v| !v.is_null()) {
        None => default.ok_or_else(|| {
            MessageError::bad_request("action is required: \"assign\" or \"unassign\"")
        }),
        Some(Value::String(s)) if s == "assign" => Ok(true),
        Some(Value::String(s)) if s == "unassign" => Ok(false),
        Some(_) => Err(MessageError::bad_request(
            "action must be \"assign\" or \"unassign\"",
        )),
    }
}

fn assignment_of(
    item: &Map<String, Value>,
    default: Option<bool>,
) -> Result<Assignment, MessageError> {
    let user = discord_id(item, "userId")?
        .ok_or_else(|| MessageError::bad_request("userId is required"))?;
    Ok(Assignment {
        user_id: user,
        net: net_ref_of(item)?,
        assign: action_of(item.get("action"), default)?,
    })
}

fn action_name(assign: bool) -> &'static str {
    if assign { "assign" } else { "unassign" }
}

fn change_json(action: &Assignment, applied: &Applied) -> Value {
    json!({
        "userId": action.user_id, "netId": applied.net_id, "netUid": applied.net_uid,
        "action": action_name(action.assign),
    })
}

/// One action on the shard: an `assignments.changed` event when it changed the map, and
/// `timer` (cancel or set the temporary expiry) written in the same transaction.
async fn change_one<X>(
    caller: &Caller,
    action: &Assignment,
    reason: &'static str,
    expires_at: Option<i64>,
    timer: X,
) -> Result<Applied, MessageError>
where
    X: for<'t> FnOnce(&'t mut dyn WriteTx, &'t Applied) -> TxStep<'t>,
{
    caller.set_target(format!("{}:{}", action.user_id, action.net));
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(caller),
        |config, _, effects: &mut Effects| {
            let applied = config.apply_assignment(action).map_err(refused)?;
            if applied.changed {
                let mut change = change_json(action, &applied);
                if let Some(at) = expires_at {
                    change["expiresAt"] = json!(to_rfc3339(at));
                }
                effects.event(
                    "assignments.changed",
                    json!({ "reason": reason, "changes": [change] }),
                );
            }
            Ok(applied)
        },
        timer,
    )
    .await?;
    Ok(changed.value)
}

/// `POST /assignments`: one action; assigning also cancels a pending temporary expiry.
pub async fn assign(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let action = assignment_of(&body.0, Some(true))?;
    let guild = caller.guild_id().to_owned();
    let user = action.user_id.clone();
    let applied = change_one(&caller, &action, "api", None, move |tx, applied| {
        Box::pin(async move {
            tx.delete_temporary_assignment(&guild, &user, &applied.net_uid)
                .await?;
            Ok(())
        })
    })
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "userId": action.user_id,
        "netId": applied.net_id, "netUid": applied.net_uid,
        "action": action_name(action.assign), "changed": applied.changed,
    })))
}

/// `POST /assignments/bulk`: every item is tried in order; one that fails does not stop
/// the others, and the whole batch commits as one change.
pub async fn bulk(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let default = action_of(body.get("action"), Some(true))?;
    let items = match body.get("assignments") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(MessageError::bad_request("assignments must be a list")),
        None => return Err(MessageError::bad_request("assignments is required")),
    };
    if items.is_empty() {
        return Err(MessageError::bad_request("assignments must not be empty"));
    }
    if items.len() > BULK_MAX {
        return Err(MessageError::bad_request(format!(
            "At most {BULK_MAX} assignment actions per request; got {}",
            items.len()
        )));
    }
    let parsed: Vec<Result<Assignment, MessageError>> = items
        .iter()
        .map(|item| match item {
            Value::Object(map) => assignment_of(map, Some(default)),
            _ => Err(MessageError::bad_request(
                "each assignment must be an object",
            )),
        })
        .collect();
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let mut results = Vec::with_capacity(parsed.len());
            let mut changes = Vec::new();
            for (item, raw) in parsed.iter().zip(items) {
                let result = match item {
                    Ok(action) => match config.apply_assignment(action) {
                        Ok(applied) => {
                            if applied.changed {
                                changes.push(change_json(action, &applied));
                            }
                            json!({
                                "userId": action.user_id, "netId": applied.net_id,
                                "action": action_name(action.assign),
                                "ok": true, "changed": applied.changed,
                            })
                        }
                        Err(refusal) => item_error(raw, action.assign, &refusal.message),
                    },
                    Err(err) => item_error(raw, default, &err.message),
                };
                results.push(result);
            }
            if !changes.is_empty() {
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "api-bulk", "changes": changes }),
                );
            }
            Ok(results)
        },
        nothing,
    )
    .await?;
    let results = changed.value;
    let applied = results.iter().filter(|r| r["ok"] == true).count();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "results": results,
        "applied": applied, "skipped": results.len() - applied,
    })))
}

fn item_error(raw: &Value, assign: bool, message: &str) -> Value {
    json!({
        "userId": raw.get("userId"), "netId": raw.get("netId").or(raw.get("netUid")),
        "action": action_name(assign), "ok": false, "error": message,
    })
}

fn ttl_of(body: &Body) -> Result<i64, MessageError> {
    let number = |field: &str| -> Result<Option<f64>, MessageError> {
        match body.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(MessageError::bad_request(format!(
                "{field} must be a number"
            ))),
        }
    };
    let ttl = match (
        number("ttlMs")?,
        number("expiresMinutes")?,
        number("minutes")?,
    ) {
        (Some(ms), _, _) => ms,
        (None, Some(m), _) | (None, None, Some(m)) => m * MINUTE as f64,
        (None, None, None) => {
            return Err(MessageError::bad_request(
                "Give the assignment's length as ttlMs, expiresMinutes or minutes",
            ));
        }
    };
    if !(1_000.0..=TEMPORARY_MAX_MS as f64).contains(&ttl) {
        return Err(MessageError::bad_request(
            "A temporary assignment lasts from 1 second to 7 days",
        ));
    }
    Ok(ttl as i64)
}

/// `POST /assignments/temporary`: assigned now, undone by the server at `expiresAt` (the
/// timer is in the database, so a restart does not lose it).
pub async fn temporary(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let mut action = assignment_of(&body.0, Some(true))?;
    action.assign = true;
    let expires_at = caller.now() + ttl_of(&body)?;
    let guild = caller.guild_id().to_owned();
    let user = action.user_id.clone();
    let applied = change_one(
        &caller,
        &action,
        "api-temporary",
        Some(expires_at),
        move |tx, applied| {
            Box::pin(async move {
                tx.put_temporary_assignment(&TemporaryAssignment {
                    guild_id: guild,
                    user_id: user,
                    net_uid: applied.net_uid.clone(),
                    expires_at,
                })
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "userId": action.user_id,
        "netId": applied.net_id, "netUid": applied.net_uid, "action": "assign",
        "expiresAt": to_rfc3339(expires_at), "expiresAtMs": expires_at,
    })))
}
