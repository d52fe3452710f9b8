//! The shard-local archive: a catalog of channel layouts (a removed net lands here) that
//! can be searched, edited and restored into a fresh slot with its original uid.

use axum::body::Bytes;
use axum::extract::Path;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::shard::{RoleRule, new_net_uid};
use guildgate_http::{Answer, MessageError};
use guildgate_storage::{ShardDoc, WriteTx};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::nets::{ARCHIVE, net_json};
use super::{current, ok};
use crate::body::{Body, QueryParams, query_number, snowflake};
use crate::caller::Caller;
use crate::write::{Author, Effects, change_shard};

const EDITABLE: &[&str] = &[
    "name",
    "notes",
    "tags",
    "assignments",
    "roleIds",
    "relayTargetNetUids",
];

/// Fields of an entry the server keeps. A body may carry them, so that an entry read from
/// the archive can be edited and sent back whole; their values are not taken.
const KEPT_BY_SERVER: &[&str] = &["uid", "netUid", "lastNetId", "archivedAt", "updatedAt"];

fn entry_of(doc: &ShardDoc) -> Value {
    serde_json::from_str(&doc.body).unwrap_or(Value::Null)
}

/// Copies the editable fields of `body` onto `entry`, checking each.
fn apply_fields(entry: &mut Map<String, Value>, body: &Body) -> Result<(), MessageError> {
    if let Some(name) = body.str("name")? {
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed.chars().count() > guildgate_core::shard::NET_NAME_MAX {
            return Err(MessageError::bad_request("name must be 1 to 32 characters"));
        }
        entry.insert("name".into(), json!(trimmed));
    }
    if let Some(notes) = body.str("notes")? {
        if notes.chars().count() > 4_000 {
            return Err(MessageError::bad_request(
                "notes must be at most 4000 characters",
            ));
        }
        entry.insert("notes".into(), json!(notes));
    }
    for field in ["tags", "assignments", "roleIds", "relayTargetNetUids"] {
        if let Some(list) = body.string_list(field)? {
            if list.len() > 500 {
                return Err(MessageError::bad_request(format!(
                    "{field} holds at most 500 items"
                )));
            }
            if matches!(field, "assignments" | "roleIds") {
                for id in &list {
                    snowflake(field, id)?;
                }
            }
            entry.insert(field.into(), json!(list));
        }
    }
    if let Some(unknown) = body
        .0
        .keys()
        .find(|k| !EDITABLE.contains(&k.as_str()) && !KEPT_BY_SERVER.contains(&k.as_str()))
    {
        return Err(MessageError::bad_request(format!(
            "Unknown archive field '{unknown}'. Editable: {}",
            EDITABLE.join(", ")
        )));
    }
    Ok(())
}

/// Writes an archive entry and counts the change in the catalog's checkpoint version.
pub async fn put_entry(
    tx: &mut dyn WriteTx,
    guild_id: &str,
    uid: &str,
    entry: &Value,
    now: i64,
) -> Result<(), MessageError> {
    tx.put_shard_doc(guild_id, ARCHIVE, uid, &entry.to_string(), now)
        .await?;
    tx.bump_archive_version(guild_id, now).await?;
    Ok(())
}

async fn save(
    caller: &Caller,
    mut tx: Box<dyn WriteTx>,
    uid: &str,
    entry: &Value,
) -> Result<(), MessageError> {
    put_entry(&mut *tx, caller.guild_id(), uid, entry, caller.now()).await?;
    caller.commit(tx).await
}

#[derive(serde::Deserialize)]
pub struct Search {
    q: Option<String>,
    limit: Option<String>,
}

