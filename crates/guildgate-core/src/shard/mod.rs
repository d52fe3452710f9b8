//! The comms shard Owner API's rules: `scok_` keys and their scopes, the route table every
//! other part reads (router, scope check, rate-limit tier, OpenAPI), the shard's
//! configuration and the one validation every privileged write passes.

mod authority;
mod client_message;
mod config;
mod events;
mod routes;
pub mod signing;

pub use authority::{ProposedChange, validate_locally};
pub use client_message::{ClientMessage, ClientMessageError, ReadyAnswer, TRANSPORT_MAX};
pub use config::{
    Applied, Assignment, FEATURES, NET_NAME_MAX, Net, NetRef, PUBLIC_NET_SLOT, PUBLIC_NET_UID,
    PublicNet, Refusal, RefusalKind, RoleRule, ShardConfig, is_net_uid, new_net_uid,
};
pub use events::{EVENT_TYPES, ShardEvent, is_event_type};
pub use routes::{
    ARCHIVE_LIMIT, AUDIT_LIMIT, METRICS_SINCE_MINUTES, NumberParam, PUBLIC_TOKEN_DAYS, QueryParam,
    RouteTier, SHARD_ROUTES, ShardRoute,
};

use crate::token::{Encoding, TokenFormat};

/// The shard document kind that holds a user's client-token revocation: every token
/// issued to the user up to `revokedUpTo` is refused.
pub const CLIENT_REVOCATION: &str = "client-revocation";

/// `scok_` + 48 base64url characters (36 bytes: 32 random + CRC32).
pub const SHARD_KEY: TokenFormat = TokenFormat {
    prefix: "scok_",
    encoding: Encoding::Base64Url,
    bytes: 36,
    checksum_bytes: 4,
};

crate::scopes::scope_table! {
    ReadStatus => "read:status",
    ReadRoster => "read:roster",
    ReadRosterRoles => "read:roster:roles",
    ReadAssignments => "read:assignments",
    ReadEvents => "read:events",
    ReadMetrics => "read:metrics",
    ReadAudit => "read:audit",
    WriteAssignments => "write:assignments",
    WriteNets => "write:nets",
    WriteArchive => "write:archive",
    WriteOperation => "write:operation",
    ManageFeatures => "manage:features",
    WriteRules => "write:rules",
    WritePresets => "write:presets",
    WriteAcars => "write:acars",
    WriteClients => "write:clients",
    ReadReadyChecks => "read:ready-checks",
    WriteReadyChecks => "write:ready-checks",
    ReadUri => "read:uri",
    WriteUri => "write:uri",
}

/// Free shards hold 10 nets and have no ACARS; premium shards hold 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardTier {
    Free,
    Premium,
}

impl ShardTier {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "free" => Some(Self::Free),
            "premium" => Some(Self::Premium),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Premium => "premium",
        }
    }

    pub fn net_limit(self) -> usize {
        match self {
            Self::Free => 10,
            Self::Premium => 20,
        }
    }
}

/// An owner key as stored (never its secret).
#[derive(Clone, Debug, PartialEq)]
pub struct ShardKey {
    pub id: String,
    pub guild_id: String,
    pub name: String,
    pub scopes: ScopeSet,
    pub created_at: crate::clock::Millis,
    pub last_used_at: Option<crate::clock::Millis>,
    pub revoked_at: Option<crate::clock::Millis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scok_with_a_checksum() {
        let key = SHARD_KEY.generate();
        assert!(key.expose().starts_with("scok_"));
        assert_eq!(key.expose().len(), 5 + 48);
        assert!(SHARD_KEY.parse(key.expose()).is_ok());
    }

    #[test]
    fn every_scope_of_the_doc_parses() {
        let all = "read:status,read:roster,read:roster:roles,read:assignments,read:events,read:metrics,read:audit,write:assignments,write:nets,write:archive,write:operation,manage:features,write:rules,write:presets,write:acars,write:clients";
        let set = ScopeSet::parse_list(all).unwrap();
        assert_eq!(set.to_list(), all);
        assert!(ScopeSet::parse_list("write:everything").is_err());
    }
}
