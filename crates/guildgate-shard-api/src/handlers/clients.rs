//! The connected comms clients: the roster, disconnecting one, and ACARS overlays.

use axum::body::Bytes;
use axum::http::StatusCode;
use guildgate_core::ids::new_ulid;
use guildgate_core::shard::{Scope, ShardTier};
use guildgate_http::{Answer, MessageError};
use serde_json::{Value, json};

use super::{current, ok};
use crate::body::{Body, discord_id};
use crate::caller::Caller;
use crate::hub::Control;
use crate::write::emit;

pub const ACARS_TEXT_MAX: usize = 280;
const ALERT_TYPES: &[&str] = &["critical", "emergency", "non-emergency"];

/// `GET /roster`: who is connected; role ids only for keys with `read:roster:roles`.
pub async fn roster(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    let with_roles = caller.key.scopes.contains(Scope::ReadRosterRoles);
    let operators: Vec<Value> = caller
        .state
        .hub
        .operators(caller.guild_id())
        .iter()
        .map(|op| {
            let effective = shard.config.effective_nets(&op.user_id, &op.role_ids);
            let (ids, uids) = shard.config.ids_and_uids(&effective);
            let on = op.transmitting_on();
            let mut entry = json!({
                "userId": op.user_id, "displayName": op.display_name,
                "nets": ids, "netIds": ids, "netUids": uids, "transport": op.transport,
                "transmitting": on.is_some(), "transmittingNetUid": on,
                "transmittingNetId": on.and_then(|uid| shard.config.net_by_uid(uid)).map(|n| n.id),
                "connectedAt": guildgate_core::clock::to_rfc3339(op.connected_at),
            });
            if with_roles {
                entry["roleIds"] = json!(op.role_ids);
            }
            entry
        })
        .collect();
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "count": operators.len(),
        "operators": operators,
    })))
}

/// `POST /clients/disconnect {userId, reason?}`: every connection of the user gets a
/// control message and is closed.
pub async fn disconnect(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let user_id = discord_id(&body.0, "userId")?
        .ok_or_else(|| MessageError::bad_request("userId is required"))?;
    let reason = match body.str("reason")?.map(str::trim) {
        None | Some("") => "Disconnected by the shard owner".to_owned(),
        Some(reason) if reason.chars().count() <= 200 => reason.to_owned(),
        Some(_) => {
            return Err(MessageError::bad_request(
                "reason must be at most 200 characters",
            ));
        }
    };
    caller.set_target(&user_id);
    let connections = caller.state.hub.connections_of(caller.guild_id(), &user_id);
    if connections == 0 {
        return Err(MessageError::new(
            StatusCode::NOT_FOUND,
            format!("User {user_id} is not connected"),
        ));
    }
    // Recorded first: a failed commit answers an error and disconnects nobody.
    emit(
        &caller.state,
        caller.guild_id(),
        Some(&caller),
        vec![(
            "client.disconnected",
            json!({ "userId": user_id, "reason": reason, "connections": connections }),
        )],
    )
    .await?;
    caller.state.hub.control_user(
        caller.guild_id(),
        &user_id,
        Control::Disconnect {
            reason: reason.clone(),
        },
    );
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "userId": user_id,
        "disconnected": connections, "reason": reason,
    })))
}

/// `POST /acars {text, senderName?, durationMs?, alertType?}`: an overlay alert on every
/// connected client. Premium shards with `acarsEnabled` only; the route's own tight rate
/// limit applies on top of the key's.
pub async fn acars(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let text = body.required_str("text")?.trim().to_owned();
    if text.chars().count() > ACARS_TEXT_MAX {
        return Err(MessageError::bad_request(format!(
            "text must be at most {ACARS_TEXT_MAX} characters"
        )));
    }
    let sender = match body.str("senderName")?.map(str::trim) {
        None | Some("") => caller.key.name.chars().take(32).collect(),
        Some(name) if name.chars().count() <= 32 && !name.contains(char::is_control) => {
            name.to_owned()
        }
        Some(_) => {
            return Err(MessageError::bad_request(
                "senderName must be at most 32 characters without control characters",
            ));
        }
    };
    let duration_ms = match body.get("durationMs") {
        None => 8_000,
        Some(value) => value
            .as_u64()
            .filter(|ms| (1_000..=60_000).contains(ms))
            .ok_or_else(|| {
                MessageError::bad_request("durationMs must be a number from 1000 to 60000")
            })?,
    };
    let alert_type = body.str("alertType")?.unwrap_or("non-emergency").to_owned();
    if !ALERT_TYPES.contains(&alert_type.as_str()) {
        return Err(MessageError::bad_request(format!(
            "alertType must be one of {}",
            ALERT_TYPES.join(", ")
        )));
    }
    let shard = current(&caller).await?;
    if shard.tier != ShardTier::Premium {
        return Err(MessageError::forbidden(
            "ACARS needs a premium shard; this shard is on the free tier",
        ));
    }
    if !shard.config.feature("acarsEnabled") {
        return Err(MessageError::conflict(
            "ACARS is turned off for this shard; turn it on with POST /api/v1/features {\"features\":{\"acarsEnabled\":true}}",
        ));
    }
    let clients = caller.state.hub.operators(caller.guild_id()).len();
    let id = format!("acars_{}", new_ulid().to_lowercase());
    caller.set_target(&id);
    emit(
        &caller.state,
        caller.guild_id(),
        Some(&caller),
        vec![(
            "acars.sent",
            json!({
                "id": id, "text": text, "senderName": sender, "durationMs": duration_ms,
                "alertType": alert_type, "routed": clients,
            }),
        )],
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "id": id, "routed": clients,
        "durationMs": duration_ms, "alertType": alert_type,
        "delivered": clients > 0, "clients": clients,
    })))
}
