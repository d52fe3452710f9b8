//! Fixed scope vocabularies (the tasks surface's and the shard surface's): one macro
//! declares the names, and every set of them is a bit set that parses and prints the
//! comma-separated list the admin CLI and the database use.

/// `scope_table! { Variant => "name", ... }` declares `Scope` and `ScopeSet` in the caller.
macro_rules! scope_table {
    ($($variant:ident => $name:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Scope { $($variant),* }

        impl Scope {
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),*];
            pub const fn as_str(self) -> &'static str {
                match self { $(Scope::$variant => $name),* }
            }
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($name => Some(Scope::$variant),)* _ => None }
            }
        }

        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct ScopeSet(u64);

        impl ScopeSet {
            pub fn contains(self, scope: Scope) -> bool {
                self.0 & (1 << scope as u8) != 0
            }

            pub fn insert(&mut self, scope: Scope) {
                self.0 |= 1 << scope as u8;
            }

            pub fn names(self) -> Vec<&'static str> {
                Scope::ALL
                    .iter()
                    .filter(|s| self.contains(**s))
                    .map(|s| s.as_str())
                    .collect()
            }

            /// Parses `a:read,b:write`; an unknown scope is named in the error.
            pub fn parse_list(list: &str) -> Result<Self, String> {
                let mut set = Self::default();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let scope = Scope::parse(name).ok_or_else(|| {
                        let known: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                        format!("unknown scope '{name}'; known: {}", known.join(", "))
                    })?;
                    set.insert(scope);
                }
                Ok(set)
            }

            pub fn to_list(self) -> String {
                self.names().join(",")
            }
        }
    };
}

pub(crate) use scope_table;
