//! Several `guildgate serve` processes on one PostgreSQL database and one Redis behave as
//! one server: a rate limit is one budget across them, a revocation made elsewhere is
//! refused by each within a second (announced by PostgreSQL), and `/ready` follows Redis. Runs in the suite's
//! PostgreSQL pass (one SQLite file serves one instance).

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use common::*;
use guildgate_storage::testing::ScratchRedis;

fn stop(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn two_instances_share_one_budget_and_see_each_others_revocations() {
    if std::env::var(guildgate_storage::testing::POSTGRES_ENV).is_err() {
        return;
    }
    let mut redis = ScratchRedis::start();
    let db = seeded();
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    let token_id = minted["id"].as_str().unwrap().to_owned();
    let redis_url = redis.url();
    let (port_a, port_b) = (free_port(), free_port());
    let (metrics_a, metrics_b) = (free_port(), free_port());
    let instance = |port: u16, metrics: u16| {
        let metrics = format!("127.0.0.1:{metrics}");
        let env = [
            ("GUILDGATE_REDIS_URL", redis_url.as_str()),
            ("GUILDGATE_METRICS_LISTEN", metrics.as_str()),
        ];
        serve(&db, port, &env, None)
    };
    let a = instance(port_a, metrics_a);
    let b = instance(port_b, metrics_b);
    let strikes = format!("/api/public/v1/guilds/{GUILD}/strikes");

    // The read tier allows a token 120 calls at once: 120 across both, not 120 each.
    let mut allowed = 0;
    let mut limited = 0;
    for call in 0..130 {
        let port = if call % 2 == 0 { port_a } else { port_b };
        match http_get(port, &strikes, &secret).0 {
            200 => allowed += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((allowed, limited), (120, 10));

    // The destructive tier allows 6 at once: 6 strikes across both instances, not 12.
    let writer_secret = common::load::strike_writer(&db, port_a);
    let strike = serde_json::json!({
        "user_id": "583912000000000000",
        "reason": "spam",
        "category": "rule-violation",
        "severity": "minor",
        "_confirmation": format!("ADD STRIKE TO USER 583912000000000000 IN GUILD {GUILD} SEVERITY MINOR"),
    })
    .to_string();
    let mut statuses = Vec::new();
    for call in 0..8 {
        let port = if call % 2 == 0 { port_a } else { port_b };
        statuses.push(http_post(port, &strikes, &writer_secret, &strike).0);
    }
    assert_eq!(
        (
            statuses.iter().filter(|s| **s == 201).count(),
            statuses.iter().filter(|s| **s == 429).count()
        ),
        (6, 2),
        "{statuses:?}"
    );

    // With Redis gone, reads go through, writes are refused as retryable, and /ready
    // says why it is not ready.
    redis.stop();
    let (status, _) = http_get(port_b, &strikes, &secret);
    assert_eq!(status, 200, "reads fail open");
    let (status, text) = http_post(port_a, &strikes, &writer_secret, &strike);
    assert_eq!(status, 503, "writes fail closed: {text}");
    assert!(text.contains("UPSTREAM_UNAVAILABLE"), "{text}");
    let (status, text) = http_get(port_b, "/ready", "");
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("\"redis\":"), "{text}");
    // Each instance counts what it decided without Redis, for its operators.
    let unreachable = |port: u16, access: &str| {
        let text = scrape_metrics(port);
        assert_eq!(metric_sum(&text, "guildgate_redis_up", &[]), 0.0, "{text}");
        metric_sum(
            &text,
            "guildgate_rate_limit_decided_without_store_total",
            &[("surface", "guild"), ("access", access)],
        )
    };
    assert_eq!(unreachable(metrics_b, "read"), 1.0);
    assert_eq!(unreachable(metrics_a, "write"), 1.0);
    assert_eq!(unreachable(metrics_b, "write"), 0.0);
    assert_eq!(unreachable(metrics_a, "read"), 0.0);
    redis.restart();

    // Revoked through the admin CLI (a third process): both refuse it within a second.
    db.ok(&["token", "revoke", "--id", &token_id]);
    let revoked_at = Instant::now();
    for port in [port_a, port_b] {
        loop {
            let (status, _) = http_get(port, &strikes, &secret);
            if status == 401 {
                break;
            }
            assert!(
                revoked_at.elapsed() < Duration::from_millis(1_500),
                "instance on {port} still accepts a revoked token"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Announced by PostgreSQL to every instance: well within the one-second target.
    assert!(revoked_at.elapsed() <= Duration::from_secs(1));

    // The per-address budget (600 calls in 5 minutes on the public API) is one budget
    // too: 600 calls from this address across both instances, then 429 on either.
    let mut refused_at = None;
    for call in 0..700 {
        let port = if call % 2 == 0 { port_a } else { port_b };
        if http_get(port, &strikes, "arkpat_not_a_token").0 == 429 {
            refused_at = Some(call);
            break;
        }
    }
    // Redis was restarted above with nothing saved, so the budget started full again:
    // about 600 calls pass (less the few revocation checks, plus the 2 a second it
    // refills), then either instance refuses. With a budget per instance, 350 calls each
    // would never be refused.
    assert!(
        refused_at.is_some_and(|n| (570..620).contains(&n)),
        "per-address budget: refused at {refused_at:?}"
    );
    stop(a);
    stop(b);
}
