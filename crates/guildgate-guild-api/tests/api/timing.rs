//! Whether a token exists must not show in how long it takes to be refused: an unknown
//! token (well formed, right checksum) and a revoked one are refused in the same time, so
//! timing cannot be used to find real tokens. (The error codes differ by the
//! specification's design, `UNAUTHORIZED` against `TOKEN_REVOKED`; a revoked token was
//! real once and is worthless now.) The samples are interleaved so both kinds meet the
//! same machine noise; the medians are compared.

use std::time::{Duration, Instant};

use guildgate_core::limits::{LimitsConfig, Rate};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::RevokeScope;

use crate::common::*;

const SAMPLES: usize = 300;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn unknown_and_revoked_tokens_are_refused_in_the_same_time() {
    let unlimited = Rate::new(1_000_000, 1_000_000, 1);
    let app = TestApp::start_with(Options {
        limits: LimitsConfig {
            per_ip: unlimited,
            ..LimitsConfig::default()
        },
        ..Options::default()
    })
    .await;
    let revoked = app.mint("strikes.read").await;
    app.revoke(RevokeScope::Token(&revoked.id)).await;
    let unknown = GUILD_TOKEN.generate().expose().to_owned();
    let path = g("/strikes");

    let (mut unknown_times, mut revoked_times) = (Vec::new(), Vec::new());
    for round in 0..SAMPLES + 20 {
        for (secret, times, code) in [
            (&unknown, &mut unknown_times, "UNAUTHORIZED"),
            (&revoked.secret, &mut revoked_times, "TOKEN_REVOKED"),
        ] {
            let started = Instant::now();
            let reply = app.get(&path, secret).await;
            let took = started.elapsed();
            reply.expect_error(401, code);
            // The first rounds warm both paths up.
            if round >= 20 {
                times.push(took);
            }
        }
    }
    let (unknown, revoked) = (median(&mut unknown_times), median(&mut revoked_times));
    let gap = unknown.abs_diff(revoked);
    let larger = unknown.max(revoked);
    assert!(
        gap <= larger / 4 || gap <= Duration::from_micros(100),
        "median refusal: unknown {unknown:?}, revoked {revoked:?}"
    );
    eprintln!("median refusal: unknown {unknown:?}, revoked {revoked:?}");
}
