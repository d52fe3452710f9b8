//! The operators' Prometheus endpoint (`GET /metrics` on `metrics_listen`, apart from the
//! public listener): requests by surface, route, method and status class with latency
//! histograms, rate-limit decisions by bucket, the webhook backlog, and whether the
//! database and Redis answer. Separate from the shard's per-guild metrics, which owners
//! read with their keys.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
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

type Labels = Vec<(&'static str, String)>;
/// surface, route, method, status class: all interned, so timing a call allocates nothing.
type RequestLabels = [(&'static str, &'static str); 4];

/// One limiter's figures so far.
pub struct LimiterCounts {
    /// (bucket name, allowed, count).
    pub decisions: Vec<(&'static str, bool, u64)>,
    /// Calls decided while Redis was unreachable: (reads let through, writes refused).
    pub unreachable: (u64, u64),
}

/// Reads one limiter's figures.
pub type DecisionCounts = Arc<dyn Fn() -> LimiterCounts + Send + Sync>;

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
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
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Each matched route's text (kept for the process's life: the routes are a fixed set,
    /// so this stays as small as the router) and its surface.
    routes: std::sync::RwLock<std::collections::HashMap<&'static str, &'static str>>,
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
            requests: Family::new_with_constructor(latency_histogram),
            routes: Default::default(),
            audit_commits,
            started: Instant::now(),
            sources,
        }
    }

    /// The route's interned text and its surface.
    fn route(&self, matched: Option<&MatchedPath>) -> (&'static str, &'static str) {
        let Some(route) = matched.map(MatchedPath::as_str) else {
            return ("unmatched", "server");
        };
        if let Some((text, surface)) = self
            .routes
            .read()
            .expect("route names")
            .get_key_value(route)
        {
            return (text, surface);
        }
        let mut routes = self.routes.write().expect("route names");
        if let Some((text, surface)) = routes.get_key_value(route) {
            return (text, surface);
        }
        let text: &'static str = Box::leak(route.to_owned().into_boxed_str());
        let surface = surface_of(text);
        routes.insert(text, surface);
        (text, surface)
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

/// Times every call of the public listener.
pub async fn track(State(metrics): State<Arc<OpsMetrics>>, req: Request, next: Next) -> Response {
    const STATUS_CLASSES: [&str; 6] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];
    let (route, surface) = metrics.route(req.extensions().get::<MatchedPath>());
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    let class = usize::from(response.status().as_u16() / 100).min(5);
    let labels = [
        ("surface", surface),
        ("route", route),
        ("method", method),
        ("status", STATUS_CLASSES[class]),
    ];
    metrics
        .requests
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The method as a label; one that is not standard is `other`, so a client cannot grow
/// the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge: Gauge = Gauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

pub async fn scrape(State(metrics): State<Arc<OpsMetrics>>) -> Response {
    let mut registry = Registry::with_labels(std::iter::once((
        Cow::Borrowed("app"),
        Cow::Borrowed("guildgate"),
    )));
    registry.register(
        "guildgate_http_request_duration_seconds",
        "Calls answered, by surface, route, method and status class, with their latency.",
        metrics.requests.clone(),
    );
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
        "Rate-limit decisions by surface, bucket (its tier) and outcome.",
        decisions,
    );
    registry.register(
        "guildgate_rate_limit_decided_without_store",
        "Calls decided while Redis was unreachable: reads let through, writes refused (503).",
        unreachable,
    );
    let sources = &metrics.sources;
    registry.register(
        "guildgate_audit_commit_duration_seconds",
        "Time to commit one batch of audit rows (reads and refusals; a change's own row \
         commits with the change).",
        metrics.audit_commits.clone(),
    );
    gauge(
        &mut registry,
        "guildgate_audit_queue_depth",
        "Audit rows of reads and refusals handed over and not yet written (queued, or in \
         a batch being written or retried).",
        i64::try_from(sources.audit.queue_depth()).unwrap_or(i64::MAX),
    );
    let dropped: Counter = Counter::default();
    dropped.inc_by(sources.audit.rows_dropped());
    registry.register(
        "guildgate_audit_rows_dropped",
        "Audit rows given up on after the database refused them five times (not counting \
         time it was unreachable, which is waited out).",
        dropped,
    );
    let rows: Counter = Counter::default();
    rows.inc_by(sources.audit.rows_written());
    registry.register(
        "guildgate_audit_rows_written",
        "Batched audit rows committed.",
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
        "Guild token lookups answered from memory (hit) or from the database (miss).",
        lookups,
    );
    let database_up = sources.store.ping().await.is_ok();
    gauge(
        &mut registry,
        "guildgate_database_up",
        "1 while the database answers.",
        i64::from(database_up),
    );
    if let Some(redis) = &sources.redis {
        gauge(
            &mut registry,
            "guildgate_redis_up",
            "1 while Redis (the shared rate limits) answers.",
            i64::from(redis.ping().await.is_ok()),
        );
    }
    if let Ok(backlog) = sources.store.pending_delivery_count().await {
        gauge(
            &mut registry,
            "guildgate_webhook_backlog",
            "Shard webhook deliveries waiting to be sent or retried.",
            backlog,
        );
    }
    if let Ok(pending) = sources.store.pending_intent_count().await {
        gauge(
            &mut registry,
            "guildgate_upstream_outbox_backlog",
            "Discord or RCON actions recorded and not yet settled (in flight, or left by a \
             crash for reconciliation).",
            pending,
        );
    }
    gauge(
        &mut registry,
        "guildgate_uptime_seconds",
        "Seconds since this process started.",
        i64::try_from(metrics.started.elapsed().as_secs()).unwrap_or(i64::MAX),
    );
    let mut text = String::new();
    if encode(&mut text, &registry).is_err() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
