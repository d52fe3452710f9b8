//! `guildgate serve`.

use std::sync::Arc;

use guildgate_core::clock::SystemClock;
use guildgate_core::net::TrustedProxies;
use guildgate_guild_api::{AppState, Enforcer, GuildApiConfig};
use guildgate_storage::Store;
use guildgate_tasks_api::{TasksConfig, TasksState};

use crate::config::Config;
use crate::ops_metrics::{self, OpsMetrics, Sources};

pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let key = config.secret_key()?;
    let store = guildgate_storage::open(&config.database_url, config.durability()?).await?;
    let redis = match &config.redis_url {
        Some(url) => Some(Arc::new(
            guildgate_storage::redis_limits::RedisBuckets::open(&url.0)?,
        )),
        None => None,
    };
    let shared_limits = guildgate_core::limiter::SharedLimits(
        redis
            .clone()
            .map(|r| r as Arc<dyn guildgate_core::limiter::SharedBuckets>),
    );
    let api_config = GuildApiConfig {
        shared_limits: shared_limits.clone(),
        dashboard_base_url: config.public_base_url(),
        trusted_proxies: TrustedProxies(config.trusted_proxies.clone()),
        limits: config.limits.clone(),
        crash_after_upstream: std::env::var("GUILDGATE_FAULT_CRASH_AFTER_UPSTREAM")
            .is_ok_and(|v| v == "1"),
        ..GuildApiConfig::default()
    };
    let discord =
        config
            .discord_bot_token
            .as_ref()
            .map(|token| guildgate_upstream::DiscordConfig {
                base_url: config
                    .discord_api_base_url
                    .clone()
                    .unwrap_or_else(|| guildgate_upstream::discord::DEFAULT_BASE_URL.to_owned()),
                bot_token: guildgate_upstream::BotToken::new(token.0.clone()),
            });
    let enforcer = Arc::new(guildgate_upstream::Upstream::new(discord)?);
    if enforcer.mode() == "discord" {
        tracing::info!(
            "Discord actions go to Discord; RCON commands run on the registered game servers"
        );
    } else {
        tracing::info!(
            "Discord actions run in record-only mode (no discord_bot_token): bans, mutes and purges are kept in guildgate's database and not pushed to Discord; RCON commands run on the registered game servers"
        );
    }
    let state = AppState::new(
        store.clone(),
        Arc::new(SystemClock),
        &key,
        api_config,
        enforcer,
    );
    tokio::spawn(expire_idempotency_keys(store.clone()));
    // Actions a crash left between the upstream and guildgate's record are settled now.
    let started_at = guildgate_core::clock::Clock::now(&SystemClock);
    tokio::spawn(sweep_expired_bans(state.clone()));
    let reconciling = state.clone();
    let shared = store.shared_by_instances();
    tokio::spawn(async move {
        let mut since = started_at;
        loop {
            if let Ok(settled @ 1..) = guildgate_guild_api::reconcile(&reconciling, since).await {
                tracing::warn!(
                    settled,
                    "reconciled upstream actions interrupted by a crash"
                );
            }
            // One instance alone settles its own crashes at start. Sharing a database,
            // an instance that crashed may not come back: the others look every minute.
            if !shared {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            since = guildgate_core::clock::Clock::now(&SystemClock);
        }
    });
    let tasks = TasksState::new(
        store.clone(),
        Arc::new(SystemClock),
        &key,
        state.audit_sink().clone(),
        TasksConfig {
            shared_limits: shared_limits.clone(),
            trusted_proxies: TrustedProxies(config.trusted_proxies.clone()),
            ..TasksConfig::default()
        },
    );
    let dashboard = guildgate_dashboard::DashboardState::new(
        store.clone(),
        key.secret_hasher(),
        Arc::new(SystemClock),
        guildgate_dashboard::DashboardConfig {
            shared_limits: shared_limits.clone(),
            secure_cookies: config.public_base_url().starts_with("https://"),
            trusted_proxies: TrustedProxies(config.trusted_proxies.clone()),
            ..guildgate_dashboard::DashboardConfig::default()
        },
        state.audit_sink().clone(),
    );
    tokio::spawn(sweep_owner_records(store.clone()));
    let shard = guildgate_shard_api::ShardState::new(
        store.clone(),
        Arc::new(SystemClock),
        &key,
        state.audit_sink().clone(),
        guildgate_shard_api::ShardSettings {
            shared_limits: shared_limits.clone(),
            trusted_proxies: TrustedProxies(config.trusted_proxies.clone()),
            public_base_url: config.public_base_url(),
            webhooks: guildgate_shard_api::WebhookSettings {
                allow_private_targets: config.webhook_allow_private_targets,
                ..guildgate_shard_api::WebhookSettings::default()
            },
            ..guildgate_shard_api::ShardSettings::default()
        },
    );
    tokio::spawn(guildgate_shard_api::run_workers(shard.clone()));
    let cache_of = state.clone();
    let ops = Arc::new(OpsMetrics::new(Sources {
        store: store.clone(),
        redis: redis.clone(),
        audit: state.audit_sink().clone(),
        token_cache: Arc::new(move || cache_of.tokens.hits_and_misses()),
        limiters: vec![
            (
                "guild",
                OpsMetrics::limiter_of(state.clone(), |s: &AppState| &s.limiter),
            ),
            (
                "tasks",
                OpsMetrics::limiter_of(tasks.clone(), |s: &TasksState| &s.limiter),
            ),
            (
                "shard",
                OpsMetrics::limiter_of(shard.clone(), |s: &guildgate_shard_api::ShardState| {
                    &s.limiter
                }),
            ),
            (
                "dashboard",
                OpsMetrics::limiter_of(
                    dashboard.clone(),
                    |s: &guildgate_dashboard::DashboardState| &s.limiter,
                ),
            ),
        ],
    }));
    if let Some(address) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(address).await?;
        tracing::info!(address = %listener.local_addr()?, "operators' metrics at /metrics");
        let metrics_app = axum::Router::new()
            .route("/metrics", axum::routing::get(ops_metrics::scrape))
            .with_state(ops.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, metrics_app).await {
                tracing::error!(%err, "the metrics listener stopped");
            }
        });
    }
    let app = guildgate_guild_api::router(state.clone())
        .merge(guildgate_tasks_api::router(tasks))
        .merge(guildgate_shard_api::router(shard))
        .merge(guildgate_dashboard::router(dashboard.clone()))
        .route(
            "/openapi.json",
            axum::routing::get(|| async { axum::Json(crate::openapi::document()) }),
        )
        .route(
            "/ready",
            axum::routing::get(ready).with_state((store.clone(), redis.clone())),
        )
        .fallback(not_found)
        .layer(ops.track_layer());
    let app = guildgate_dashboard::with_session_calls(app, dashboard);
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(address = %listener.local_addr()?, database = %redact_url(&config.database_url), "guildgate listening");
    crate::listener::serve(
        listener,
        app,
        std::time::Duration::from_secs(config.client_timeout_secs),
        shutdown_signal(),
    )
    .await?;
    state.audit_sink().flush().await;
    store.close().await;
    tracing::info!("guildgate stopped");
    Ok(())
}

