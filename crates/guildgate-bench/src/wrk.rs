//! Load from wrk (Debian's package), a separate process: each case is measured by the same
//! maintained generator, and the figures come from its own histogram through a Lua hook.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Prints one JSON line of figures when wrk is done (latencies in microseconds).
pub const REPORT_LUA: &str = r#"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"#;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Figures {
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

/// What to send: a URL, an optional `Authorization` value and an optional JSON body (POST).
pub struct Load<'a> {
    pub url: &'a str,
    pub auth: Option<&'a str>,
    pub body: Option<&'a str>,
}

pub fn run(script: &Path, load: &Load, connections: u32, seconds: u32) -> Figures {
    let threads = connections.clamp(1, 2);
    let output = Command::new("wrk")
        .args([
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(script)
        .arg(load.url)
        .env("BENCH_AUTH", load.auth.unwrap_or(""))
        .env("BENCH_BODY", load.body.unwrap_or(""))
        .output()
        .expect("wrk runs (apt-get install wrk; scripts/bench.sh does)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no figures: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let v: Value = serde_json::from_str(line).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let seconds = n("duration_us") as f64 / 1e6;
    let errors = n("status_errors") + n("socket_errors");
    Figures {
        requests: n("requests"),
        errors,
        rps: (n("requests") - errors.min(n("requests"))) as f64 / seconds,
        p50_ms: n("p50_us") as f64 / 1000.0,
        p99_ms: n("p99_us") as f64 / 1000.0,
        p999_ms: n("p999_us") as f64 / 1000.0,
    }
}

/// Several loads run at once, as one: requests summed, the worst percentiles.
pub fn sum(parts: &[Figures]) -> Figures {
    let worst = |f: fn(&Figures) -> f64| parts.iter().map(f).fold(0.0, f64::max);
    Figures {
        requests: parts.iter().map(|f| f.requests).sum(),
        errors: parts.iter().map(|f| f.errors).sum(),
        rps: parts.iter().map(|f| f.rps).sum(),
        p50_ms: worst(|f| f.p50_ms),
        p99_ms: worst(|f| f.p99_ms),
        p999_ms: worst(|f| f.p999_ms),
    }
}
