//! Capabilities as a small bit set: a token's snapshot, an issuer's current set, and the
//! intersection of the two that a call is checked against.

use std::fmt;

use crate::error::ApiError;

macro_rules! capabilities {
    ($($variant:ident => $name:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Capability { $($variant),* }

        impl Capability {
            pub const ALL: &'static [Capability] = &[$(Capability::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $(Capability::$variant => $name),* }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value { $($name => Some(Capability::$variant),)* _ => None }
            }
        }
    };
}

capabilities! {
    StrikesRead => "strikes.read",
    StrikesWrite => "strikes.write",
    TicketsRead => "tickets.read",
    TicketsWrite => "tickets.write",
    BansRead => "bans.read",
    BansWrite => "bans.write",
    MutesRead => "mutes.read",
    MutesWrite => "mutes.write",
    MessagesPurge => "messages.purge",
    ServersRead => "servers.read",
    RconRun => "rcon.run",
    AuditRead => "audit.read",
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapabilitySet(u32);

impl CapabilitySet {
    pub const EMPTY: Self = Self(0);

    pub fn all() -> Self {
        Capability::ALL.iter().copied().collect()
    }

    pub fn contains(self, cap: Capability) -> bool {
        self.0 & (1 << cap as u8) != 0
    }

    pub fn insert(&mut self, cap: Capability) {
        self.0 |= 1 << cap as u8;
    }

    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    /// The members of `self` that `other` lacks.
    pub fn minus(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Capability::as_str).collect()
    }

    /// Parses a comma-separated list (`strikes.read,strikes.write`); blanks are ignored and
    /// an unknown name is an error that lists the known ones.
    pub fn parse_list(field: &str, list: &str) -> Result<Self, ApiError> {
        let mut set = Self::EMPTY;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let cap = Capability::parse(name).ok_or_else(|| {
                ApiError::validation(
                    field,
                    format!(
                        "unknown capability '{name}'; known: {}",
                        Self::all().names().join(", ")
                    ),
                )
            })?;
            set.insert(cap);
        }
        Ok(set)
    }

    /// The stored form: names joined by commas, in table order.
    pub fn to_list(self) -> String {
        self.names().join(",")
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_rejects_unknown_names() {
        let set = CapabilitySet::parse_list("capabilities", "strikes.read, bans.write,").unwrap();
        assert_eq!(set.names(), ["strikes.read", "bans.write"]);
        assert_eq!(set.to_list(), "strikes.read,bans.write");
        let err = CapabilitySet::parse_list("capabilities", "strikes.nuke").unwrap_err();
        assert!(err.message.contains("strikes.nuke"));
    }

    #[test]
    fn set_algebra() {
        let a = CapabilitySet::parse_list("c", "strikes.read,strikes.write").unwrap();
        let b = CapabilitySet::parse_list("c", "strikes.read").unwrap();
        assert!(b.is_subset_of(a) && !a.is_subset_of(b));
        assert_eq!(a.intersect(b), b);
        assert_eq!(a.minus(b).names(), ["strikes.write"]);
    }
}
