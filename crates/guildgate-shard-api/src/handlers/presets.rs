//! Operation presets: saved templates of nets, assignments and operation state, kept
//! beside the shard's configuration. Applying one changes the active configuration
//! through the same validation as any other write, all of it or none.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Path;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::shard::{Assignment, NET_NAME_MAX, NetRef, Refusal, ShardConfig, is_net_uid};
use guildgate_http::{Answer, MessageError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::nets::{net_json, remove_and_archive};
use super::ok;
use crate::body::{Body, snowflake};
use crate::caller::Caller;
use crate::write::{Author, Effects, change_shard, refused, set_operation};

pub const PRESET: &str = "preset";
const MAX_NETS: usize = 50;
const MAX_ASSIGNMENTS: usize = 2_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresetNet {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    net_uid: Option<String>,
}

/// Which net an assignment in a preset means: by name (a preset's own nets get their
/// slots only when applied), uid or slot.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresetAssignment {
    user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    net_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    net_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    net_id: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preset {
    name: String,
    nets: Vec<PresetNet>,
    assignments: Vec<PresetAssignment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation_open: Option<bool>,
}

fn bad(message: impl Into<String>) -> MessageError {
    MessageError::bad_request(message)
}

fn preset_name(name: &str) -> Result<String, MessageError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.contains(char::is_control) {
        return Err(bad(
            "name must be 1 to 64 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Reads and checks a preset from a request body; unknown fields are refused.
fn parse(body: &Body) -> Result<Preset, MessageError> {
    body.only(
        "preset",
        &["name", "nets", "assignments", "operationOpen", "operation"],
    )?;
    let name = preset_name(body.required_str("name")?)?;
    let nets = match body.get("nets") {
        None => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_NETS => items
            .iter()
            .map(preset_net)
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) => return Err(bad(format!("nets holds at most {MAX_NETS} nets"))),
        Some(_) => return Err(bad("nets must be a list")),
    };
    let assignments = match body.get("assignments") {
        None => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_ASSIGNMENTS => items
            .iter()
            .map(preset_assignment)
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) => {
            return Err(bad(format!(
                "assignments holds at most {MAX_ASSIGNMENTS} items"
            )));
        }
        Some(_) => return Err(bad("assignments must be a list")),
    };
    let operation_open = match (body.bool("operationOpen")?, body.str("operation")?) {
        (Some(open), _) => Some(open),
        (None, Some("open")) => Some(true),
        (None, Some("closed")) => Some(false),
        (None, Some(_)) => return Err(bad("operation must be open or closed")),
        (None, None) => None,
    };
    Ok(Preset {
        name,
        nets,
        assignments,
        operation_open,
    })
}

fn preset_net(item: &Value) -> Result<PresetNet, MessageError> {
    let (name, net_uid) = match item {
        Value::String(name) => (name.as_str(), None),
        Value::Object(map) => {
            if let Some(unknown) = map
                .keys()
                .find(|k| !["name", "netUid"].contains(&k.as_str()))
            {
                return Err(bad(format!(
                    "Unknown preset net field '{unknown}'. Fields: name, netUid"
                )));
            }
            (
                map.get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("each preset net needs a name"))?,
                map.get("netUid").and_then(Value::as_str),
            )
        }
        _ => return Err(bad("each preset net must be a name or {name, netUid?}")),
    };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NET_NAME_MAX || name.contains(char::is_control) {
        return Err(bad(format!(
            "preset net names must be 1 to {NET_NAME_MAX} characters, got '{name}'"
        )));
    }
    if let Some(uid) = net_uid
        && !is_net_uid(uid)
    {
        return Err(bad(format!("'{uid}' is not a netUid (net_...)")));
    }
    Ok(PresetNet {
        name: name.to_owned(),
        net_uid: net_uid.map(str::to_owned),
    })
}

fn preset_assignment(item: &Value) -> Result<PresetAssignment, MessageError> {
    let map = item
        .as_object()
        .ok_or_else(|| bad("each preset assignment must be an object"))?;
    let user_id = match map.get("userId") {
        Some(Value::String(id)) => snowflake("userId", id.trim())?,
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(bad("each preset assignment needs a userId")),
    };
    const FIELDS: &[&str] = &["userId", "netName", "netUid", "netId"];
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(format!(
            "Unknown preset assignment field '{unknown}'. Fields: {}",
            FIELDS.join(", ")
        )));
    }
    let text = |field: &str| -> Result<Option<String>, MessageError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(bad(format!("{field} must be a string"))),
        }
    };
    let net_uid = text("netUid")?;
    if let Some(uid) = &net_uid
        && !is_net_uid(uid)
    {
        return Err(bad(format!("'{uid}' is not a netUid (net_...)")));
    }
    let net_id = match map.get("netId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| bad("netId must be a net's number"))?,
        ),
    };
    let assignment = PresetAssignment {
        user_id,
        net_name: text("netName")?,
        net_uid,
        net_id,
    };
    if assignment.net_name.is_none() && assignment.net_uid.is_none() && assignment.net_id.is_none()
    {
        return Err(bad(format!(
            "the preset assignment of user {} names no net (netName, netUid or netId)",
            assignment.user_id
        )));
    }
    Ok(assignment)
}

