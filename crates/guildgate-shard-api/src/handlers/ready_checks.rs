//! Ready checks: stored templates, and sessions started from them that ask every
//! connected operator to answer within the template's time (20 s by default).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Path;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::ids::new_ulid;
use guildgate_http::{Answer, MessageError};
use serde_json::{Value, json};

use super::{current, ok};
use crate::body::Body;
use crate::caller::Caller;
use crate::ready::{Start, open};
use crate::write::{commit_events, emit};

pub const READY_CHECK: &str = "ready-check";
const DEFAULT_SECONDS: u64 = 20;

async fn templates(caller: &Caller) -> Result<Vec<Value>, MessageError> {
    let docs = caller
        .state
        .store
        .shard_docs(caller.guild_id(), READY_CHECK)
        .await?;
    Ok(docs
        .iter()
        .filter_map(|doc| serde_json::from_str(&doc.body).ok())
        .collect())
}

pub async fn list(caller: Caller) -> Answer {
    let templates = templates(&caller).await?;
    let active = caller
        .state
        .ready_checks
        .latest(caller.guild_id())
        .filter(|s| s.completed_at.is_none())
        .map(|s| s.to_json());
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "templates": templates, "active": active,
    })))
}

/// `POST /ready-checks {id?, name, message?, durationSeconds?}`: creates or replaces a
/// template.
pub async fn save(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let name = body.required_str("name")?.trim().to_owned();
    if name.chars().count() > 64 || name.contains(char::is_control) {
        return Err(MessageError::bad_request(
            "name must be 1 to 64 characters without control characters",
        ));
    }
    let message = body.str("message")?.map(|m| m.trim().to_owned());
    if message.as_ref().is_some_and(|m| m.chars().count() > 280) {
        return Err(MessageError::bad_request(
            "message must be at most 280 characters",
        ));
    }
    let seconds = match body.get("durationSeconds") {
        None => DEFAULT_SECONDS,
        Some(v) => v
            .as_u64()
            .filter(|s| (1..=120).contains(s))
            .ok_or_else(|| {
                MessageError::bad_request("durationSeconds must be a number from 1 to 120")
            })?,
    };
    let id = match body.str("id")? {
        Some(id) if valid_id(id) => id.to_owned(),
        Some(_) => {
            return Err(MessageError::bad_request(
                "id must be 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        None => format!("rc_{}", new_ulid().to_lowercase()),
    };
    let now = caller.now();
    // Read in the writing transaction, as the archive does: `created` is then exact.
    let mut tx = caller.state.store.begin().await?;
    let existing = tx
        .shard_doc_for_update(caller.guild_id(), READY_CHECK, &id)
        .await?;
    let created_at = existing.as_ref().map_or(now, |doc| doc.created_at);
    let template = json!({
        "id": id, "name": name, "message": message, "durationSeconds": seconds,
        "createdAt": to_rfc3339(created_at), "updatedAt": to_rfc3339(now),
    });
    caller.set_target(&id);
    tx.put_shard_doc(
        caller.guild_id(),
        READY_CHECK,
        &id,
        &template.to_string(),
        now,
    )
    .await?;
    commit_events(
        &caller.state,
        caller.guild_id(),
        tx,
        Some(&caller),
        vec![("ready-check.configured", json!({ "template": template }))],
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "template": template,
        "created": existing.is_none(),
    })))
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn delete(caller: Caller, Path(id): Path<String>) -> Answer {
    caller.set_target(&id);
    let mut tx = caller.state.store.begin().await?;
    if !tx
        .delete_shard_doc(caller.guild_id(), READY_CHECK, &id)
        .await?
    {
        return Err(MessageError::not_found(&format!(
            "Ready check template {id}"
        )));
    }
    commit_events(
        &caller.state,
        caller.guild_id(),
        tx,
        Some(&caller),
        vec![("ready-check.removed", json!({ "id": id }))],
    )
    .await?;
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "deleted": true, "id": id }),
    ))
}

/// `POST /ready-checks/start {templateId, initiatorName?}`: asks everyone connected now.
pub async fn start(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let template_id = body.required_str("templateId")?.to_owned();
    let initiator = match body.str("initiatorName")?.map(str::trim) {
        None | Some("") => None,
        Some(name) if name.chars().count() <= 64 && !name.contains(char::is_control) => {
            Some(name.to_owned())
        }
        Some(_) => {
            return Err(MessageError::bad_request(
                "initiatorName must be at most 64 characters without control characters",
            ));
        }
    };
    caller.set_target(&template_id);
    let shard = current(&caller).await?;
    if !shard.config.feature("readyChecksEnabled") {
        return Err(MessageError::conflict(
            "Ready checks are turned off for this shard; turn them on with POST /api/v1/features {\"features\":{\"readyChecksEnabled\":true}}",
        ));
    }
    let doc = caller
        .state
        .store
        .shard_doc(caller.guild_id(), READY_CHECK, &template_id)
        .await?
        .ok_or_else(|| MessageError::not_found(&format!("Ready check template {template_id}")))?;
    let template: Value = serde_json::from_str(&doc.body).map_err(|_| MessageError::internal())?;
    let operators: BTreeMap<String, String> = caller
        .state
        .hub
        .operators(caller.guild_id())
        .into_iter()
        .map(|op| (op.user_id, op.display_name))
        .collect();
    if operators.is_empty() {
        return Err(MessageError::conflict(
            "No operators are connected; a ready check needs someone to ask",
        ));
    }
    let session = open(
        &caller.state,
        caller.guild_id(),
        Start {
            template_id: template_id.clone(),
            name: template["name"].as_str().unwrap_or_default().to_owned(),
            message: template["message"].as_str().map(str::to_owned),
            initiator_name: initiator.or_else(|| Some(caller.key.name.clone())),
            duration_secs: template["durationSeconds"]
                .as_u64()
                .unwrap_or(DEFAULT_SECONDS),
            operators,
        },
    )
    .map_err(MessageError::conflict)?;
    let body = session.to_json();
    let started = emit(
        &caller.state,
        caller.guild_id(),
        Some(&caller),
        vec![("ready-check.started", body.clone())],
    )
    .await;
    if let Err(err) = started {
        // Nobody was told: the session must not block the next start.
        caller
            .state
            .ready_checks
            .abandon(caller.guild_id(), &session.id);
        return Err(err);
    }
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "sessionId": session.id, "session": body,
    })))
}

pub async fn status(caller: Caller) -> Answer {
    let session = caller.state.ready_checks.latest(caller.guild_id());
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(),
        "session": session.map(|s| s.to_json()),
    })))
}

pub async fn session_status(caller: Caller, Path(session_id): Path<String>) -> Answer {
    let session = caller
        .state
        .ready_checks
        .find(caller.guild_id(), &session_id)
        .ok_or_else(|| MessageError::not_found(&format!("Ready check session {session_id}")))?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "session": session.to_json(),
    })))
}
