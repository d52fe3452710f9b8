//! The public listener's latency histograms (`guildgate_http_request_duration_seconds`),
//! by surface, route, method and status class, and the tower layer that times each call.
//!
//! prometheus_client's `Family` and `Histogram` take two locks per observation (the
//! family's map, then the histogram's), both shared by every worker thread; with axum's
//! `from_fn` cloning and boxing around them, timing a call cost about 1.3 µs of a 20 µs
//! guarded read. Here each route's histograms are atomics found once per route: a call
//! takes no lock and allocates nothing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

const NAME: &str = "guildgate_http_request_duration_seconds";
/// Written as it stands (a collector's help gets no period added, unlike a registered metric's).
const HELP: &str =
    "Calls answered, by surface, route, method and status class, with their latency.";

/// The upper bounds, in nanoseconds: 0.25 ms doubling to about 4 s (then `+Inf`).
pub(super) const BOUNDS: usize = 15;
pub(super) const FIRST_BOUND_NANOS: u64 = 250_000;

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "other",
];
const STATUS_CLASSES: [&str; 6] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];
/// The route label of calls no route matched (the fallback).
const UNMATCHED: &str = "unmatched";

/// One histogram, kept in atomics.
#[derive(Default)]
struct AtomicHistogram {
    /// Per bucket, not cumulative; the last is `+Inf`. Their total is the count.
    counts: [AtomicU64; BOUNDS + 1],
    sum_nanos: AtomicU64,
}

impl AtomicHistogram {
    fn observe(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = (0..BOUNDS)
            .find(|&i| nanos <= FIRST_BOUND_NANOS << i)
            .unwrap_or(BOUNDS);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// (sum in seconds, count, per-bucket (upper bound in seconds, count)), as the text
    /// encoder takes them.
    fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = (0..=BOUNDS)
            .map(|i| {
                let bound = if i < BOUNDS {
                    (FIRST_BOUND_NANOS << i) as f64 / 1e9
                } else {
                    f64::INFINITY
                };
                (bound, self.counts[i].load(Ordering::Relaxed))
            })
            .collect();
        // The count is the buckets' total, so the two always agree in one scrape.
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

/// One route's histograms, by method and status class, each made on first use.
struct RouteTimings {
    surface: &'static str,
    route: &'static str,
    by_call: [[OnceLock<Box<AtomicHistogram>>; STATUS_CLASSES.len()]; METHODS.len()],
}

impl RouteTimings {
    fn observe(&self, method: usize, status: StatusCode, took: Duration) {
        let class = usize::from(status.as_u16() / 100).min(STATUS_CLASSES.len() - 1);
        self.by_call[method][class]
            .get_or_init(Box::default)
            .observe(took);
    }
}

/// Every route's timings. Routes are a fixed set, so each route's entry lives as long as
/// the process and costs what the router itself does.
pub struct RequestTimings {
    routes: RwLock<HashMap<&'static str, &'static RouteTimings>>,
    surface_of: fn(&str) -> &'static str,
}

impl RequestTimings {
    /// `surface_of` names the surface a route belongs to.
    pub fn new(surface_of: fn(&str) -> &'static str) -> Self {
        Self {
            routes: RwLock::default(),
            surface_of,
        }
    }

    /// The timings of `route` (matched path text, or [`UNMATCHED`]).
    fn of(&self, route: &str) -> &'static RouteTimings {
        if let Some(timings) = self.routes.read().expect("route timings").get(route) {
            return timings;
        }
        let mut routes = self.routes.write().expect("route timings");
        if let Some(timings) = routes.get(route) {
            return timings;
        }
        let route: &'static str = Box::leak(route.to_owned().into_boxed_str());
        let surface = if route == UNMATCHED {
            "server"
        } else {
            (self.surface_of)(route)
        };
        let timings: &'static RouteTimings = Box::leak(Box::new(RouteTimings {
            surface,
            route,
            by_call: Default::default(),
        }));
        routes.insert(route, timings);
        timings
    }
}

impl std::fmt::Debug for RequestTimings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTimings").finish_non_exhaustive()
    }
}

impl Collector for RequestTimings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let routes: Vec<&'static RouteTimings> = self
            .routes
            .read()
            .expect("route timings")
            .values()
            .copied()
            .collect();
        let mut family = encoder.encode_descriptor(NAME, HELP, None, MetricType::Histogram)?;
        for timings in routes {
            for (method, classes) in METHODS.iter().zip(&timings.by_call) {
                for (class, histogram) in STATUS_CLASSES.iter().zip(classes) {
                    let Some(histogram) = histogram.get() else {
                        continue;
                    };
                    let labels = [
                        ("surface", timings.surface),
                        ("route", timings.route),
                        ("method", *method),
                        ("status", *class),
                    ];
                    let (sum, count, buckets) = histogram.snapshot();
                    family
                        .encode_family(&labels)?
                        .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
                }
            }
        }
        Ok(())
    }
}

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::CONNECT => 8,
        // Not standard: one label for all, so a client cannot grow the label set.
        _ => 9,
    }
}

