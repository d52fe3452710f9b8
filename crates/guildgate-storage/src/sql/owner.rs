//! The dashboard's storage on SQL (shared by the SQLite and PostgreSQL backends).

use super::DbRow;
use async_trait::async_trait;
use guildgate_core::account::{DashboardUser, Session};
use guildgate_core::clock::Millis;
use guildgate_core::device::DeviceCode;
use guildgate_core::model::{Guild, TokenRecord};
use sqlx::Row;

use super::Backend;
use super::rows::{self, TOKEN_COLUMNS};
use super::write_tx::BackendTx;
use crate::{OwnerReads, OwnerWrites, StoreResult};

fn user_row(row: &DbRow) -> StoreResult<DashboardUser> {
    Ok(DashboardUser {
        user_id: row.try_get("user_id")?,
        password_hash: row.try_get("password_hash")?,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl OwnerReads for Backend {
    async fn dashboard_user(&self, user_id: &str) -> StoreResult<Option<DashboardUser>> {
        let row = sqlx::query("SELECT * FROM dashboard_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn session(&self, id_hash: &[u8], now: Millis) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, created_at, expires_at FROM dashboard_sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(Session {
                user_id: row.try_get("user_id")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn guilds_owned_by(&self, user_id: &str) -> StoreResult<Vec<Guild>> {
        let rows = sqlx::query("SELECT * FROM guilds WHERE owner_id = $1 ORDER BY name, id")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::guild).collect()
    }

    async fn pending_pairings(&self, guild_id: &str, now: Millis) -> StoreResult<Vec<DeviceCode>> {
        let rows = sqlx::query(
            "SELECT * FROM device_codes WHERE guild_id = $1 AND status = 'pending' \
             AND expires_at > $2 ORDER BY created_at DESC",
        )
        .bind(guild_id)
        .bind(now)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(rows::device_code).collect()
    }
}

#[async_trait]
impl OwnerWrites for BackendTx {
    async fn upsert_dashboard_user(&mut self, user: &DashboardUser) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dashboard_users (user_id, password_hash, email, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE \
             SET password_hash = excluded.password_hash, email = excluded.email",
        )
        .bind(&user.user_id)
        .bind(&user.password_hash)
        .bind(&user.email)
        .bind(user.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_session(&mut self, id_hash: &[u8], session: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dashboard_sessions (id_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn delete_session(&mut self, id_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_sessions_of(&mut self, user_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM dashboard_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&mut self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn set_token_expiry(&mut self, id: &str, expires_at: Option<Millis>) -> StoreResult<()> {
        self.touches_auth = true;
        sqlx::query("UPDATE api_tokens SET expires_at = $2 WHERE id = $1")
            .bind(id)
            .bind(expires_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn mark_token_replaced(&mut self, id: &str, successor: &str) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET replaced_by = $2 WHERE id = $1")
            .bind(id)
            .bind(successor)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn revoke_replaced_tokens(
        &mut self,
        now: Millis,
        reason: &str,
    ) -> StoreResult<Vec<TokenRecord>> {
        self.touches_auth = true;
        // RETURNING takes bare column names, not the `t.` of the shared column list.
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = $1, revoked_reason = $2 \
             WHERE replaced_by IS NOT NULL AND revoked_at IS NULL AND expires_at <= $1 \
             RETURNING {}",
            TOKEN_COLUMNS.replace("t.", "")
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(reason)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(rows::token).collect()
    }
}
