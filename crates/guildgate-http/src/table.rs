//! A router built from a surface's route table: one axum route per path, with every
//! method the table gives that path.

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter};

/// One row as the router needs it: (path, method, handler name).
pub type RouteRow = (&'static str, &'static str, &'static str);

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PATCH" => MethodFilter::PATCH,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("a route table uses unsupported method {other}"),
    }
}

/// The method whose row of a route table answers a call: axum answers HEAD with the GET
/// route (without its body), so a HEAD is checked, limited and audited as that GET.
pub fn table_method(method: &str) -> &str {
    if method == "HEAD" { "GET" } else { method }
}

/// `handler(name, filter)` gives each row its handler (and panics on an unknown name, so
/// a table row without a handler fails the first test that builds the router).
pub fn table_router<S: Clone + Send + Sync + 'static>(
    rows: &[RouteRow],
    handler: fn(&str, MethodFilter) -> MethodRouter<S>,
) -> Router<S> {
    let mut paths: Vec<&str> = rows.iter().map(|r| r.0).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut router = Router::new();
    for path in paths {
        let mut methods = MethodRouter::new();
        for (_, method, name) in rows.iter().filter(|r| r.0 == path) {
            methods = methods.merge(handler(name, method_filter(method)));
        }
        router = router.route(path, methods);
    }
    router
}