/// Readiness for a load balancer: 200 while the database (and Redis, when configured)
/// answers, 503 with the reason while one does not. `/health` says only that the process
/// is up.
/// What `/ready` checks: the database, and Redis when one is configured.
type Dependencies = (
    Arc<dyn Store>,
    Option<Arc<guildgate_storage::redis_limits::RedisBuckets>>,
);

async fn ready(
    axum::extract::State((store, redis)): axum::extract::State<Dependencies>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let within = std::time::Duration::from_secs(2);
    let database = match tokio::time::timeout(within, store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer within 2 s".to_owned()),
    };
    let redis_state = match &redis {
        None => None,
        Some(redis) => Some(match tokio::time::timeout(within, redis.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("no answer within 2 s".to_owned()),
        }),
    };
    let ready = database.is_ok() && redis_state.as_ref().is_none_or(Result::is_ok);
    let word = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(why) => why.clone(),
    };
    let mut body = serde_json::json!({ "ready": ready, "database": word(&database) });
    if let Some(r) = &redis_state {
        body["redis"] = serde_json::json!(word(r));
    }
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// An unknown path answers in the shape of the surface its prefix belongs to.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/v1/") || uri.path() == "/api/v1" {
        guildgate_tasks_api::not_found().await
    } else {
        guildgate_guild_api::not_found().await
    }
}

/// Once a minute, timed bans whose time is up are lifted on Discord and marked lifted.
async fn sweep_expired_bans(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let lifted = guildgate_guild_api::lift_expired_bans(&state).await;
        if lifted > 0 {
            tracing::info!(lifted, "lifted timed bans whose time was up");
        }
    }
}

/// Once a minute: rotated tokens whose grace period is over are revoked, and expired
/// dashboard sessions are deleted.
async fn sweep_owner_records(store: Arc<dyn Store>) {
    use guildgate_core::clock::Clock;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = SystemClock.now();
        match guildgate_owner::sweep_rotated_tokens(store.as_ref(), now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                tokens = n,
                "revoked rotated tokens whose grace period ended"
            ),
            Err(err) => tracing::warn!(%err, "could not revoke rotated tokens"),
        }
        if let Err(err) = guildgate_owner::sweep_expired_sessions(store.as_ref(), now).await {
            tracing::warn!(%err, "could not delete expired sessions");
        }
    }
}

/// Saved idempotent responses are kept 24 hours, then dropped once an hour.
async fn expire_idempotency_keys(store: Arc<dyn Store>) {
    use guildgate_core::clock::{Clock, DAY, HOUR};
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(HOUR as u64));
    loop {
        tick.tick().await;
        match store.expire_idempotency(SystemClock.now() - DAY).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "expired idempotency keys older than 24 hours"),
            Err(err) => tracing::warn!(%err, "could not expire idempotency keys"),
        }
    }
}

/// A database URL without its password, for the log.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://<redacted>@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(
            super::redact_url("postgres://u:pw@h/db"),
            "postgres://<redacted>@h/db"
        );
        assert_eq!(
            super::redact_url("sqlite://./data/g.db"),
            "sqlite://./data/g.db"
        );
    }
}
