use std::sync::Arc;

use guildgate_core::clock::{Clock, Millis};
use guildgate_core::crypto::{Sealer, SecretHasher, SecretKey};
use guildgate_core::limiter::Limiter;
use guildgate_core::limits::Rate;
use guildgate_core::net::TrustedProxies;
use guildgate_core::shard::signing::{ClientTokens, PublicTokens};
use guildgate_core::shard::{RouteTier, SHARD_ROUTES};
use guildgate_storage::{AuditSink, Store};

use crate::authority::{LocalAuthority, ValidationAuthority};
use crate::hub::Hub;
use crate::ready::ReadyChecks;
use crate::webhooks::WebhookSettings;

#[derive(Clone, Debug)]
pub struct ShardSettings {
    /// Rate-limit buckets shared by every instance (Redis); in process when unset.
    pub shared_limits: guildgate_core::limiter::SharedLimits,
    /// Per key, across all endpoints: 600 a minute.
    pub per_key: Rate,
    /// ACARS broadcasts per shard: 2 at once, 6 a minute.
    pub acars: Rate,
    /// Embed calls (no key) per client address: 120 a minute.
    pub public_per_ip: Rate,
    pub trusted_proxies: TrustedProxies,
    pub body_limit: usize,
    /// SSE keep-alive comment interval.
    pub keep_alive_secs: u64,
    pub webhooks: WebhookSettings,
    /// How often the temporary-assignment sweeper looks (milliseconds).
    pub sweep_every_ms: u64,
    /// How often connected guilds' occupancy is sampled for `/metrics` (milliseconds).
    pub sample_every_ms: u64,
    /// The server's public URL: the shard's `publicUrl` and the embed links.
    pub public_base_url: String,
}

impl Default for ShardSettings {
    fn default() -> Self {
        Self {
            shared_limits: Default::default(),
            per_key: Rate::new(600, 600, 60),
            acars: Rate::new(2, 6, 60),
            public_per_ip: Rate::new(120, 120, 60),
            trusted_proxies: TrustedProxies::default(),
            body_limit: 256 * 1024,
            keep_alive_secs: 15,
            webhooks: WebhookSettings::default(),
            sweep_every_ms: 1_000,
            sample_every_ms: 60_000,
            public_base_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct ShardState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Limiter,
    pub hasher: SecretHasher,
    pub sealer: Sealer,
    pub public_tokens: PublicTokens,
    pub client_tokens: ClientTokens,
    pub audit: AuditSink,
    pub settings: ShardSettings,
    pub surface: guildgate_http::Surface,
    pub hub: Hub,
    pub ready_checks: ReadyChecks,
    pub authority: Arc<dyn ValidationAuthority>,
    pub started_at: Millis,
}

impl ShardState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        key: &SecretKey,
        audit: AuditSink,
        settings: ShardSettings,
    ) -> Self {
        Self::with_authority(store, clock, key, audit, settings, Arc::new(LocalAuthority))
    }

    /// With another validation authority than the in-process one.
    pub fn with_authority(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        key: &SecretKey,
        audit: AuditSink,
        settings: ShardSettings,
        authority: Arc<dyn ValidationAuthority>,
    ) -> Self {
        let surface = guildgate_http::Surface {
            name: "shard",
            audit: audit.clone(),
            clock: clock.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            routes: SHARD_ROUTES
                .iter()
                .map(|r| (r.path, r.method, r.name))
                .collect(),
            unaudited: SHARD_ROUTES
                .iter()
                .filter(|r| r.tier == RouteTier::Open)
                .map(|r| r.name)
                .collect(),
            wrong_method: guildgate_http::WrongMethod::NotAllowed,
        };
        Self(Arc::new(Inner {
            started_at: clock.now(),
            limiter: Limiter::with(clock.clone(), settings.shared_limits.clone()),
            store,
            clock,
            hasher: key.secret_hasher(),
            sealer: key.sealer(),
            public_tokens: PublicTokens::new(key.public_token_key()),
            client_tokens: ClientTokens::new(key.client_token_key()),
            audit,
            settings,
            surface,
            hub: Hub::default(),
            ready_checks: ReadyChecks::default(),
            authority,
        }))
    }
}

impl std::ops::Deref for ShardState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
