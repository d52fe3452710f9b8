//! The operators' Prometheus endpoint (`GET /metrics` on `metrics_listen`, apart from the
//! public listener): requests by surface, route, method and status class with latency
//! histograms, rate-limit decisions by bucket, the webhook backlog, and whether the
//! database and Redis answer. Separate from the shard's per-guild metrics, which owners
//! read with their keys.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use guildgate_core::limiter::Limiter;
use guildgate_storage::redis_limits::RedisBuckets;
use guildgate_storage::{AuditSink, Store};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

mod request_timings;

use request_timings::RequestTimings;
pub use request_timings::TrackLayer;

type Labels = Vec<(&'static str, String)>;

/// One limiter's figures so far.
pub struct LimiterCounts {
    /// (bucket name, allowed, count).
    pub decisions: Vec<(&'static str, bool, u64)>,
    /// Calls decided while Redis was unreachable: (reads let through, writes refused).
    pub unreachable: (u64, u64),
}

/// Reads one limiter's figures.
pub type DecisionCounts = Arc<dyn Fn() -> LimiterCounts + Send + Sync>;

/// The same buckets as the request timings: 0.25 ms doubling to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(
        request_timings::FIRST_BOUND_NANOS as f64 / 1e9,
        2.0,
        request_timings::BOUNDS as u16,
    ))
}

/// What the endpoint reads at each scrape, besides the request histograms it keeps.
pub struct Sources {
    pub store: Arc<dyn Store>,
    pub redis: Option<Arc<RedisBuckets>>,
    /// (surface, its limiter).
    pub limiters: Vec<(&'static str, DecisionCounts)>,
    /// The batched audit rows of reads and refusals.
    pub audit: AuditSink,
    /// The guild token cache's (hits, misses) so far.
    pub token_cache: Arc<dyn Fn() -> (u64, u64) + Send + Sync>,
}

pub struct OpsMetrics {
    requests: Arc<RequestTimings>,
    audit_commits: Histogram,
    started: Instant,
    sources: Sources,
}

impl OpsMetrics {
    pub fn new(sources: Sources) -> Self {
        let audit_commits = latency_histogram();
        let observed = audit_commits.clone();
        sources
            .audit
            .observe_commits(Box::new(move |took| observed.observe(took.as_secs_f64())));
        Self {
            requests: Arc::new(RequestTimings::new(surface_of)),
            audit_commits,
            started: Instant::now(),
            sources,
        }
    }

    /// The layer that times every call of the routes it wraps.
    pub fn track_layer(&self) -> TrackLayer {
        TrackLayer(self.requests.clone())
    }

    /// The limiter counts of one surface's state, for `Sources::limiters`.
    pub fn limiter_of<S: Send + Sync + 'static>(
        state: S,
        limiter: fn(&S) -> &Limiter,
    ) -> DecisionCounts {
        Arc::new(move || {
            let limiter = limiter(&state);
            LimiterCounts {
                decisions: limiter.decisions(),
                unreachable: limiter.unreachable_decisions(),
            }
        })
    }
}

/// Which surface a route belongs to, for the `surface` label.
fn surface_of(route: &str) -> &'static str {
    if route.starts_with("/api/public/v1") {
        "guild"
    } else if route.starts_with("/dashboard") || route.starts_with("/api/security") {
        "dashboard"
    } else if route.starts_with("/mcp") || route.starts_with("/oauth") {
        "mcp"
    } else if route == "/ws" || route.starts_with("/api/v1/") && is_shard(route) {
        "shard"
    } else if route.starts_with("/api/v1") {
        "tasks"
    } else {
        "server"
    }
}

