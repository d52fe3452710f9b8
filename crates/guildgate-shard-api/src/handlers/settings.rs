//! The operation, feature toggles, the public net and role rules.

use axum::body::Bytes;
use guildgate_core::shard::RoleRule;
use guildgate_http::{Answer, MessageError};
use serde_json::{Value, json};

use super::ok;
use super::status::{public_net_body, rules_body};
use crate::body::{Body, discord_id, snowflake, string_list};
use crate::caller::Caller;
use crate::write::{Author, Effects, change_shard, nothing, refused, set_operation};

pub async fn operation(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let open = body
        .bool("open")?
        .ok_or_else(|| MessageError::bad_request("open is required: true or false"))?;
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let changed = set_operation(config, effects, open, json!({}));
            if changed {
                effects.event(
                    "config.changed",
                    json!({ "reason": "operation", "operationOpen": open }),
                );
            }
            Ok(changed)
        },
        nothing,
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "operationOpen": open,
        "operation": if open { "open" } else { "closed" }, "changed": changed.value,
    })))
}

pub async fn set_features(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let toggles = match body.get("features") {
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(MessageError::bad_request("features must be an object")),
        None => {
            return Err(MessageError::bad_request(
                "features is required, e.g. {\"features\":{\"globalPttEnabled\":true}}",
            ));
        }
    };
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let before = config.feature_map();
            config.set_features(&toggles).map_err(refused)?;
            let after = config.feature_map();
            if before != after {
                effects.event(
                    "config.changed",
                    json!({ "reason": "features", "features": after }),
                );
            }
            Ok(())
        },
        nothing,
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "tier": changed.tier.as_str(),
        "features": changed.config.feature_map(),
    })))
}

#[derive(Clone, Copy)]
enum PublicNetAction {
    Show,
    Hide,
    Remove,
}

async fn public_net(caller: Caller, bytes: Bytes, action: PublicNetAction) -> Answer {
    let body = Body::parse(&bytes)?;
    let name = body.str("name")?.map(str::to_owned);
    let role_ids = body
        .string_list("roleIds")?
        .map(|ids| {
            ids.iter()
                .map(|id| snowflake("roleIds", id))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let before = config.public_net.clone();
            match action {
                PublicNetAction::Show => config.show_public_net(name.as_deref(), role_ids),
                PublicNetAction::Hide => config.hide_public_net(),
                PublicNetAction::Remove => config.remove_public_net(),
            }
            if config.public_net != before {
                effects.event(
                    "config.changed",
                    json!({ "reason": "public-net", "publicNet": config.public_net }),
                );
            }
            Ok(())
        },
        nothing,
    )
    .await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "publicNet": public_net_body(&changed.config.public_net),
    })))
}

pub async fn show_public_net(caller: Caller, bytes: Bytes) -> Answer {
    public_net(caller, bytes, PublicNetAction::Show).await
}

pub async fn hide_public_net(caller: Caller, bytes: Bytes) -> Answer {
    public_net(caller, bytes, PublicNetAction::Hide).await
}

pub async fn remove_public_net(caller: Caller, bytes: Bytes) -> Answer {
    public_net(caller, bytes, PublicNetAction::Remove).await
}

/// `POST /rules`: replaces every rule. Nets may be named by netUid or netId.
pub async fn replace_rules(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let items = match body.get("rules") {
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(MessageError::bad_request("rules must be a list")),
        None => return Err(MessageError::bad_request("rules is required")),
    };
    let mut parsed = Vec::with_capacity(items.len());
    for item in &items {
        let map = item
            .as_object()
            .ok_or_else(|| MessageError::bad_request("each rule must be an object"))?;
        let role = discord_id(map, "roleId")?
            .ok_or_else(|| MessageError::bad_request("each rule needs a roleId"))?;
        let uids = string_list(map, "netUids")?.unwrap_or_default();
        let ids = string_list(map, "netIds")?.unwrap_or_default();
        if uids.is_empty() && ids.is_empty() {
            return Err(MessageError::bad_request(format!(
                "the rule for role {role} names no nets (netUids)"
            )));
        }
        parsed.push((role, uids, ids));
    }
    let changed = change_shard(
        &caller.state,
        caller.guild_id(),
        Author::Call(&caller),
        |config, _, effects: &mut Effects| {
            let mut rules: Vec<RoleRule> = Vec::with_capacity(parsed.len());
            for (role, uids, ids) in &parsed {
                let mut net_uids = uids.clone();
                for id in ids {
                    let reference = guildgate_core::shard::NetRef::parse(id)
                        .map_err(|r| MessageError::bad_request(r.message))?;
                    net_uids.push(config.net(&reference).map_err(refused)?.uid.clone());
                }
                let rule = match rules.iter().position(|r| &r.role_id == role) {
                    Some(i) => &mut rules[i],
                    None => {
                        rules.push(RoleRule {
                            role_id: role.clone(),
                            net_uids: Vec::new(),
                        });
                        rules.last_mut().expect("just pushed")
                    }
                };
                // A net named twice (by uid and id, or in two rules for one role) counts once.
                for uid in net_uids {
                    if !rule.net_uids.contains(&uid) {
                        rule.net_uids.push(uid);
                    }
                }
            }
            if config.rules != rules {
                config.rules = rules;
                effects.event("config.changed", json!({ "reason": "rules" }));
                effects.event("assignments.changed", json!({ "reason": "rules" }));
            }
            Ok(())
        },
        nothing,
    )
    .await?;
    Ok(ok(&rules_body(caller.guild_id(), &changed.config)))
}
