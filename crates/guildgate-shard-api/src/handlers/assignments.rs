//! Assign and unassign: one, up to 200 at once, or for a while.

use axum::body::Bytes;
use guildgate_core::clock::{MINUTE, to_rfc3339};
use guildgate_core::shard::{Assignment, ShardConfig};
use guildgate_http::{Answer, MessageError};
use guildgate_storage::TemporaryAssignment;
use serde_json::{Map, Value, json};

use super::ok;
use crate::body::{Body, discord_id, net_ref_of};
use crate::caller::Caller;
use crate::write::{Author, Effects, change_shard, nothing, refused};

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

fn change_json(config: &ShardConfig, action: &Assignment, net_id: u32) -> Value {
    let uid = config.net(&action.net).map(|n| n.uid.clone()).ok();
    json!({
        "userId": action.user_id, "netId": net_id, "netUid": uid,
        "action": if action.assign { "assign" } else { "unassign" },
    })
}

/// `POST /assignments`: one action; assigning also cancels a pending temporary expiry.
pub async fn assign(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let action = assignment_of(&body.0, Some(true))?;
    caller.set_target(format!("{}:{}", action.user_id, action.net));
    let guild = caller.guild_id().to_owned();
    let user = action.user_id.clone();
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let (net_id, changed) = config.apply_assignment(&action).map_err(refused)?;
            let uid = config.net(&action.net).map_err(refused)?.uid.clone();
            if changed {
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "api", "changes": [change_json(config, &action, net_id)] }),
                );
            }
            Ok((net_id, uid, changed))
        },
        move |tx, (_, uid, _)| {
            Box::pin(async move {
                tx.delete_temporary_assignment(&guild, &user, uid).await?;
                Ok(())
            })
        },
    )
    .await?;
    let (net_id, uid, did) = changed.value;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "userId": action.user_id,
        "netId": net_id, "netUid": uid,
        "action": if action.assign { "assign" } else { "unassign" },
        "changed": did,
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
                        Ok((net_id, changed)) => {
                            if changed {
                                changes.push(change_json(config, action, net_id));
                            }
                            json!({
                                "userId": action.user_id, "netId": net_id,
                                "action": if action.assign { "assign" } else { "unassign" },
                                "ok": true, "changed": changed,
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
        "action": if assign { "assign" } else { "unassign" }, "ok": false, "error": message,
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
    caller.set_target(format!("{}:{}", action.user_id, action.net));
    let guild = caller.guild_id().to_owned();
    let user = action.user_id.clone();
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let (net_id, changed) = config.apply_assignment(&action).map_err(refused)?;
            let uid = config.net(&action.net).map_err(refused)?.uid.clone();
            if changed {
                let mut change = change_json(config, &action, net_id);
                change["expiresAt"] = json!(to_rfc3339(expires_at));
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "api-temporary", "changes": [change] }),
                );
            }
            Ok((net_id, uid))
        },
        move |tx, (_, uid)| {
            Box::pin(async move {
                tx.put_temporary_assignment(&TemporaryAssignment {
                    guild_id: guild,
                    user_id: user,
                    net_uid: uid.clone(),
                    expires_at,
                })
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    let (net_id, uid) = changed.value;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "userId": action.user_id,
        "netId": net_id, "netUid": uid, "action": "assign",
        "expiresAt": to_rfc3339(expires_at), "expiresAtMs": expires_at,
    })))
}
