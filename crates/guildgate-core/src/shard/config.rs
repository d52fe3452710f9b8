//! The shard's configuration (what central would distribute to clients): nets, the stored
//! assignment map, role rules, feature toggles, the public net and the operation state.
//! Every change is a method here; the validation authority then checks the result.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};

pub const NET_NAME_MAX: usize = 32;

/// Feature toggles and their defaults. `publicNetEnabled` mirrors the public net's
/// visibility; `acarsEnabled` needs a premium shard.
pub const FEATURES: &[(&str, bool)] = &[
    ("globalPttEnabled", false),
    ("acarsEnabled", false),
    ("readyChecksEnabled", true),
    ("publicNetEnabled", false),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request itself is wrong (400).
    Invalid,
    /// It names a net, entry or user that does not exist (404).
    NotFound,
    /// It would break a limit or a uniqueness rule (409).
    Conflict,
    /// The shard's tier does not include it (403).
    NotInTier,
}

/// Why a change was refused; the message is what the caller reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
}

impl Refusal {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Invalid,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::NotFound,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Conflict,
            message: message.into(),
        }
    }

    pub fn not_in_tier(message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::NotInTier,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Net {
    /// The live slot, reused after the net is removed.
    pub id: u32,
    /// Persistent across archive and restore.
    pub uid: String,
    pub name: String,
    #[serde(default)]
    pub relay_target_uids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRule {
    pub role_id: String,
    pub net_uids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicNet {
    pub visible: bool,
    pub name: String,
    pub role_ids: Vec<String>,
}

impl Default for PublicNet {
    fn default() -> Self {
        Self {
            visible: false,
            name: "Public Net".to_owned(),
            role_ids: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ShardConfig {
    pub operation_open: bool,
    /// Only toggles that differ from their default are kept.
    pub features: BTreeMap<String, bool>,
    pub nets: Vec<Net>,
    /// userId -> the netUids the user is assigned to.
    pub assignments: BTreeMap<String, BTreeSet<String>>,
    pub rules: Vec<RoleRule>,
    pub public_net: PublicNet,
}

/// How a caller names a net: by its persistent uid or its live slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetRef {
    Uid(String),
    Slot(u32),
}

impl NetRef {
    /// A path segment or text field: `net_...` is a uid, digits a slot.
    pub fn parse(value: &str) -> Result<Self, Refusal> {
        let value = value.trim();
        if value == PUBLIC_NET_UID {
            // Refused wherever an owner names a net (an assignment, an archive entry, a
            // preset), so no real net can take the public net's uid.
            Err(public_net_refusal())
        } else if value.starts_with("net_") {
            Ok(Self::Uid(value.to_owned()))
        } else {
            value.parse::<u32>().map(Self::Slot).map_err(|_| {
                Refusal::invalid(format!(
                    "'{value}' is neither a netUid (net_...) nor a numeric netId"
                ))
            })
        }
    }
}

impl std::fmt::Display for NetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uid(uid) => f.write_str(uid),
            Self::Slot(id) => write!(f, "{id}"),
        }
    }
}

/// One assignment action: assign or unassign `user_id` on a net.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub user_id: String,
    pub net: NetRef,
    pub assign: bool,
}

/// What one assignment action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub net_id: u32,
    pub net_uid: String,
    pub changed: bool,
}

/// The `netUid` of the public net's virtual entry in `/status`: in the form of every other
/// netUid, so a client that checks or parses netUids can take it, and fixed, because the
/// public net is one per shard. No generated uid takes it (one chance in 2^120).
pub const PUBLIC_NET_UID: &str = "net_publicpublicpublicpublic";

/// The slot the public net's virtual entry shows (`id`); no real net takes it.
pub const PUBLIC_NET_SLOT: u32 = 0;

pub(crate) fn public_net_refusal() -> Refusal {
    Refusal::invalid(
        "The public net is virtual: it takes no assignments, rules or edits here; \
         show, hide or remove it through /api/v1/public-net",
    )
}

/// `net_` + 24 lowercase base32 characters.
pub fn new_net_uid() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| ALPHABET[rng.random_range(0..32)] as char)
        .collect();
    format!("net_{tail}")
}

pub fn is_net_uid(value: &str) -> bool {
    value.strip_prefix("net_").is_some_and(|tail| {
        tail.len() == 24
            && tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    })
}

