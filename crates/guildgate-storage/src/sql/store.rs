//! The `Store` implementation both SQL backends share: the same queries (written to run on
//! SQLite and PostgreSQL alike, with `$n` placeholders numbered in order of appearance),
//! compiled once per backend against its row, connection and pool types.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::Millis;
use guildgate_core::device::DeviceCode;
use guildgate_core::intent::Intent;
use guildgate_core::model::{
    AuditRow, Ban, GameServer, Guild, Member, Mute, Page, PageRequest, ReauthWindow, Strike,
    Ticket, TokenAuth, TokenRecord,
};
use sqlx::Row;

use super::rows::{self, TOKEN_COLUMNS};
use super::write_tx::{self, BackendTx};
use super::{Backend, DbRow, Pool};
use crate::{AuditFilter, IdempotencyStart, Restriction, Store, StoreResult, WriteTx};

impl Backend {
    /// A page that depends only on its query (no clock): answered from the read cache
    /// while no change has been committed since it was read.
    async fn cached_page<T: Clone + Send + Sync + 'static>(
        &self,
        sql: &str,
        binds: &[&str],
        req: &PageRequest,
        map: fn(&DbRow) -> StoreResult<T>,
        id_of: fn(&T) -> &str,
    ) -> StoreResult<Page<T>> {
        let generation = self.data_generation.load(Ordering::Acquire);
        // Every cached read builds this key: written piece by piece, not with `format!`.
        let mut key = String::with_capacity(sql.len() + 64);
        for part in std::iter::once(sql).chain(binds.iter().copied()) {
            key.push_str(part);
            key.push('\u{1}');
        }
        key.push_str(itoa::Buffer::new().format(req.limit));
        key.push('\u{1}');
        if let Some(before) = &req.before {
            key.push('+');
            key.push_str(before);
        }
        if let Some(hit) = self.reads.get(&key, generation) {
            return Ok(hit);
        }
        let fresh = page(&self.reader, sql, binds, req, map, id_of).await?;
        self.reads.put(key, generation, &fresh);
        Ok(fresh)
    }
}

/// Fetches one page, newest first, of a guild-scoped table.
async fn page<T>(
    pool: &Pool,
    sql_before_order: &str,
    binds: &[&str],
    page: &PageRequest,
    map: fn(&DbRow) -> StoreResult<T>,
    id_of: fn(&T) -> &str,
) -> StoreResult<Page<T>> {
    let next = binds.len() + 1;
    let sql = format!(
        "{sql_before_order} AND (${next} IS NULL OR id < ${next}) ORDER BY id DESC LIMIT ${}",
        next + 1
    );
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let rows = query
        .bind(page.before.as_deref())
        .bind(page.limit as i64 + 1)
        .fetch_all(pool)
        .await?;
    let items = rows.iter().map(map).collect::<StoreResult<Vec<T>>>()?;
    Ok(Page::from_rows(items, page.limit, id_of))
}

fn now_bound(sql: &str, now: Millis) -> String {
    // `now` is an integer we produced; inlining it keeps `page` generic over string binds.
    sql.replace("{now}", &now.to_string())
}

#[async_trait]
impl Store for Backend {
    async fn begin(&self) -> StoreResult<Box<dyn WriteTx>> {
        Ok(Box::new(BackendTx::new(
            self.writer.begin().await?,
            self.auth_generation.clone(),
            Some(self.data_generation.clone()),
        )))
    }

    async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    fn shared_by_instances(&self) -> bool {
        super::SHARED_BY_INSTANCES
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn event_feed(&self) -> StoreResult<Option<crate::EventFeed>> {
        Backend::event_feed(self).await
    }

    fn auth_generation(&self) -> u64 {
        self.auth_generation.load(Ordering::Acquire)
    }

    async fn guild(&self, id: &str) -> StoreResult<Option<Guild>> {
        let row = sqlx::query("SELECT * FROM guilds WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::guild).transpose()
    }

    async fn members(&self, guild_id: &str) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query("SELECT * FROM members WHERE guild_id = $1 ORDER BY user_id")
            .bind(guild_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::member).collect()
    }

    async fn member(&self, guild_id: &str, user_id: &str) -> StoreResult<Option<Member>> {
        let row = sqlx::query("SELECT * FROM members WHERE guild_id = $1 AND user_id = $2")
            .bind(guild_id)
            .bind(user_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::member).transpose()
    }

    async fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenAuth>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, m.capabilities AS issuer_capabilities, g.tier AS guild_tier, \
             g.mcp_enabled AS guild_mcp_enabled \
             FROM api_tokens t JOIN guilds g ON g.id = t.guild_id \
             LEFT JOIN members m ON m.guild_id = t.guild_id AND m.user_id = t.user_id \
             WHERE t.secret_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(secret_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::token_auth).transpose()
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn tokens_of_guild(&self, guild_id: &str) -> StoreResult<Vec<TokenRecord>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.guild_id = $1 ORDER BY t.id");
        let rows = sqlx::query(&sql)
            .bind(guild_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::token).collect()
    }

