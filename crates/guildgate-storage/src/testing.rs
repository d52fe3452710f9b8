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
