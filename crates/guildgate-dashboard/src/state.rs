//! What the dashboard's handlers share.

use std::sync::Arc;

use guildgate_core::clock::Clock;
use guildgate_core::crypto::SecretHasher;
use guildgate_core::limiter::Limiter;
use guildgate_core::limits::Rate;
use guildgate_core::net::TrustedProxies;
use guildgate_owner::Owner;
use guildgate_storage::{AuditSink, Store};

#[derive(Clone, Debug)]
pub struct DashboardConfig {
    /// Rate-limit buckets shared by every instance (Redis); in process when unset.
    pub shared_limits: guildgate_core::limiter::SharedLimits,
    /// Set the cookie's `Secure` flag: the server is reached over TLS (its public base URL
    /// is https).
    pub secure_cookies: bool,
    pub trusted_proxies: TrustedProxies,
    /// Failed sign-ins per account: 5 per 15 minutes.
    pub login_per_account: Rate,
    /// Failed sign-ins per client IP: 20 per 15 minutes.
    pub login_per_ip: Rate,
    /// Token creation per user, as the rate-limit doc gives `POST /api-tokens`: 20 an hour.
    pub mint_per_user: Rate,
    /// Leak reports per client IP: 10 a minute.
    pub leak_reports_per_ip: Rate,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            shared_limits: Default::default(),
            secure_cookies: false,
            trusted_proxies: TrustedProxies(Vec::new()),
            login_per_account: Rate::new(5, 5, 900),
            login_per_ip: Rate::new(20, 20, 900),
            mint_per_user: Rate::new(20, 20, 3600),
            leak_reports_per_ip: Rate::new(10, 10, 60),
        }
    }
}

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub hasher: SecretHasher,
    pub clock: Arc<dyn Clock>,
    pub limiter: Limiter,
    pub config: DashboardConfig,
    /// The API surfaces' batched audit writer, flushed before the audit log is shown so
    /// the owner sees the calls made a moment ago.
    pub audit: AuditSink,
}

#[derive(Clone)]
pub struct DashboardState(pub Arc<Inner>);

impl DashboardState {
    /// `audit` is the API surfaces' batched audit writer, flushed before the log is shown.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: SecretHasher,
        clock: Arc<dyn Clock>,
        config: DashboardConfig,
        audit: AuditSink,
    ) -> Self {
        Self(Arc::new(Inner {
            limiter: Limiter::with(clock.clone(), config.shared_limits.clone()),
            store,
            hasher,
            clock,
            config,
            audit,
        }))
    }

    pub fn owner(&self) -> Owner<'_> {
        Owner {
            store: self.0.store.as_ref(),
            hasher: &self.0.hasher,
        }
    }

    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }
}

impl std::ops::Deref for DashboardState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