fn preset_json(preset: &Preset, created_at: i64, updated_at: i64) -> Value {
    let mut body = serde_json::to_value(preset).expect("a preset serializes");
    body["createdAt"] = json!(to_rfc3339(created_at));
    body["updatedAt"] = json!(to_rfc3339(updated_at));
    body
}

pub async fn list(caller: Caller) -> Answer {
    let docs = caller
        .state
        .store
        .shard_docs(caller.guild_id(), PRESET)
        .await?;
    let presets: Vec<Value> = docs
        .iter()
        .filter_map(|doc| {
            let preset: Preset = serde_json::from_str(&doc.body).ok()?;
            Some(preset_json(&preset, doc.created_at, doc.updated_at))
        })
        .collect();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "presets": presets,
    })))
}

/// `POST /presets`: creates or replaces the preset of that name.
pub async fn save(caller: Caller, bytes: Bytes) -> Answer {
    let preset = parse(&Body::parse(&bytes)?)?;
    caller.set_target(&preset.name);
    let now = caller.now();
    let text = serde_json::to_string(&preset).expect("a preset serializes");
    // Read in the writing transaction, as the archive does: `created` is then exact.
    let mut tx = caller.state.store.begin().await?;
    let existing = tx
        .shard_doc_for_update(caller.guild_id(), PRESET, &preset.name)
        .await?;
    tx.put_shard_doc(caller.guild_id(), PRESET, &preset.name, &text, now)
        .await?;
    caller.commit(tx).await?;
    let created_at = existing.as_ref().map_or(now, |doc| doc.created_at);
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "created": existing.is_none(),
        "preset": preset_json(&preset, created_at, now),
    })))
}

fn not_found(name: &str) -> MessageError {
    MessageError::not_found(&format!("Preset '{name}'"))
}

pub async fn delete(caller: Caller, Path(name): Path<String>) -> Answer {
    caller.set_target(&name);
    let mut tx = caller.state.store.begin().await?;
    if !tx
        .delete_shard_doc(caller.guild_id(), PRESET, &name)
        .await?
    {
        return Err(not_found(&name));
    }
    caller.commit(tx).await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "deleted": true, "name": name,
    })))
}

#[derive(Default)]
struct Applied {
    nets: Vec<Value>,
    created: usize,
    renamed: usize,
    archived: Vec<(String, Value)>,
    /// (user, net uid) of every assignment the preset makes: permanent from now on.
    made: Vec<(String, String)>,
    assigned: usize,
    skipped: usize,
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The preset's nets made active: matched by uid, else by name; missing ones created.
fn apply_nets(config: &mut ShardConfig, preset: &Preset, applied: &mut Applied) -> Vec<String> {
    let mut kept = Vec::with_capacity(preset.nets.len());
    for wanted in &preset.nets {
        let found = wanted
            .net_uid
            .as_deref()
            .and_then(|uid| config.net_by_uid(uid))
            .or_else(|| {
                config
                    .nets
                    .iter()
                    .find(|n| same_name(&n.name, &wanted.name))
            })
            .map(|n| n.uid.clone());
        let net = match found {
            Some(uid) => {
                let reference = NetRef::Uid(uid);
                let current = config.net(&reference).expect("found above").clone();
                if current.name != wanted.name {
                    applied.renamed += 1;
                    config
                        .rename_net(&reference, &wanted.name)
                        .expect("found above")
                } else {
                    current
                }
            }
            None => {
                applied.created += 1;
                let free_uid = wanted
                    .net_uid
                    .clone()
                    .filter(|uid| config.net_by_uid(uid).is_none());
                config.create_net(&wanted.name, free_uid)
            }
        };
        applied.nets.push(net_json(&net));
        kept.push(net.uid);
    }
    kept
}

fn resolve(config: &ShardConfig, wanted: &PresetAssignment) -> Result<NetRef, Refusal> {
    if let Some(uid) = &wanted.net_uid {
        return Ok(NetRef::Uid(uid.clone()));
    }
    if let Some(name) = &wanted.net_name {
        return config
            .nets
            .iter()
            .find(|n| same_name(&n.name, name))
            .map(|n| NetRef::Uid(n.uid.clone()))
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "The preset assigns user {} to net '{name}', which does not exist",
                    wanted.user_id
                ))
            });
    }
    Ok(NetRef::Slot(wanted.net_id.unwrap_or_default()))
}

