//! Brings a database's schema up to date: the backend's numbered migrations, each applied
//! once in its own transaction and recorded in `schema_migrations`.

use sqlx::{Connection, Executor};

use super::Conn;
use crate::migrate::{self, CREATE_LEDGER, Migration};
use crate::{StoreError, StoreResult};

pub async fn migrate(conn: &mut Conn, migrations: &[Migration]) -> StoreResult<()> {
    super::lock_migrations(conn).await?;
    conn.execute(CREATE_LEDGER).await?;
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?;
    let applied = applied.unwrap_or(0);
    let known = migrations.last().map(|m| m.0).unwrap_or(0);
    if applied > known {
        return Err(StoreError::Schema(format!(
            "the database is at schema version {applied}, newer than this guildgate knows ({known}); upgrade guildgate"
        )));
    }
    for (version, name, sql) in migrations.iter().filter(|m| m.0 > applied) {
        let mut tx = conn.begin().await?;
        for statement in migrate::statements(sql) {
            tx.execute(statement.as_str()).await?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(name)
        .bind(guildgate_core::clock::Clock::now(
            &guildgate_core::clock::SystemClock,
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