fn is_shard(route: &str) -> bool {
    guildgate_core::shard::SHARD_ROUTES
        .iter()
        .any(|r| r.path == route)
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge: Gauge = Gauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

pub async fn scrape(State(metrics): State<Arc<OpsMetrics>>, headers: HeaderMap) -> Response {
    let mut registry = Registry::with_labels(std::iter::once((
        Cow::Borrowed("app"),
        Cow::Borrowed("guildgate"),
    )));
    registry.register_collector(Box::new(metrics.requests.clone()));
    let decisions = Family::<Labels, Counter>::default();
    let unreachable = Family::<Labels, Counter>::default();
    for (surface, read) in &metrics.sources.limiters {
        let counts = read();
        let (reads, writes) = counts.unreachable;
        for (access, count) in [("read", reads), ("write", writes)] {
            unreachable
                .get_or_create(&vec![
                    ("surface", (*surface).to_owned()),
                    ("access", access.to_owned()),
                ])
                .inc_by(count);
        }
        for (bucket, allowed, count) in counts.decisions {
            let outcome = if allowed { "allowed" } else { "refused" };
            decisions
                .get_or_create(&vec![
                    ("surface", (*surface).to_owned()),
                    ("bucket", bucket.to_owned()),
                    ("outcome", outcome.to_owned()),
                ])
                .inc_by(count);
        }
    }
    registry.register(
        "guildgate_rate_limit_decisions",
        "Rate-limit decisions by surface, bucket (its tier) and outcome",
        decisions,
    );
    registry.register(
        "guildgate_rate_limit_decided_without_store",
        "Calls decided while Redis was unreachable: reads let through, writes refused (503)",
        unreachable,
    );
    let sources = &metrics.sources;
    registry.register(
        "guildgate_audit_commit_duration_seconds",
        "Time to commit one batch of audit rows (reads and refusals; a change's own row \
         commits with the change)",
        metrics.audit_commits.clone(),
    );
    gauge(
        &mut registry,
        "guildgate_audit_queue_depth",
        "Audit rows of reads and refusals handed over and not yet written (queued, or in \
         a batch being written or retried)",
        i64::try_from(sources.audit.queue_depth()).unwrap_or(i64::MAX),
    );
    let dropped: Counter = Counter::default();
    dropped.inc_by(sources.audit.rows_dropped());
    registry.register(
        "guildgate_audit_rows_dropped",
        "Audit rows given up on after the database refused them five times (not counting \
         time it was unreachable, which is waited out)",
        dropped,
    );
    let rows: Counter = Counter::default();
    rows.inc_by(sources.audit.rows_written());
    registry.register(
        "guildgate_audit_rows_written",
        "Batched audit rows committed",
        rows,
    );
    let (hits, misses) = (sources.token_cache)();
    let lookups = Family::<Labels, Counter>::default();
    lookups
        .get_or_create(&vec![("result", "hit".to_owned())])
        .inc_by(hits);
    lookups
        .get_or_create(&vec![("result", "miss".to_owned())])
        .inc_by(misses);
    registry.register(
        "guildgate_token_cache_lookups",
        "Guild token lookups answered from memory (hit) or from the database (miss)",
        lookups,
    );
    let database_up = sources.store.ping().await.is_ok();
    gauge(
        &mut registry,
        "guildgate_database_up",
        "1 while the database answers",
        i64::from(database_up),
    );
    if let Some(redis) = &sources.redis {
        gauge(
            &mut registry,
            "guildgate_redis_up",
            "1 while Redis (the shared rate limits) answers",
            i64::from(redis.ping().await.is_ok()),
        );
    }
    if let Ok(backlog) = sources.store.pending_delivery_count().await {
        gauge(
            &mut registry,
            "guildgate_webhook_backlog",
            "Shard webhook deliveries waiting to be sent or retried",
            backlog,
        );
    }
    if let Ok(pending) = sources.store.pending_intent_count().await {
        gauge(
            &mut registry,
            "guildgate_upstream_outbox_backlog",
            "Discord or RCON actions recorded and not yet settled (in flight, or left by a \
             crash for reconciliation)",
            pending,
        );
    }
    gauge(
        &mut registry,
        "guildgate_uptime_seconds",
        "Seconds since this process started",
        i64::try_from(metrics.started.elapsed().as_secs()).unwrap_or(i64::MAX),
    );
    let mut text = String::new();
    if encode(&mut text, &registry).is_err() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    guildgate_http::metrics_response(headers.get(header::ACCEPT), text)
}