    async fn current_window(
        &self,
        token_id: &str,
        now: Millis,
    ) -> StoreResult<Option<ReauthWindow>> {
        // The open window that ends last is open now, if any is: cache it, compare to now.
        // Opening and closing windows bump the auth generation, so other writes (a strike
        // every request) leave this entry alone.
        let generation = self.auth_generation.load(Ordering::Acquire);
        let key = format!("window\u{1}{token_id}");
        let latest = match self.reads.get::<Option<ReauthWindow>>(&key, generation) {
            Some(hit) => hit,
            None => {
                let row = sqlx::query(
                    "SELECT * FROM reauth_windows WHERE token_id = $1 AND closed_at IS NULL \
                     ORDER BY expires_at DESC LIMIT 1",
                )
                .bind(token_id)
                .fetch_optional(&self.reader)
                .await?;
                let latest = row.as_ref().map(rows::window).transpose()?;
                // Only a found window is remembered: one opened by another process (the
                // admin CLI) must count at once, while one it closes early may still
                // count for up to a second.
                if latest.is_some() {
                    self.reads.put(key, generation, &latest);
                }
                latest
            }
        };
        Ok(latest.filter(|window| window.expires_at > now))
    }

    async fn is_restricted(
        &self,
        table: Restriction,
        guild_id: &str,
        user_id: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let sql = match table {
            Restriction::Ban => {
                "SELECT COUNT(*) FROM bans WHERE guild_id = $1 AND user_id = $2 AND lifted_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $3)"
            }
            Restriction::Mute => {
                "SELECT COUNT(*) FROM mutes WHERE guild_id = $1 AND user_id = $2 AND lifted_at IS NULL \
                 AND expires_at > $3"
            }
        };
        let count: i64 = sqlx::query_scalar(sql)
            .bind(guild_id)
            .bind(user_id)
            .bind(now)
            .fetch_one(&self.reader)
            .await?;
        Ok(count > 0)
    }

    async fn expired_bans(&self, now: Millis, limit: u32) -> StoreResult<Vec<Ban>> {
        let rows = sqlx::query(
            "SELECT * FROM bans WHERE lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(rows::ban).collect()
    }

    async fn pending_intents(&self, created_before: Millis) -> StoreResult<Vec<Intent>> {
        let rows = sqlx::query(
            "SELECT * FROM upstream_intents WHERE status = 'pending' AND created_at < $1 ORDER BY id",
        )
        .bind(created_before)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(rows::intent).collect()
    }

    async fn pending_intent_count(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM upstream_intents WHERE status = 'pending'")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn device_code(&self, code_hash: &[u8]) -> StoreResult<Option<DeviceCode>> {
        let row = sqlx::query("SELECT * FROM device_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::device_code).transpose()
    }

    async fn device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
        let row = sqlx::query("SELECT * FROM device_codes WHERE user_code = $1")
            .bind(user_code)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::device_code).transpose()
    }

    async fn strikes(&self, guild_id: &str, req: &PageRequest) -> StoreResult<Page<Strike>> {
        let sql = "SELECT * FROM strikes WHERE guild_id = $1 AND removed_at IS NULL";
        self.cached_page(sql, &[guild_id], req, rows::strike, |s| &s.id)
            .await
    }

    async fn tickets(&self, guild_id: &str, req: &PageRequest) -> StoreResult<Page<Ticket>> {
        let sql = "SELECT * FROM tickets WHERE guild_id = $1";
        self.cached_page(sql, &[guild_id], req, rows::ticket, |t| &t.id)
            .await
    }

    async fn ticket(&self, guild_id: &str, id: &str) -> StoreResult<Option<Ticket>> {
        let row = sqlx::query("SELECT * FROM tickets WHERE guild_id = $1 AND id = $2")
            .bind(guild_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::ticket).transpose()
    }

    async fn active_bans(
        &self,
        guild_id: &str,
        now: Millis,
        req: &PageRequest,
    ) -> StoreResult<Page<Ban>> {
        let sql = now_bound(
            "SELECT * FROM bans WHERE guild_id = $1 AND lifted_at IS NULL \
             AND (expires_at IS NULL OR expires_at > {now})",
            now,
        );
        page(&self.reader, &sql, &[guild_id], req, rows::ban, |b| &b.id).await
    }

    async fn active_mutes(
        &self,
        guild_id: &str,
        now: Millis,
        req: &PageRequest,
    ) -> StoreResult<Page<Mute>> {
        let sql = now_bound(
            "SELECT * FROM mutes WHERE guild_id = $1 AND lifted_at IS NULL AND expires_at > {now}",
            now,
        );
        page(&self.reader, &sql, &[guild_id], req, rows::mute, |m| &m.id).await
    }

    async fn servers(&self, guild_id: &str, req: &PageRequest) -> StoreResult<Page<GameServer>> {
        let sql = "SELECT id, guild_id, name, host, port, created_at FROM game_servers WHERE guild_id = $1";
        self.cached_page(sql, &[guild_id], req, rows::server, |s| &s.id)
            .await
    }

