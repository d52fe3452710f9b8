//! A PostgreSQL restart under a running `guildgate serve`: while the database is down,
//! requests get the documented retryable error and `/ready` says not ready; when it is
//! back, service resumes by itself. Runs in the suite's PostgreSQL pass, on a database
//! server of its own (started here, stopped at the end) so stopping it disturbs no
//! other test.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A PostgreSQL server in a temporary directory on a free loopback port.
struct Throwaway {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Throwaway {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed (scripts/test.sh installs it)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let server = Throwaway {
            bin,
            dir,
            port: free_port(),
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres", server.dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = server.data();
        server.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        server.pg_ctl("start");
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-m", "fast", "-o", &options];
        args.push(action);
        self.run("pg_ctl", &args);
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(program)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        };
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn body(raw: &str) -> Value {
    serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap_or("null")).unwrap_or(Value::Null)
}

#[test]
fn a_postgres_restart_is_a_retryable_outage_and_service_returns() {
    if std::env::var(guildgate_storage::testing::POSTGRES_ENV).is_err() {
        // The SQLite pass: no database server to restart. The PostgreSQL pass runs this.
        return;
    }
    let pg = Throwaway::start();
    pg.run(
        "createdb",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
            "-U",
            "postgres",
            "guildgate",
        ],
    );
    let db = seed(Db {
        url: pg.url("guildgate"),
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

    pg.pg_ctl("stop");
    // Past the token cache's and the page cache's second.
    std::thread::sleep(Duration::from_millis(1_500));
    let (status, raw) = http_get(port, &strikes, &secret);
    assert_eq!(status, 503, "{raw}");
    let error = &body(&raw)["error"];
    assert_eq!(error["code"], "UPSTREAM_UNAVAILABLE", "{raw}");
    assert_eq!(error["retryable"], true);
    let (status, raw) = http_get(port, "/ready", "");
    assert_eq!(status, 503, "{raw}");
    assert_eq!(body(&raw)["ready"], false);

    pg.pg_ctl("start");
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