/// Times every call of the routes it wraps (`Router::layer`, so each route and the
/// fallback has its own service, which finds its route's timings once).
#[derive(Clone)]
pub struct TrackLayer(pub Arc<RequestTimings>);

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            timings: self.0.clone(),
            route: Arc::default(),
        }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    timings: Arc<RequestTimings>,
    /// The route this service was last called for, shared by its clones (axum clones a
    /// route's service for each call).
    route: Arc<OnceLock<&'static RouteTimings>>,
}

impl<S> Track<S> {
    fn route(&self, matched: Option<&MatchedPath>) -> &'static RouteTimings {
        let text = matched.map_or(UNMATCHED, MatchedPath::as_str);
        match self.route.get() {
            // Compared rather than trusted: one service is not promised one route.
            Some(timings) if timings.route == text => timings,
            _ => {
                let timings = self.timings.of(text);
                let _ = self.route.set(timings);
                timings
            }
        }
    }
}

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = self.route(request.extensions().get::<MatchedPath>());
        let method = method_index(request.method());
        let started = Instant::now();
        Timed {
            inner: self.inner.call(request),
            route,
            method,
            started,
        }
    }
}

pin_project_lite::pin_project! {
    /// A call being timed: observed when its response is ready.
    pub struct Timed<F> {
        #[pin]
        inner: F,
        route: &'static RouteTimings,
        method: usize,
        started: Instant,
    }
}

impl<F, E> Future for Timed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            this.route
                .observe(*this.method, response.status(), this.started.elapsed());
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(timings: RequestTimings) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(timings));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn calls_land_in_their_buckets_by_route_method_and_status_class() {
        let timings = RequestTimings::new(|_| "guild");
        let route = timings.of("/api/public/v1/guilds/{guild_id}/strikes");
        for took_micros in [100, 250, 251, 3_000, 9_000_000] {
            route.observe(0, StatusCode::OK, Duration::from_micros(took_micros));
        }
        route.observe(1, StatusCode::TOO_MANY_REQUESTS, Duration::from_millis(1));
        timings
            .of(UNMATCHED)
            .observe(0, StatusCode::NOT_FOUND, Duration::from_millis(1));
        let text = scrape(timings);
        // The value of the one series whose line holds every fragment.
        let value = |fragments: &[&str]| {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| fragments.iter().all(|f| l.contains(f)))
                .collect();
            assert_eq!(lines.len(), 1, "{fragments:?} in\n{text}");
            lines[0].rsplit(' ').next().unwrap().parse::<f64>().unwrap()
        };
        let strikes = "route=\"/api/public/v1/guilds/{guild_id}/strikes\"";
        let reads = [
            strikes,
            "surface=\"guild\"",
            "method=\"GET\"",
            "status=\"2xx\"",
        ];
        let bucket =
            |le: &str| value(&[&[&*format!("{NAME}_bucket{{le=\"{le}\",")], &reads[..]].concat());
        // Bounds are inclusive and the counts cumulative, as Prometheus reads them.
        assert_eq!(bucket("0.00025"), 2.0);
        assert_eq!(bucket("0.0005"), 3.0);
        assert_eq!(bucket("0.004"), 4.0);
        assert_eq!(bucket("4.096"), 4.0);
        assert_eq!(bucket("+Inf"), 5.0);
        assert_eq!(
            value(&[&[&*format!("{NAME}_count{{")], &reads[..]].concat()),
            5.0
        );
        let sum = value(&[&[&*format!("{NAME}_sum{{")], &reads[..]].concat());
        assert!((sum - 9.003601).abs() < 1e-9, "{sum}");
        let refused = [strikes, "method=\"POST\"", "status=\"4xx\"", "le=\"+Inf\""];
        assert_eq!(value(&refused), 1.0);
        let fallback = [
            "surface=\"server\"",
            "route=\"unmatched\"",
            "status=\"4xx\"",
            "le=\"+Inf\"",
        ];
        assert_eq!(value(&fallback), 1.0);
        // A method/status pair never seen has no series.
        assert!(!text.contains("method=\"DELETE\""));
    }
}