/// `POST /presets/{name}/apply {clearAssignments?, removeOtherNets?, operationOpen?}`.
pub async fn apply(caller: Caller, Path(name): Path<String>, bytes: Bytes) -> Answer {
    let options = Body::parse(&bytes)?;
    options.only(
        "apply option",
        &["clearAssignments", "removeOtherNets", "operationOpen"],
    )?;
    let clear = options.bool("clearAssignments")?.unwrap_or(false);
    let remove_others = options.bool("removeOtherNets")?.unwrap_or(false);
    let open_override = options.bool("operationOpen")?;
    caller.set_target(&name);
    let doc = caller
        .state
        .store
        .shard_doc(caller.guild_id(), PRESET, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let preset: Preset = serde_json::from_str(&doc.body).map_err(|_| MessageError::internal())?;
    let (guild, now) = (caller.guild_id().to_owned(), caller.now());
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let before = config.clone();
            let mut applied = Applied::default();
            let kept = apply_nets(config, &preset, &mut applied);
            if remove_others {
                let others: Vec<_> = config
                    .nets
                    .iter()
                    .filter(|n| !kept.contains(&n.uid))
                    .cloned()
                    .collect();
                for net in others {
                    let (net, entry) = remove_and_archive(config, &NetRef::Uid(net.uid), now)?;
                    applied.archived.push((net.uid, entry));
                }
            }
            if clear {
                config.assignments.clear();
            }
            for wanted in &preset.assignments {
                let action = Assignment {
                    user_id: wanted.user_id.clone(),
                    net: resolve(config, wanted).map_err(refused)?,
                    assign: true,
                };
                let done = config.apply_assignment(&action).map_err(refused)?;
                if done.changed {
                    applied.assigned += 1;
                } else {
                    applied.skipped += 1;
                }
                applied.made.push((action.user_id, done.net_uid));
            }
            if let Some(open) = open_override.or(preset.operation_open) {
                set_operation(config, effects, open, json!({ "preset": preset.name }));
            }
            if config.nets != before.nets || config.operation_open != before.operation_open {
                effects.event(
                    "config.changed",
                    json!({ "reason": "preset", "preset": preset.name }),
                );
            }
            if config.assignments != before.assignments {
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "preset", "preset": preset.name }),
                );
            }
            Ok(applied)
        },
        move |tx, applied| {
            Box::pin(async move {
                for (uid, entry) in &applied.archived {
                    super::archive::put_entry(tx, &guild, uid, entry, now).await?;
                }
                // As with a single assign: a pending temporary expiry must not undo it.
                for (user, uid) in &applied.made {
                    tx.delete_temporary_assignment(&guild, user, uid).await?;
                }
                Ok(())
            })
        },
    )
    .await?;
    let applied = changed.value;
    let archived: BTreeMap<&str, &Value> = applied
        .archived
        .iter()
        .map(|(uid, entry)| (uid.as_str(), entry))
        .collect();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "preset": preset.name,
        "nets": applied.nets, "created": applied.created, "renamed": applied.renamed,
        "archived": archived,
        "assignments": { "applied": applied.assigned, "skipped": applied.skipped },
        "operationOpen": changed.config.operation_open,
    })))
}
