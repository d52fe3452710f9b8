//! Reads: status, the stored assignment map, features, the public net, rules, audit.

use axum::response::Response;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::model::PageRequest;
use guildgate_core::shard::{PUBLIC_NET_SLOT, PUBLIC_NET_UID, PublicNet};
use guildgate_http::Answer;
use guildgate_storage::AuditFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Current, current, ok};
use crate::body::{QueryParams, query_number};
use crate::caller::Caller;
use crate::hub::{Operator, distinct_users};
use crate::state::ShardState;

pub async fn health() -> Response {
    ok(&json!({ "ok": true, "app": "guildgate", "version": env!("CARGO_PKG_VERSION") }))
}

/// Per net: who is on it now (occupancy) and who is talking.
pub fn live_nets(shard: &Current, operators: &[Operator]) -> Vec<Value> {
    let counts = shard
        .config
        .occupancy(operators.iter().map(Operator::member));
    let mut nets: Vec<Value> = shard
        .config
        .nets
        .iter()
        .map(|net| {
            let transmitting: Vec<&str> = operators
                .iter()
                .filter(|op| op.transmitting_on() == Some(net.uid.as_str()))
                .map(|op| op.display_name.as_str())
                .collect();
            let relay_ids: Vec<u32> = net
                .relay_target_uids
                .iter()
                .filter_map(|uid| shard.config.net_by_uid(uid).map(|n| n.id))
                .collect();
            json!({
                "id": net.id, "uid": net.uid, "netUid": net.uid, "name": net.name,
                "occupancy": counts.get(&net.uid).copied().unwrap_or(0),
                "transmitting": transmitting,
                "relayTargetNetIds": relay_ids, "relayTargetNetUids": net.relay_target_uids,
            })
        })
        .collect();
    let public = &shard.config.public_net;
    if public.visible {
        nets.push(json!({
            "id": PUBLIC_NET_SLOT, "uid": PUBLIC_NET_UID, "netUid": PUBLIC_NET_UID, "name": public.name,
            "occupancy": 0, "transmitting": [], "relayTargetNetIds": [], "relayTargetNetUids": [],
            "virtual": true, "protected": true, "roleIds": public.role_ids,
        }));
    }
    nets
}

pub fn status_body(state: &ShardState, shard: &Current) -> Value {
    let operators = state.hub.operators(&shard.row.guild_id);
    let nets = live_nets(shard, &operators);
    let transmitting: Vec<Value> = nets
        .iter()
        .filter(|n| n["transmitting"].as_array().is_some_and(|t| !t.is_empty()))
        .map(|n| n["name"].clone())
        .collect();
    let open = shard.config.operation_open;
    json!({
        "ok": true,
        "guildId": shard.row.guild_id,
        "guildName": shard.row.guild_name,
        "operationOpen": open,
        "operation": if open { "open" } else { "closed" },
        "shard": {
            "name": shard.row.guild_name,
            "publicUrl": state.settings.public_base_url,
            "version": env!("CARGO_PKG_VERSION"),
            "startedAt": to_rfc3339(state.started_at),
            "connectedOperators": distinct_users(operators.iter()),
            "tier": shard.tier.as_str(),
            "netLimit": shard.tier.net_limit(),
        },
        "features": shard.config.feature_map(),
        "publicNet": public_net_body(&shard.config.public_net),
        "nets": nets,
        "netCount": shard.config.nets.len(),
        "connected": distinct_users(operators.iter()),
        "transmitting": transmitting,
        "configVersion": shard.row.version,
    })
}

pub async fn status(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    Ok(ok(&status_body(&caller.state, &shard)))
}

pub async fn assignments(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    Ok(ok(&json!({
        "ok": true,
        "guildId": shard.row.guild_id,
        "assignments": shard.config.assignment_slots(),
        "assignmentsByUid": shard.config.assignments,
    })))
}

pub async fn features(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    Ok(ok(&json!({
        "ok": true,
        "guildId": shard.row.guild_id,
        "tier": shard.tier.as_str(),
        "features": shard.config.feature_map(),
    })))
}

pub fn public_net_body(public: &PublicNet) -> Value {
    json!({
        "enabled": public.visible, "visible": public.visible,
        "name": public.name, "roleIds": public.role_ids,
    })
}

pub async fn public_net(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    Ok(ok(&json!({
        "ok": true, "guildId": shard.row.guild_id,
        "publicNet": public_net_body(&shard.config.public_net),
    })))
}

pub async fn rules(caller: Caller) -> Answer {
    let shard = current(&caller).await?;
    Ok(ok(&rules_body(&shard.row.guild_id, &shard.config)))
}

pub fn rules_body(guild_id: &str, config: &guildgate_core::shard::ShardConfig) -> Value {
    let rules: Vec<Value> = config
        .rules
        .iter()
        .map(|rule| {
            let ids: Vec<u32> = rule
                .net_uids
                .iter()
                .filter_map(|uid| config.net_by_uid(uid).map(|n| n.id))
                .collect();
            json!({ "roleId": rule.role_id, "netUids": rule.net_uids, "netIds": ids })
        })
        .collect();
    json!({ "ok": true, "guildId": guild_id, "rules": rules })
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<String>,
}

pub async fn audit(caller: Caller, QueryParams(query): QueryParams<AuditQuery>) -> Answer {
    let limit = query_number(query.limit.as_deref(), &guildgate_core::shard::AUDIT_LIMIT)?;
    let filter = AuditFilter {
        surface: Some("shard".to_owned()),
        ..AuditFilter::default()
    };
    // Rows of calls just answered may still sit in the batched writer.
    caller.state.audit.flush().await;
    let page = caller
        .state
        .store
        .audit(
            caller.guild_id(),
            &filter,
            &PageRequest {
                limit,
                before: None,
            },
        )
        .await?;
    let entries: Vec<Value> = page
        .data
        .iter()
        .map(|row| {
            json!({
                "id": row.id, "keyId": row.token_id, "keyName": row.token_name,
                "actorSource": row.actor_source, "action": row.action,
                "method": row.method, "path": row.path, "status": row.status,
                "outcome": row.outcome, "ip": row.ip, "requestId": row.request_id,
                "target": row.target, "at": to_rfc3339(row.at),
            })
        })
        .collect();
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "entries": entries }),
    ))
}
