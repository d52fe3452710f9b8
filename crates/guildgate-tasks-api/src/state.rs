use std::sync::Arc;

use guildgate_core::clock::Clock;
use guildgate_core::crypto::{SecretHasher, SecretKey};
use guildgate_core::limiter::Limiter;
use guildgate_core::limits::Rate;
use guildgate_core::net::TrustedProxies;
use guildgate_core::tasks::TASK_ROUTES;
use guildgate_storage::{AuditSink, Store};

#[derive(Clone, Debug)]
pub struct TasksConfig {
    /// Rate-limit buckets shared by every instance (Redis); in process when unset.
    pub shared_limits: guildgate_core::limiter::SharedLimits,
    /// Per key, across all endpoints: 600 a minute.
    pub per_key: Rate,
    pub trusted_proxies: TrustedProxies,
    pub body_limit: usize,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            shared_limits: Default::default(),
            per_key: Rate::new(600, 600, 60),
            trusted_proxies: TrustedProxies::default(),
            // Room for the longest description the API takes (100,000 characters) however
            // a client escapes it: `\uXXXX` pairs make an astral character 12 bytes.
            body_limit: 2 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct TasksState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Limiter,
    pub hasher: SecretHasher,
    pub audit: AuditSink,
    pub config: TasksConfig,
    pub surface: guildgate_http::Surface,
}

impl TasksState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        key: &SecretKey,
        audit: AuditSink,
        config: TasksConfig,
    ) -> Self {
        let surface = guildgate_http::Surface {
            name: "tasks",
            audit: audit.clone(),
            clock: clock.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            routes: TASK_ROUTES
                .iter()
                .map(|r| (r.path, r.method, r.name))
                .collect(),
            unaudited: Vec::new(),
            wrong_method: guildgate_http::WrongMethod::RouteNotFound,
        };
        Self(Arc::new(Inner {
            surface,
            limiter: Limiter::with(clock.clone(), config.shared_limits.clone()),
            store,
            clock,
            hasher: key.secret_hasher(),
            audit,
            config,
        }))
    }
}

impl std::ops::Deref for TasksState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