    async fn server(&self, guild_id: &str, id: &str) -> StoreResult<Option<(GameServer, Vec<u8>)>> {
        let row = sqlx::query("SELECT * FROM game_servers WHERE guild_id = $1 AND id = $2")
            .bind(guild_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        match row {
            Some(row) => Ok(Some((rows::server(&row)?, row.try_get("sealed_password")?))),
            None => Ok(None),
        }
    }

    async fn audit(
        &self,
        guild_id: &str,
        filter: &AuditFilter,
        req: &PageRequest,
    ) -> StoreResult<Page<AuditRow>> {
        let sql = "SELECT * FROM audit_log WHERE guild_id = $1 AND surface = $5 \
                   AND ($2 = '' OR actor_source = $2) AND ($3 = '' OR token_id = $3) \
                   AND ($4 = '' OR outcome = $4) \
                   AND ($6 = '' OR at >= CAST($6 AS INTEGER)) \
                   AND ($7 = '' OR at < CAST($7 AS INTEGER))";
        let since = filter.since.map(|t| t.to_string()).unwrap_or_default();
        let until = filter.until.map(|t| t.to_string()).unwrap_or_default();
        let binds = [
            guild_id,
            filter.actor_source.as_deref().unwrap_or(""),
            filter.token_id.as_deref().unwrap_or(""),
            filter.outcome.as_deref().unwrap_or(""),
            filter.surface.as_deref().unwrap_or("guild"),
            &since,
            &until,
        ];
        page(&self.reader, sql, &binds, req, rows::audit, |a| &a.id).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        // Audit rows are not data any cached page shows: no data generation bump.
        let mut tx = self.writer.begin().await?;
        write_tx::insert_audit_rows(&mut *tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_tokens(&self, uses: &[(String, Millis, String)]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for (id, at, ip) in uses {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(id)
            .bind(at)
            .bind(ip)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn start_idempotent(
        &self,
        token_id: &str,
        key: &str,
        fingerprint: &[u8],
        now: Millis,
        stale_before: Millis,
    ) -> StoreResult<IdempotencyStart> {
        let mut tx = self.writer.begin().await?;
        // Insert first: of two first uses racing on several connections, one inserts and
        // the other finds its row (locked until the first commits) below. The row found
        // may be deleted before it is read (a failed attempt letting its hold go, on
        // another connection): then the key is free again and the insert is tried anew.
        let read_held = format!(
            "SELECT fingerprint, locked_at, locked_by, status, body, \
             CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT) AS holder_alive \
             FROM idempotency_keys WHERE token_id = $1 AND key = $2{}",
            super::HOLDER_ALIVE,
            super::lock_rows("idempotency_keys")
        );
        let mut attempts = 0;
        let row = loop {
            attempts += 1;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys \
                 (token_id, key, fingerprint, locked_at, locked_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (token_id, key) DO NOTHING",
            )
            .bind(token_id)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(&*self.instance)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                break None;
            }
            let found = sqlx::query(&read_held)
                .bind(token_id)
                .bind(key)
                .bind(&*self.instance)
                .fetch_optional(&mut *tx)
                .await?;
            match found {
                Some(row) => break Some(row),
                // Freed and taken again, over and over: another request is using the key.
                None if attempts >= 3 => return Ok(IdempotencyStart::InFlight),
                None => continue,
            }
        };
        let outcome = match row {
            // This request's own row, inserted above.
            None => IdempotencyStart::Proceed,
            Some(row) => {
                let saved: Vec<u8> = row.try_get("fingerprint")?;
                let status: Option<i64> = row.try_get("status")?;
                let locked_at: Option<i64> = row.try_get("locked_at")?;
                let locked_by: Option<String> = row.try_get("locked_by")?;
                // A hold lasts while its process lives (and at most until it is stale);
                // a hold from before holders were named lasts until it is stale.
                let holder_alive =
                    locked_by.is_none() || row.try_get::<i64, _>("holder_alive")? == 1;
                if saved != fingerprint {
                    IdempotencyStart::Mismatch
                } else if let Some(status) = status {
                    IdempotencyStart::Replay {
                        status: status as u16,
                        body: row.try_get("body")?,
                    }
                } else if holder_alive && locked_at.is_some_and(|at| at >= stale_before) {
                    IdempotencyStart::InFlight
                } else {
                    sqlx::query(
                        "UPDATE idempotency_keys SET locked_at = $3, locked_by = $4 \
                         WHERE token_id = $1 AND key = $2",
                    )
                    .bind(token_id)
                    .bind(key)
                    .bind(now)
                    .bind(&*self.instance)
                        .execute(&mut *tx)
                        .await?;
                    IdempotencyStart::Proceed
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn release_idempotent(
        &self,
        token_id: &str,
        key: &str,
        held_at: Millis,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // Only this hold: one taken over meanwhile (by this process or another) belongs
        // to the retry that took it.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND status IS NULL \
             AND locked_at = $4 AND (locked_by = $3 OR locked_by IS NULL)",
        )
        .bind(token_id)
        .bind(key)
        .bind(&*self.instance)
        .bind(held_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn expire_idempotency(&self, before: Millis) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
