//! The two scrape formats. prometheus_client writes OpenMetrics text only; Prometheus asks
//! for it by name, but many other scrapers and parsers (and `curl`) know only Prometheus's
//! classic text format (0.0.4), where a counter's `# TYPE` names its `_total` sample and
//! there is no `# EOF`. A scrape that does not ask for OpenMetrics gets the classic one, as
//! Prometheus's own client libraries do.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The scrape in the format `accept` asks for: OpenMetrics when it names
/// `application/openmetrics-text`, the classic text otherwise.
pub fn metrics_response(accept: Option<&HeaderValue>, openmetrics: String) -> Response {
    let wants_openmetrics = accept
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
            openmetrics,
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, CLASSIC_CONTENT_TYPE)],
            classic_text(&openmetrics),
        )
            .into_response()
    }
}

/// OpenMetrics text as the classic format: counters' `# HELP` and `# TYPE` name their
/// `_total` samples, `unknown` is `untyped`, and `# UNIT`, `# EOF` and counters' `_created`
/// samples (which the classic format has no place for) are left out.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let is_counter = |name: &str| counters.contains(&name);
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let suffix = if is_counter(name) { "_total" } else { "" };
            out.push_str(&format!("# HELP {name}{suffix} {help}\n"));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            match kind {
                "counter" => out.push_str(&format!("# TYPE {name}_total counter\n")),
                "unknown" => out.push_str(&format!("# TYPE {name} untyped\n")),
                _ => out.push_str(&format!("{line}\n")),
            }
        } else if is_counter_created(line, &counters) {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_counter_created(line: &str, counters: &[&str]) -> bool {
    let name = line.split(['{', ' ']).next().unwrap_or("");
    name.strip_suffix("_created")
        .is_some_and(|base| counters.contains(&base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::{Registry, Unit};

    #[test]
    fn counters_name_their_total_samples_and_the_rest_is_unchanged() {
        let mut registry = Registry::default();
        let joins: Counter = Counter::default();
        joins.inc_by(3);
        registry.register("joins", "Joins since start", joins);
        let up: Gauge = Gauge::default();
        up.set(1);
        registry.register("up", "1 while up", up);
        let latency = Histogram::new([0.5]);
        latency.observe(0.25);
        registry.register_with_unit("latency", "Latency", Unit::Seconds, latency);
        let mut openmetrics = String::new();
        encode(&mut openmetrics, &registry).unwrap();

        assert_eq!(
            classic_text(&openmetrics),
            "# HELP joins_total Joins since start.\n\
             # TYPE joins_total counter\n\
             joins_total 3\n\
             # HELP up 1 while up.\n\
             # TYPE up gauge\n\
             up 1\n\
             # HELP latency_seconds Latency.\n\
             # TYPE latency_seconds histogram\n\
             latency_seconds_sum 0.25\n\
             latency_seconds_count 1\n\
             latency_seconds_bucket{le=\"0.5\"} 1\n\
             latency_seconds_bucket{le=\"+Inf\"} 1\n"
        );
    }

    #[test]
    fn only_a_scrape_that_asks_for_openmetrics_gets_it() {
        let prometheus = HeaderValue::from_static(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        );
        let text = "# TYPE a counter\na_total 1\n# EOF\n".to_owned();
        let asked = metrics_response(Some(&prometheus), text.clone());
        assert_eq!(asked.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
        for accept in [None, Some(HeaderValue::from_static("*/*"))] {
            let plain = metrics_response(accept.as_ref(), text.clone());
            assert_eq!(plain.headers()["content-type"], CLASSIC_CONTENT_TYPE);
        }
    }
}