/// `GET /archive?q=&tag=&tag=&limit=`: newest first; `q` matches name and notes.
pub async fn list(
    caller: Caller,
    QueryParams(search): QueryParams<Search>,
    uri: axum::http::Uri,
) -> Answer {
    let tags: Vec<String> = form_tags(uri.query().unwrap_or(""));
    let limit = query_number(
        search.limit.as_deref(),
        &guildgate_core::shard::ARCHIVE_LIMIT,
    )? as usize;
    let needle = search.q.as_deref().map(str::to_lowercase);
    let docs = caller
        .state
        .store
        .shard_docs(caller.guild_id(), ARCHIVE)
        .await?;
    let entries: Vec<Value> = docs
        .iter()
        .map(entry_of)
        .filter(|e| {
            needle.as_deref().is_none_or(|q| {
                let text = format!(
                    "{} {}",
                    e["name"].as_str().unwrap_or(""),
                    e["notes"].as_str().unwrap_or("")
                );
                text.to_lowercase().contains(q)
            })
        })
        .filter(|e| {
            tags.iter().all(|t| {
                e["tags"]
                    .as_array()
                    .is_some_and(|have| have.contains(&json!(t)))
            })
        })
        .collect();
    let total = entries.len();
    let entries: Vec<Value> = entries.into_iter().take(limit).collect();
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "entries": entries, "total": total }),
    ))
}

fn form_tags(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, value)| key == "tag" && !value.is_empty())
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// `POST /archive`: creates an entry (a uid is minted unless one is given) or replaces the
/// fields given of an existing one.
pub async fn upsert(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let uid = match body.str("netUid")?.or(body.str("uid")?) {
        Some(uid) => {
            let parsed = guildgate_core::shard::NetRef::parse(uid)
                .map_err(|r| MessageError::bad_request(r.message))?;
            match parsed {
                guildgate_core::shard::NetRef::Uid(uid)
                    if guildgate_core::shard::is_net_uid(&uid) =>
                {
                    uid
                }
                _ => {
                    return Err(MessageError::bad_request(
                        "netUid must be net_ + 24 lowercase base32 characters",
                    ));
                }
            }
        }
        None => new_net_uid(),
    };
    let mut tx = caller.state.store.begin().await?;
    let existing = tx
        .shard_doc_for_update(caller.guild_id(), ARCHIVE, &uid)
        .await?;
    let now = to_rfc3339(caller.now());
    let mut entry = match existing.as_ref().map(entry_of) {
        Some(Value::Object(map)) => map,
        _ => {
            body.required_str("name")?;
            let mut map = Map::new();
            for (k, v) in [
                ("notes", json!("")),
                ("tags", json!([])),
                ("assignments", json!([])),
                ("roleIds", json!([])),
                ("relayTargetNetUids", json!([])),
                ("archivedAt", json!(now)),
            ] {
                map.insert(k.into(), v);
            }
            map
        }
    };
    apply_fields(&mut entry, &body)?;
    entry.insert("uid".into(), json!(uid));
    entry.insert("netUid".into(), json!(uid));
    entry.insert("updatedAt".into(), json!(now));
    let entry = Value::Object(entry);
    caller.set_target(&uid);
    save(&caller, tx, &uid, &entry).await?;
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "created": existing.is_none(), "entry": entry }),
    ))
}

async fn find(caller: &Caller, uid: &str) -> Result<Map<String, Value>, MessageError> {
    match caller
        .state
        .store
        .shard_doc(caller.guild_id(), ARCHIVE, uid)
        .await?
        .as_ref()
        .map(entry_of)
    {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(MessageError::not_found("Archive entry")),
    }
}

pub async fn read(caller: Caller, Path(uid): Path<String>) -> Answer {
    let entry = find(&caller, &uid).await?;
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "entry": entry }),
    ))
}

