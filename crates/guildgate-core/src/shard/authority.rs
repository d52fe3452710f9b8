//! The local validation authority: the rules every privileged write must pass before it
//! changes the shard's active state. A remote authority can stand in for it (the server
//! calls it through an interface); these are the rules it applies.

use std::collections::BTreeSet;

use super::config::{NET_NAME_MAX, Refusal, ShardConfig};
use super::{ShardTier, config::is_net_uid};

/// A change as the authority sees it: the state before and after.
pub struct ProposedChange<'a> {
    pub guild_id: &'a str,
    pub tier: ShardTier,
    pub before: &'a ShardConfig,
    pub after: &'a ShardConfig,
}

fn valid_name(what: &str, name: &str) -> Result<(), Refusal> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Refusal::invalid(format!("{what} must not be empty")));
    }
    if trimmed.chars().count() > NET_NAME_MAX {
        return Err(Refusal::invalid(format!(
            "{what} must be at most {NET_NAME_MAX} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Refusal::invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

pub fn validate_locally(change: &ProposedChange<'_>) -> Result<(), Refusal> {
    let after = change.after;
    let limit = change.tier.net_limit();
    if after.nets.len() > limit && after.nets.len() > change.before.nets.len() {
        return Err(Refusal::conflict(format!(
            "This shard already holds {} nets; a {} shard holds at most {limit}{}",
            change.before.nets.len(),
            change.tier.as_str(),
            if change.tier == ShardTier::Free {
                "; remove or archive a net first, or upgrade to premium for 20"
            } else {
                "; remove or archive a net first"
            }
        )));
    }
    let mut names = BTreeSet::new();
    let mut uids = BTreeSet::new();
    for net in &after.nets {
        valid_name("Net name", &net.name)?;
        if net.uid == super::config::PUBLIC_NET_UID {
            return Err(super::config::public_net_refusal());
        }
        if !is_net_uid(&net.uid) {
            return Err(Refusal::invalid(format!(
                "'{}' is not a netUid (net_ + 24 lowercase base32 characters)",
                net.uid
            )));
        }
        if !names.insert(net.name.trim().to_lowercase()) {
            return Err(Refusal::conflict(format!(
                "A net named '{}' already exists",
                net.name.trim()
            )));
        }
        uids.insert(net.uid.as_str());
    }
    for net in &after.nets {
        if let Some(unknown) = net
            .relay_target_uids
            .iter()
            .find(|u| !uids.contains(u.as_str()))
        {
            return Err(Refusal::not_found(format!(
                "Relay target {unknown} not found"
            )));
        }
    }
    for (user, nets) in &after.assignments {
        if let Some(unknown) = nets.iter().find(|u| !uids.contains(u.as_str())) {
            return Err(Refusal::not_found(format!(
                "Net {unknown} not found (assignment of user {user})"
            )));
        }
    }
    if after.rules.len() > 100 {
        return Err(Refusal::invalid("At most 100 role rules"));
    }
    for rule in &after.rules {
        if let Some(unknown) = rule.net_uids.iter().find(|u| !uids.contains(u.as_str())) {
            return Err(Refusal::not_found(format!(
                "Net {unknown} not found (rule for role {})",
                rule.role_id
            )));
        }
    }
    valid_name("Public net name", &after.public_net.name)?;
    if after.public_net.role_ids.len() > 50 {
        return Err(Refusal::invalid("At most 50 public net role gates"));
    }
    if change.tier == ShardTier::Free && after.feature("acarsEnabled") {
        return Err(Refusal::not_in_tier(
            "ACARS is available on premium shards only",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::config::RefusalKind;

    fn check(tier: ShardTier, before: &ShardConfig, after: &ShardConfig) -> Result<(), Refusal> {
        validate_locally(&ProposedChange {
            guild_id: "1",
            tier,
            before,
            after,
        })
    }

    #[test]
    fn the_eleventh_net_of_a_free_shard_is_refused() {
        let mut before = ShardConfig::default();
        for i in 0..10 {
            before.create_net(&format!("Net {i}"), None);
        }
        let mut after = before.clone();
        after.create_net("Net 10", None);
        let refused = check(ShardTier::Free, &before, &after).unwrap_err();
        assert_eq!(refused.kind, RefusalKind::Conflict);
        assert!(refused.message.contains("10 nets"), "{}", refused.message);
        assert!(check(ShardTier::Premium, &before, &after).is_ok());
    }

    #[test]
    fn names_are_unique_ignoring_case_and_bounded() {
        let mut before = ShardConfig::default();
        before.create_net("Command", None);
        let mut after = before.clone();
        after.create_net(" command ", None);
        assert_eq!(
            check(ShardTier::Free, &before, &after).unwrap_err().kind,
            RefusalKind::Conflict
        );
        let mut long = before.clone();
        long.create_net(&"x".repeat(NET_NAME_MAX + 1), None);
        assert_eq!(
            check(ShardTier::Free, &before, &long).unwrap_err().kind,
            RefusalKind::Invalid
        );
    }

    #[test]
    fn acars_is_premium_only() {
        let before = ShardConfig::default();
        let mut after = before.clone();
        after.features.insert("acarsEnabled".into(), true);
        assert_eq!(
            check(ShardTier::Free, &before, &after).unwrap_err().kind,
            RefusalKind::NotInTier
        );
        assert!(check(ShardTier::Premium, &before, &after).is_ok());
    }
}
