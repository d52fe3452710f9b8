//! A PostgreSQL restart under a running `guildgate serve`: while the database is down,
//! requests get the documented retryable error and `/ready` says not ready; when it is
//! back, service resumes by itself. Runs in the suite's PostgreSQL pass, on a database
//! server of its own (started here, stopped at the end) so stopping it disturbs no
//! other test.

mod common;

use std::time::{Duration, Instant};

use common::*;
use guildgate_storage::testing::ScratchPostgres;

#[test]
fn a_postgres_restart_is_a_retryable_outage_and_service_returns() {
    if std::env::var(guildgate_storage::testing::POSTGRES_ENV).is_err() {
        // The SQLite pass: no database server to restart. The PostgreSQL pass runs this.
        return;
    }
    let pg = ScratchPostgres::start();
    let db = seed(Db {
        url: pg.url(),
        _dir: tempfile::tempdir().unwrap(),
    });
    let minted = db.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "bot",
    ]);
    let secret = minted["token"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    let strikes = format!("/api/public/v1/guilds/{GUILD}/strikes");
    assert_eq!(http_get(port, &strikes, &secret).0, 200);
    assert_eq!(http_get(port, "/ready", "").0, 200);

    pg.stop();
    // Past the token cache's and the page cache's second.
    std::thread::sleep(Duration::from_millis(1_500));
    let (status, raw) = http_get(port, &strikes, &secret);
    assert_eq!(status, 503, "{raw}");
    let error = &body_json(&raw)["error"];
    assert_eq!(error["code"], "UPSTREAM_UNAVAILABLE", "{raw}");
    assert_eq!(error["retryable"], true);
    let (status, raw) = http_get(port, "/ready", "");
    assert_eq!(status, 503, "{raw}");
    assert_eq!(body_json(&raw)["ready"], false);

    pg.start_again();
    let started = Instant::now();
    loop {
        if http_get(port, &strikes, &secret).0 == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "service did not return after the database did"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(http_get(port, "/ready", "").0, 200);
    server.kill().unwrap();
    server.wait().unwrap();
}
