//! For test harnesses: a scratch database on whichever backend the run asks for. With
//! `GUILDGATE_TEST_POSTGRES` set to a server URL (`postgres://user@host:port/postgres`),
//! every call creates a fresh, empty PostgreSQL database on that server; otherwise a
//! SQLite file in `dir`. `scripts/test.sh` runs the suite both ways.

use std::path::Path;

use sqlx::Connection;

use crate::{StoreError, StoreResult};

pub const POSTGRES_ENV: &str = "GUILDGATE_TEST_POSTGRES";

/// The URL of a new empty database for one test.
pub async fn scratch_database_url(dir: &Path) -> StoreResult<String> {
    let Ok(server) = std::env::var(POSTGRES_ENV) else {
        return Ok(format!("sqlite://{}/guildgate.db", dir.display()));
    };
    let name = format!("gg_{}", guildgate_core::ids::new_ulid().to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await?;
    admin.close().await?;
    let (base, _) = server
        .rsplit_once('/')
        .ok_or_else(|| StoreError::Internal(format!("{POSTGRES_ENV} must end in /database")))?;
    Ok(format!("{base}/{name}"))
}

/// Runs one statement outside the store (a test breaking a table on purpose).
pub async fn execute_raw(url: &str, sql: &str) -> StoreResult<()> {
    if crate::is_postgres(url) {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::Executor::execute(&mut conn, sql).await?;
        conn.close().await?;
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::Executor::execute(&mut conn, sql).await?;
        conn.close().await?;
    }
    Ok(())
}

/// Everything the database holds, as text to search for secrets: the SQLite file and its
/// write-ahead log byte for byte, or every row of every PostgreSQL table.
pub async fn database_contents(url: &str) -> StoreResult<String> {
    if !crate::is_postgres(url) {
        let path = url.trim_start_matches("sqlite://");
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut text = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
            .fetch_all(&mut conn)
            .await?;
        text.push_str(&rows.join("\n"));
        text.push('\n');
    }
    conn.close().await?;
    Ok(text)
}

/// A `redis-server` of one test's own on a free loopback port, nothing saved to disk,
/// stopped when dropped (or earlier, to test an outage).
pub struct ScratchRedis {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl ScratchRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut redis = Self { child: None, port };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again, after `stop`) and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/test.sh installs the redis-server package)");
        self.child = Some(child);
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ScratchRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Rows of one query outside the store, each as text (select one text column, such as
/// `a || '|' || b`): what a test finds in the database after the server is done.
pub async fn query_text(url: &str, sql: &str) -> StoreResult<Vec<String>> {
    if crate::is_postgres(url) {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await?;
        conn.close().await?;
        Ok(rows)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await?;
        conn.close().await?;
        Ok(rows)
    }
}

/// A PostgreSQL server of one test's own, in a temporary directory on a free loopback
/// port, for tests that stop and restart the database under a running server. Stopped
/// when dropped. Run as root, the server runs as the `postgres` user.
pub struct ScratchPostgres {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    durable: bool,
}

impl ScratchPostgres {
    /// Creates the cluster, starts it, and creates an empty `guildgate` database. For
    /// tests: nothing is fsynced.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// As `start`, with PostgreSQL's default durability (fsync, synchronous commit): for
    /// measuring durable writes.
    pub fn start_durable() -> Self {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed (scripts/test.sh installs it)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql");
        let server = Self {
            bin,
            dir: tempfile::tempdir().expect("a temporary directory"),
            port: std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port"),
            durable,
        };
        if is_root() {
            let status = std::process::Command::new("chown")
                .args(["postgres", &server.dir.path().display().to_string()])
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown the data directory to postgres");
        }
        let data = server.data();
        server.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        server.start_again();
        let port = server.port.to_string();
        server.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "guildgate",
            ],
        );
        server
    }

    /// The URL of the `guildgate` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/guildgate", self.port)
    }

    /// Stops the server (fast shutdown: open sessions are ended) and waits until it is down.
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts the server again and waits until it accepts connections.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync={}",
            self.port,
            self.dir.path().display(),
            if self.durable { "on" } else { "off" }
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-m", "fast", "-o", &options, action,
            ],
        );
    }

    fn command(&self, tool: &str) -> std::process::Command {
        let program = self.bin.join(tool);
        if is_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            std::process::Command::new(program)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
