//! The scale-out case: the guarded read and the durable destructive write on PostgreSQL
//! with the rate limits in Redis, served by one `guildgate serve` and then by two on the
//! same machine (each half of the connections goes to one instance). A throwaway
//! PostgreSQL (default durability: fsync, synchronous commit) and `redis-server` are
//! started for it and stopped after.

use std::path::Path;

use guildgate_core::crypto::SecretKey;
use guildgate_storage::testing::{ScratchPostgres, ScratchRedis};
use serde_json::{Value, json};

use crate::servers::Running;
use crate::wrk::{self, Figures, Load};
use crate::{guildgate, seed};

/// What one configuration served: reads and writes, each summed over its instances.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Served {
    pub instances: usize,
    pub reads: Figures,
    pub writes: Figures,
}

/// Runs `connections` connections against each configuration (one instance, two).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    script: &Path,
    key: &SecretKey,
    connections: u32,
    seconds: u32,
) -> Vec<Served> {
    let postgres = ScratchPostgres::start_durable();
    let redis = ScratchRedis::start();
    let secrets = runtime.block_on(async {
        let store = guildgate_storage::open(&postgres.url(), guildgate_storage::Durability::Full)
            .await
            .unwrap();
        let secrets = seed::guild_with_tokens(&*store, &key.secret_hasher(), 2).await;
        store.close().await;
        secrets
    });
    let shared = [("GUILDGATE_REDIS_URL", redis.url())];
    let mut served = Vec::new();
    for instances in [1, 2] {
        let servers: Vec<(Running, u16)> = (0..instances)
            .map(|_| guildgate(&postgres.url(), key, "full", &shared))
            .collect();
        // Each instance gets the same share of connections; a token per instance keeps
        // the per-token buckets apart (the per-address budget is still one, in Redis).
        let read_urls: Vec<String> = servers
            .iter()
            .map(|(_, port)| {
                format!(
                    "http://127.0.0.1:{port}/api/public/v1/guilds/{}/strikes?limit=10",
                    seed::GUILD
                )
            })
            .collect();
        let write_urls: Vec<String> = servers
            .iter()
            .map(|(_, port)| {
                format!(
                    "http://127.0.0.1:{port}/api/public/v1/guilds/{}/strikes",
                    seed::GUILD
                )
            })
            .collect();
        let bearers: Vec<String> = secrets.iter().map(|s| format!("Bearer {s}")).collect();
        let strike = crate::strike_body();
        let share = (connections / instances as u32).max(1);
        let together = |urls: &[String], body: Option<&str>| -> Figures {
            let figures: Vec<Figures> = std::thread::scope(|scope| {
                let runs: Vec<_> = urls
                    .iter()
                    .zip(&bearers)
                    .map(|(url, bearer)| {
                        scope.spawn(move || {
                            let load = Load {
                                url,
                                auth: Some(bearer),
                                body,
                            };
                            wrk::run(script, &load, share, seconds)
                        })
                    })
                    .collect();
                runs.into_iter().map(|r| r.join().unwrap()).collect()
            });
            wrk::sum(&figures)
        };
        let warm = together(&read_urls, None);
        assert_eq!(warm.errors, 0, "{instances} instance(s) answer errors");
        let reads = together(&read_urls, None);
        let writes = together(&write_urls, Some(&strike));
        served.push(Served {
            instances,
            reads,
            writes,
        });
        drop(servers);
    }
    served
}

/// The figures as printed lines and as JSON.
pub fn report(served: &[Served], connections: u32) -> Value {
    println!("\nscale-out on PostgreSQL (fsync on) + Redis, {connections} connections in all:");
    for s in served {
        println!(
            "  {} instance(s): guarded reads {:.0}/s (p99 {:.2} ms), durable writes {:.0}/s (p99 {:.2} ms), {} errors",
            s.instances,
            s.reads.rps,
            s.reads.p99_ms,
            s.writes.rps,
            s.writes.p99_ms,
            s.reads.errors + s.writes.errors
        );
    }
    let ratio = |f: fn(&Served) -> f64| match served {
        [one, two] => f(two) / f(one),
        _ => 0.0,
    };
    let reads = ratio(|s| s.reads.rps);
    let writes = ratio(|s| s.writes.rps);
    println!("  two over one: reads {reads:.2}, writes {writes:.2}");
    json!({
        "connections": connections,
        "served": served,
        "two_over_one": {"reads": reads, "writes": writes},
    })
}
