//! Nets: create (numeric slot and persistent uid), rename, and remove, which archives the
//! net with its assignments and rule roles so it can be restored later with its uid.

use axum::body::Bytes;
use axum::extract::Path;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::shard::{Net, NetRef, ShardConfig};
use guildgate_http::{Answer, MessageError};
use serde_json::{Value, json};

use super::ok;
use crate::body::Body;
use crate::caller::Caller;
use crate::write::{Author, Effects, change_shard, nothing, refused};

pub const ARCHIVE: &str = "archive";

pub fn net_json(net: &Net) -> Value {
    json!({
        "id": net.id, "netId": net.id, "uid": net.uid, "netUid": net.uid, "name": net.name,
        "relayTargetNetUids": net.relay_target_uids,
    })
}

pub async fn create(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let name = body.required_str("name")?.to_owned();
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let net = config.create_net(&name, None);
            effects.event(
                "config.changed",
                json!({ "reason": "net.created", "net": net_json(&net) }),
            );
            Ok(net)
        },
        nothing,
    )
    .await?;
    let net = changed.value;
    caller.set_target(&net.uid);
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "netId": net.id, "netUid": net.uid,
        "net": net_json(&net),
    })))
}

pub async fn rename(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let reference = body.net_ref()?;
    let name = body.required_str("name")?.to_owned();
    caller.set_target(&reference);
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let previous = config.net(&reference).map_err(refused)?.name.clone();
            let net = config.rename_net(&reference, &name).map_err(refused)?;
            if net.name != previous {
                effects.event(
                    "config.changed",
                    json!({ "reason": "net.renamed", "net": net_json(&net), "previousName": previous }),
                );
            }
            Ok(net)
        },
        nothing,
    )
    .await?;
    let net = changed.value;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "netId": net.id, "netUid": net.uid,
        "net": net_json(&net),
    })))
}

pub async fn delete(caller: Caller, Path(reference): Path<String>) -> Answer {
    let reference = NetRef::parse(&reference).map_err(|r| MessageError::bad_request(r.message))?;
    remove_net(caller, reference).await
}

pub async fn remove(caller: Caller, bytes: Bytes) -> Answer {
    let reference = Body::parse(&bytes)?.net_ref()?;
    remove_net(caller, reference).await
}

/// The archive entry a removed net leaves: enough to restore it as it was.
pub fn archive_entry(config: &ShardConfig, net: &Net, at: i64) -> Value {
    let users: Vec<&String> = config
        .assignments
        .iter()
        .filter(|(_, nets)| nets.contains(&net.uid))
        .map(|(user, _)| user)
        .collect();
    let roles: Vec<&String> = config
        .rules
        .iter()
        .filter(|rule| rule.net_uids.contains(&net.uid))
        .map(|rule| &rule.role_id)
        .collect();
    json!({
        "uid": net.uid, "netUid": net.uid, "name": net.name, "notes": "", "tags": [],
        "assignments": users, "roleIds": roles, "relayTargetNetUids": net.relay_target_uids,
        "lastNetId": net.id, "archivedAt": to_rfc3339(at), "updatedAt": to_rfc3339(at),
    })
}

/// Removes the net and returns it with the archive entry it leaves (written by the caller
/// in the same transaction).
pub fn remove_and_archive(
    config: &mut ShardConfig,
    reference: &NetRef,
    at: i64,
) -> Result<(Net, Value), MessageError> {
    let net = config.net(reference).map_err(refused)?.clone();
    let entry = archive_entry(config, &net, at);
    config.remove_net(reference).map_err(refused)?;
    Ok((net, entry))
}

async fn remove_net(caller: Caller, reference: NetRef) -> Answer {
    caller.set_target(&reference);
    let guild = caller.guild_id().to_owned();
    let now = caller.now();
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let (net, entry) = remove_and_archive(config, &reference, now)?;
            effects.event(
                "config.changed",
                json!({ "reason": "net.removed", "net": net_json(&net) }),
            );
            if entry["assignments"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                effects.event(
                    "assignments.changed",
                    json!({ "reason": "net.removed", "netUid": net.uid, "changes": [] }),
                );
            }
            Ok((net, entry))
        },
        move |tx, (net, entry)| {
            Box::pin(
                async move { super::archive::put_entry(tx, &guild, &net.uid, entry, now).await },
            )
        },
    )
    .await?;
    let (net, entry) = changed.value;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "netId": net.id, "netUid": net.uid,
        "archived": true, "entry": entry,
    })))
}