impl ShardConfig {
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a shard config always serializes")
    }

    pub fn net(&self, reference: &NetRef) -> Result<&Net, Refusal> {
        if matches!(reference, NetRef::Uid(uid) if uid == PUBLIC_NET_UID)
            || matches!(reference, NetRef::Slot(PUBLIC_NET_SLOT))
        {
            return Err(public_net_refusal());
        }
        self.nets
            .iter()
            .find(|n| match reference {
                NetRef::Uid(uid) => &n.uid == uid,
                NetRef::Slot(id) => n.id == *id,
            })
            .ok_or_else(|| Refusal::not_found(format!("Net {reference} not found")))
    }

    pub fn net_by_uid(&self, uid: &str) -> Option<&Net> {
        self.nets.iter().find(|n| n.uid == uid)
    }

    /// Every toggle with its current value.
    pub fn feature_map(&self) -> BTreeMap<String, bool> {
        FEATURES
            .iter()
            .map(|(name, default)| {
                let value = if *name == "publicNetEnabled" {
                    self.public_net.visible
                } else {
                    self.features.get(*name).copied().unwrap_or(*default)
                };
                ((*name).to_owned(), value)
            })
            .collect()
    }

    pub fn feature(&self, name: &str) -> bool {
        self.feature_map().get(name).copied().unwrap_or(false)
    }

    /// Applies `{name: bool}` toggles; unknown names and non-booleans are refused whole.
    pub fn set_features(
        &mut self,
        changes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Refusal> {
        if changes.is_empty() {
            return Err(Refusal::invalid(
                "features must name at least one toggle, e.g. {\"features\":{\"globalPttEnabled\":true}}",
            ));
        }
        let known: Vec<&str> = FEATURES.iter().map(|(n, _)| *n).collect();
        let mut parsed = Vec::with_capacity(changes.len());
        for (name, value) in changes {
            if !known.contains(&name.as_str()) {
                return Err(Refusal::invalid(format!(
                    "Unknown feature '{name}'. Known features: {}",
                    known.join(", ")
                )));
            }
            let on = value.as_bool().ok_or_else(|| {
                Refusal::invalid(format!("Feature '{name}' must be true or false"))
            })?;
            parsed.push((name.clone(), on));
        }
        for (name, on) in parsed {
            if name == "publicNetEnabled" {
                self.public_net.visible = on;
                continue;
            }
            let default = FEATURES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d);
            if Some(on) == default {
                self.features.remove(&name);
            } else {
                self.features.insert(name, on);
            }
        }
        Ok(())
    }

    /// A new net in the lowest free slot.
    pub fn create_net(&mut self, name: &str, uid: Option<String>) -> Net {
        let used: BTreeSet<u32> = self.nets.iter().map(|n| n.id).collect();
        let id = (1..).find(|slot| !used.contains(slot)).unwrap_or(1);
        let net = Net {
            id,
            uid: uid.unwrap_or_else(new_net_uid),
            name: name.trim().to_owned(),
            relay_target_uids: Vec::new(),
        };
        self.nets.push(net.clone());
        self.nets.sort_by_key(|n| n.id);
        net
    }

    pub fn rename_net(&mut self, reference: &NetRef, name: &str) -> Result<Net, Refusal> {
        let uid = self.net(reference)?.uid.clone();
        let net = self
            .nets
            .iter_mut()
            .find(|n| n.uid == uid)
            .expect("found above");
        net.name = name.trim().to_owned();
        Ok(net.clone())
    }

    /// Removes the net with its relay targets, assignments and rule entries.
    pub fn remove_net(&mut self, reference: &NetRef) -> Result<Net, Refusal> {
        let removed = self.net(reference)?.clone();
        self.nets.retain(|n| n.uid != removed.uid);
        for net in &mut self.nets {
            net.relay_target_uids.retain(|uid| uid != &removed.uid);
        }
        for nets in self.assignments.values_mut() {
            nets.remove(&removed.uid);
        }
        self.assignments.retain(|_, nets| !nets.is_empty());
        for rule in &mut self.rules {
            rule.net_uids.retain(|uid| uid != &removed.uid);
        }
        self.rules.retain(|rule| !rule.net_uids.is_empty());
        Ok(removed)
    }

    /// Applies one action to the net named by uid or slot: the net's slot and uid, and
    /// whether the map changed.
    pub fn apply_assignment(&mut self, action: &Assignment) -> Result<Applied, Refusal> {
        let net = self.net(&action.net)?;
        let (id, uid) = (net.id, net.uid.clone());
        let changed = if action.assign {
            self.assignments
                .entry(action.user_id.clone())
                .or_default()
                .insert(uid.clone())
        } else {
            let removed = self
                .assignments
                .get_mut(&action.user_id)
                .is_some_and(|nets| nets.remove(&uid));
            self.assignments.retain(|_, nets| !nets.is_empty());
            removed
        };
        Ok(Applied {
            net_id: id,
            net_uid: uid,
            changed,
        })
    }

    /// `{userId: [netIds]}` as the client reads it.
    pub fn assignment_slots(&self) -> BTreeMap<String, Vec<u32>> {
        self.assignments
            .iter()
            .map(|(user, uids)| {
                let ids = uids
                    .iter()
                    .filter_map(|uid| self.net_by_uid(uid).map(|n| n.id))
                    .collect();
                (user.clone(), ids)
            })
            .collect()
    }

    /// The nets a user is on: stored assignments plus what the rules give their roles.
    pub fn effective_nets(&self, user_id: &str, role_ids: &[String]) -> BTreeSet<String> {
        let mut nets = self.assignments.get(user_id).cloned().unwrap_or_default();
        for rule in &self.rules {
            if role_ids.contains(&rule.role_id) {
                nets.extend(rule.net_uids.iter().cloned());
            }
        }
        nets.retain(|uid| self.net_by_uid(uid).is_some());
        nets
    }

    /// How many of `operators` (user id, role ids) are on each net, every net present.
    pub fn occupancy<'a>(
        &self,
        operators: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> =
            self.nets.iter().map(|net| (net.uid.clone(), 0)).collect();
        for (user_id, role_ids) in operators {
            for uid in self.effective_nets(user_id, role_ids) {
                *counts.entry(uid).or_default() += 1;
            }
        }
        counts
    }

    /// The nets among `uids` in slot order, as (netIds, netUids).
    pub fn ids_and_uids(&self, uids: &BTreeSet<String>) -> (Vec<u32>, Vec<&str>) {
        self.nets
            .iter()
            .filter(|net| uids.contains(&net.uid))
            .map(|net| (net.id, net.uid.as_str()))
            .unzip()
    }

    pub fn show_public_net(&mut self, name: Option<&str>, role_ids: Option<Vec<String>>) {
        self.public_net.visible = true;
        if let Some(name) = name {
            self.public_net.name = name.trim().to_owned();
        }
        if let Some(role_ids) = role_ids {
            self.public_net.role_ids = role_ids;
        }
    }

    pub fn hide_public_net(&mut self) {
        self.public_net.visible = false;
    }

    pub fn remove_public_net(&mut self) {
        self.public_net = PublicNet::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(user: &str, net: NetRef) -> Assignment {
        Assignment {
            user_id: user.into(),
            net,
            assign: true,
        }
    }

    #[test]
    fn slots_are_reused_and_uids_are_not() {
        let mut config = ShardConfig::default();
        let a = config.create_net("Alpha", None);
        let b = config.create_net("Bravo", None);
        assert_eq!((a.id, b.id), (1, 2));
        assert!(is_net_uid(&a.uid) && a.uid != b.uid);
        config.remove_net(&NetRef::Slot(1)).unwrap();
        let c = config.create_net("Charlie", None);
        assert_eq!(c.id, 1);
        assert_ne!(c.uid, a.uid);
    }

    #[test]
    fn removing_a_net_cleans_assignments_rules_and_relays() {
        let mut config = ShardConfig::default();
        let a = config.create_net("Alpha", None);
        let b = config.create_net("Bravo", None);
        config.nets[1].relay_target_uids.push(a.uid.clone());
        config
            .apply_assignment(&assign("1", NetRef::Uid(a.uid.clone())))
            .unwrap();
        config.rules.push(RoleRule {
            role_id: "9".into(),
            net_uids: vec![a.uid.clone()],
        });
        config.remove_net(&NetRef::Uid(a.uid.clone())).unwrap();
        assert!(config.assignments.is_empty());
        assert!(config.rules.is_empty());
        assert!(
            config
                .net_by_uid(&b.uid)
                .unwrap()
                .relay_target_uids
                .is_empty()
        );
    }

    #[test]
    fn effective_nets_join_assignments_and_role_rules() {
        let mut config = ShardConfig::default();
        let a = config.create_net("Alpha", None);
        let b = config.create_net("Bravo", None);
        config
            .apply_assignment(&assign("1", NetRef::Slot(1)))
            .unwrap();
        config.rules.push(RoleRule {
            role_id: "pilot".into(),
            net_uids: vec![b.uid.clone()],
        });
        let nets = config.effective_nets("1", &["pilot".into()]);
        assert_eq!(nets, BTreeSet::from([a.uid, b.uid.clone()]));
        assert_eq!(
            config.effective_nets("2", &["pilot".into()]),
            BTreeSet::from([b.uid])
        );
    }

    #[test]
    fn features_refuse_unknown_names_and_non_booleans_whole() {
        let mut config = ShardConfig::default();
        let bad: serde_json::Map<_, _> =
            serde_json::from_str(r#"{"globalPttEnabled":true,"warp":true}"#).unwrap();
        assert_eq!(
            config.set_features(&bad).unwrap_err().kind,
            RefusalKind::Invalid
        );
        assert!(!config.feature("globalPttEnabled"));
        let good: serde_json::Map<_, _> =
            serde_json::from_str(r#"{"globalPttEnabled":true,"publicNetEnabled":true}"#).unwrap();
        config.set_features(&good).unwrap();
        assert!(config.feature("globalPttEnabled") && config.public_net.visible);
    }

    #[test]
    fn unknown_nets_are_not_found() {
        let mut config = ShardConfig::default();
        let err = config
            .apply_assignment(&assign("1", NetRef::Slot(4)))
            .unwrap_err();
        assert_eq!(err.kind, RefusalKind::NotFound);
        assert_eq!(NetRef::parse("7").unwrap(), NetRef::Slot(7));
        assert!(NetRef::parse("seven").is_err());
    }
}
