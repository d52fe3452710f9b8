//! What every guild handler shares.

use std::sync::Arc;

use guildgate_core::clock::Clock;
use guildgate_core::crypto::{Sealer, SecretHasher};
use guildgate_core::limiter::Limiter;
use guildgate_core::limits::LimitsConfig;
use guildgate_core::net::TrustedProxies;
use guildgate_storage::Store;

use crate::enforcer::Enforcer;
use crate::token_cache::TokenCache;
use guildgate_storage::AuditSink;

#[derive(Clone, Debug)]
pub struct GuildApiConfig {
    /// Rate-limit buckets shared by every instance (Redis); in process when unset.
    pub shared_limits: guildgate_core::limiter::SharedLimits,
    /// Where owners approve re-auth windows; `reauth_url` in RE_AUTH_REQUIRED points here.
    pub dashboard_base_url: String,
    pub trusted_proxies: TrustedProxies,
    pub limits: LimitsConfig,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long a looked-up token may be served from memory when the change that would
    /// invalidate it was made by another process (the admin CLI). Zero turns caching off.
    pub token_cache_ttl: std::time::Duration,
    /// Fault injection for tests: abort right after an upstream accepted an action, before
    /// guildgate records it (`GUILDGATE_FAULT_CRASH_AFTER_UPSTREAM=1`).
    pub crash_after_upstream: bool,
}

impl Default for GuildApiConfig {
    fn default() -> Self {
        Self {
            shared_limits: Default::default(),
            dashboard_base_url: "http://127.0.0.1:8080".to_owned(),
            trusted_proxies: TrustedProxies::default(),
            limits: LimitsConfig::default(),
            body_limit: 64 * 1024,
            token_cache_ttl: std::time::Duration::from_secs(1),
            crash_after_upstream: false,
        }
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Limiter,
    pub hasher: SecretHasher,
    pub sealer: Sealer,
    pub config: GuildApiConfig,
    pub audit: AuditSink,
    pub enforcer: Arc<dyn Enforcer>,
    pub tokens: TokenCache,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        key: &guildgate_core::crypto::SecretKey,
        config: GuildApiConfig,
        enforcer: Arc<dyn Enforcer>,
    ) -> Self {
        let audit = AuditSink::spawn(store.clone());
        Self(Arc::new(Inner {
            limiter: Limiter::with(clock.clone(), config.shared_limits.clone()),
            tokens: TokenCache::new(config.token_cache_ttl),
            store,
            clock,
            hasher: key.secret_hasher(),
            sealer: key.sealer(),
            config,
            audit,
            enforcer,
        }))
    }

    pub fn audit_sink(&self) -> &AuditSink {
        &self.0.audit
    }

    pub fn reauth_url(&self, guild_id: &str, token_id: &str) -> String {
        format!(
            "{}/dashboard/{guild_id}/settings/api-mcp?tab=reauth&token={token_id}#approve-window",
            self.0.config.dashboard_base_url.trim_end_matches('/')
        )
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