/// `POST|PATCH /archive/{uid}`: changes the fields given.
pub async fn update(caller: Caller, Path(uid): Path<String>, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    // Read in the transaction that writes it back: two edits never lose one another.
    let mut tx = caller.state.store.begin().await?;
    let mut entry = match tx
        .shard_doc_for_update(caller.guild_id(), ARCHIVE, &uid)
        .await?
        .as_ref()
        .map(entry_of)
    {
        Some(Value::Object(map)) => map,
        _ => return Err(MessageError::not_found("Archive entry")),
    };
    apply_fields(&mut entry, &body)?;
    entry.insert("updatedAt".into(), json!(to_rfc3339(caller.now())));
    let entry = Value::Object(entry);
    caller.set_target(&uid);
    save(&caller, tx, &uid, &entry).await?;
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "entry": entry }),
    ))
}

pub async fn delete(caller: Caller, Path(uid): Path<String>) -> Answer {
    caller.set_target(&uid);
    let mut tx = caller.state.store.begin().await?;
    if !tx
        .delete_shard_doc(caller.guild_id(), ARCHIVE, &uid)
        .await?
    {
        return Err(MessageError::not_found("Archive entry"));
    }
    tx.bump_archive_version(caller.guild_id(), caller.now())
        .await?;
    caller.commit(tx).await?;
    Ok(ok(&json!({ "ok": true, "deleted": true, "uid": uid })))
}

/// `GET /archive/sync/status`: the catalog's checkpoint. guildgate's database is the
/// durable copy (every archive write commits before it is answered), so nothing is ever
/// pending; the version counts archive changes and the hash covers the catalog.
pub async fn sync_status(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    let docs = caller
        .state
        .store
        .shard_docs(caller.guild_id(), ARCHIVE)
        .await?;
    let mut sorted: Vec<&ShardDoc> = docs.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut hasher = Sha256::new();
    for doc in sorted {
        hasher.update(doc.id.as_bytes());
        hasher.update([0]);
        hasher.update(doc.body.as_bytes());
        hasher.update([0]);
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "pendingOps": 0,
        "checkpoint": { "version": shard.row.archive_version, "hash": hash, "entries": docs.len() },
    })))
}

/// `POST /archive/{uid}/restore {name?}`: back into an active net with its original uid in
/// a fresh slot, with its assignments and rule roles, through central validation.
pub async fn restore(caller: Caller, Path(uid): Path<String>, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    body.only("restore option", &["name"])?;
    let entry = find(&caller, &uid).await?;
    let name = match body.str("name")? {
        Some(name) => name.to_owned(),
        None => entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    };
    let list = |field: &str| -> Vec<String> {
        entry
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let (users, roles, relays) = (
        list("assignments"),
        list("roleIds"),
        list("relayTargetNetUids"),
    );
    caller.set_target(&uid);
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            if config.net_by_uid(&uid).is_some() {
                return Err(MessageError::conflict(format!(
                    "Net {uid} is already active"
                )));
            }
            // Relay targets that were archived or removed meanwhile are dropped.
            let active: Vec<String> = relays
                .iter()
                .filter(|r| config.net_by_uid(r).is_some())
                .cloned()
                .collect();
            config.create_net(&name, Some(uid.clone()));
            let live = config
                .nets
                .iter_mut()
                .find(|n| n.uid == uid)
                .expect("created above");
            live.relay_target_uids = active;
            let net = live.clone();
            for user in &users {
                config
                    .assignments
                    .entry(user.clone())
                    .or_default()
                    .insert(uid.clone());
            }
            for role in &roles {
                match config.rules.iter_mut().find(|r| &r.role_id == role) {
                    Some(rule) => rule.net_uids.push(uid.clone()),
                    None => config.rules.push(RoleRule {
                        role_id: role.clone(),
                        net_uids: vec![uid.clone()],
                    }),
                }
            }
            effects.event(
                "config.changed",
                json!({ "reason": "net.restored", "net": net_json(&net) }),
            );
            if !users.is_empty() || !roles.is_empty() {
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "net.restored", "netUid": uid }),
                );
            }
            Ok(net)
        },
        crate::write::nothing,
    )
    .await?;
    let net = changed.value;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "restored": true, "netId": net.id, "netUid": net.uid,
        "net": net_json(&net),
    })))
}
