//! The write transaction both SQL backends share: one backend write (`super::Write`)
//! carrying every change, its audit row and (for idempotent calls) its saved response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Write;
use async_trait::async_trait;
use guildgate_core::audit::AuditEvent;
use guildgate_core::clock::Millis;
use guildgate_core::device::DeviceCode;
use guildgate_core::intent::{Intent, IntentStatus};
use guildgate_core::model::{
    Ban, GameServer, Guild, GuildTier, Member, Mute, Purge, RconRun, ReauthWindow, Strike, Ticket,
    TokenRecord,
};

use super::rows;
use crate::{RevokeScope, StoreResult, WriteTx};

pub struct BackendTx {
    pub(super) tx: Write,
    auth_generation: Arc<AtomicU64>,
    /// This transaction changes what some token may do: caches must forget on commit.
    pub(super) touches_auth: bool,
    /// Bumped on commit when this transaction may change data a cached read shows.
    data_generation: Option<Arc<AtomicU64>>,
}

impl BackendTx {
    pub fn new(
        tx: Write,
        auth_generation: Arc<AtomicU64>,
        data_generation: Option<Arc<AtomicU64>>,
    ) -> Self {
        Self {
            tx,
            auth_generation,
            touches_auth: false,
            data_generation,
        }
    }
}

fn cidr_list(token: &TokenRecord) -> String {
    token
        .allowed_cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[async_trait]
impl WriteTx for BackendTx {
    async fn insert_guild(&mut self, guild: &Guild) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO guilds (id, name, owner_id, tier, created_at, mcp_enabled) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&guild.id)
        .bind(&guild.name)
        .bind(&guild.owner_id)
        .bind(guild.tier.as_str())
        .bind(guild.created_at)
        .bind(guild.mcp_enabled)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_guild_tier(&mut self, id: &str, tier: GuildTier) -> StoreResult<bool> {
        self.touches_auth = true;
        let done = sqlx::query("UPDATE guilds SET tier = $2 WHERE id = $1")
            .bind(id)
            .bind(tier.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_guild_mcp(&mut self, id: &str, enabled: bool) -> StoreResult<bool> {
        self.touches_auth = true;
        let done = sqlx::query("UPDATE guilds SET mcp_enabled = $2 WHERE id = $1")
            .bind(id)
            .bind(enabled)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_intent(&mut self, intent: &Intent) -> StoreResult<()> {
        let action = serde_json::to_string(&intent.action)
            .map_err(|e| crate::StoreError::Internal(format!("intent action: {e}")))?;
        sqlx::query(
            "INSERT INTO upstream_intents (id, guild_id, action, token_id, token_name, reason, request_id, \
             created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')",
        )
        .bind(&intent.id)
        .bind(intent.action.guild_id())
        .bind(action)
        .bind(&intent.token_id)
        .bind(&intent.token_name)
        .bind(&intent.reason)
        .bind(&intent.request_id)
        .bind(intent.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn lift_expired_ban(&mut self, id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE bans SET lifted_at = $2, lifted_by = 'expiry' WHERE id = $1 AND lifted_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn resolve_intent(
        &mut self,
        id: &str,
        status: IntentStatus,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE upstream_intents SET status = $2, resolved_at = $3 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_intent(&mut self, id: &str) -> StoreResult<bool> {
        let sql = format!(
            "SELECT id FROM upstream_intents WHERE id = $1 AND status = 'pending'{}",
            super::lock_rows_unless_held("upstream_intents")
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    async fn insert_device_code(&mut self, c: &DeviceCode, code_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO device_codes (code_hash, user_code, guild_id, client_name, created_at, expires_at, \
             interval_secs, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(code_hash)
        .bind(&c.user_code)
        .bind(&c.guild_id)
        .bind(&c.client_name)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.interval_secs)
        .bind(c.status.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn update_device_code(
        &mut self,
        c: &DeviceCode,
        token_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE device_codes SET status = $2, last_polled_at = $3, interval_secs = $4, approved_by = $5, \
             capabilities = $6, token_id = COALESCE($7, token_id) WHERE user_code = $1",
        )
        .bind(&c.user_code)
        .bind(c.status.as_str())
        .bind(c.last_polled_at)
        .bind(c.interval_secs)
        .bind(&c.approved_by)
        .bind(c.capabilities.map(|caps| caps.to_list()))
        .bind(token_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn upsert_member(&mut self, member: &Member) -> StoreResult<()> {
        self.touches_auth = true;
        sqlx::query(
            "INSERT INTO members (guild_id, user_id, capabilities, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (guild_id, user_id) DO UPDATE SET capabilities = excluded.capabilities",
        )
        .bind(&member.guild_id)
        .bind(&member.user_id)
        .bind(member.capabilities.to_list())
        .bind(member.added_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn remove_member(&mut self, guild_id: &str, user_id: &str) -> StoreResult<bool> {
        self.touches_auth = true;
        let done = sqlx::query("DELETE FROM members WHERE guild_id = $1 AND user_id = $2")
            .bind(guild_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_token(&mut self, token: &TokenRecord, secret_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, guild_id, user_id, name, secret_hash, capabilities, \
             allowed_cidrs, allow_self_reauth, created_at, expires_at, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&token.id)
        .bind(&token.guild_id)
        .bind(&token.user_id)
        .bind(&token.name)
        .bind(secret_hash)
        .bind(token.capabilities.to_list())
        .bind(cidr_list(token))
        .bind(token.allow_self_reauth)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(&token.source)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn revoke_tokens(
        &mut self,
        scope: RevokeScope<'_>,
        now: Millis,
        reason: &str,
    ) -> StoreResult<u64> {
        self.touches_auth = true;
        let (filter, a, b) = match scope {
            RevokeScope::Token(id) => ("id = $3", id, ""),
            RevokeScope::User { guild_id, user_id } => {
                ("guild_id = $3 AND user_id = $4", guild_id, user_id)
            }
            RevokeScope::Guild(guild_id) => ("guild_id = $3 AND $4 = ''", guild_id, ""),
        };
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = $1, revoked_reason = $2 WHERE revoked_at IS NULL AND {filter}"
        );
        let done = sqlx::query(&sql)
            .bind(now)
            .bind(reason)
            .bind(a)
            .bind(b)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn open_window(&mut self, window: &ReauthWindow) -> StoreResult<()> {
        // Windows are read through a cache keyed on the auth generation.
        self.touches_auth = true;
        self.close_windows(&window.token_id, window.opened_at)
            .await?;
        sqlx::query(
            "INSERT INTO reauth_windows (id, token_id, opened_at, expires_at, opened_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&window.window_id)
        .bind(&window.token_id)
        .bind(window.opened_at)
        .bind(window.expires_at)
        .bind(window.opened_by.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn close_windows(&mut self, token_id: &str, now: Millis) -> StoreResult<u64> {
        self.touches_auth = true;
        let done = sqlx::query(
            "UPDATE reauth_windows SET closed_at = $2 \
             WHERE token_id = $1 AND closed_at IS NULL AND expires_at > $2",
        )
        .bind(token_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_strike(&mut self, s: &Strike) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO strikes (id, guild_id, user_id, player_name, in_game_id, reason, category, \
             severity, issued_by, token_id, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&s.id)
        .bind(&s.guild_id)
        .bind(&s.user_id)
        .bind(&s.player_name)
        .bind(&s.in_game_id)
        .bind(&s.reason)
        .bind(&s.category)
        .bind(s.severity.as_str())
        .bind(&s.issued_by)
        .bind(&s.token_id)
        .bind(s.issued_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn strike(&mut self, guild_id: &str, id: &str) -> StoreResult<Option<Strike>> {
        let sql = format!(
            "SELECT * FROM strikes WHERE guild_id = $1 AND id = $2 AND removed_at IS NULL{}",
            super::lock_rows("strikes")
        );
        let row = sqlx::query(&sql)
            .bind(guild_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::strike).transpose()
    }

    async fn remove_strike(&mut self, id: &str, now: Millis, by: &str) -> StoreResult<()> {
        sqlx::query("UPDATE strikes SET removed_at = $2, removed_by = $3 WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(by)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_ticket(&mut self, t: &Ticket) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tickets (id, guild_id, opened_by, subject, status, claimed_by, claimed_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id)
        .bind(&t.guild_id)
        .bind(&t.opened_by)
        .bind(&t.subject)
        .bind(&t.status)
        .bind(&t.claimed_by)
        .bind(t.claimed_at)
        .bind(t.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn ticket(&mut self, guild_id: &str, id: &str) -> StoreResult<Option<Ticket>> {
        let sql = format!(
            "SELECT * FROM tickets WHERE guild_id = $1 AND id = $2{}",
            super::lock_rows("tickets")
        );
        let row = sqlx::query(&sql)
            .bind(guild_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::ticket).transpose()
    }

    async fn save_ticket_claim(&mut self, t: &Ticket) -> StoreResult<()> {
        sqlx::query("UPDATE tickets SET claimed_by = $2, claimed_at = $3 WHERE id = $1")
            .bind(&t.id)
            .bind(&t.claimed_by)
            .bind(t.claimed_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn replace_ban(&mut self, ban: &Ban) -> StoreResult<()> {
        self.lift_ban(&ban.guild_id, &ban.user_id, ban.issued_at, &ban.issued_by)
            .await?;
        sqlx::query(
            "INSERT INTO bans (id, guild_id, user_id, reason, duration_minutes, delete_message_seconds, \
             issued_by, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&ban.id)
        .bind(&ban.guild_id)
        .bind(&ban.user_id)
        .bind(&ban.reason)
        .bind(ban.duration_minutes.map(i64::from))
        .bind(i64::from(ban.delete_message_seconds))
        .bind(&ban.issued_by)
        .bind(ban.issued_at)
        .bind(ban.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn lift_ban(
        &mut self,
        guild_id: &str,
        user_id: &str,
        now: Millis,
        by: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE bans SET lifted_at = $3, lifted_by = $4 WHERE guild_id = $1 AND user_id = $2 \
             AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(guild_id)
        .bind(user_id)
        .bind(now)
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_mute(&mut self, mute: &Mute) -> StoreResult<()> {
        self.lift_mute(
            &mute.guild_id,
            &mute.user_id,
            mute.issued_at,
            &mute.issued_by,
        )
        .await?;
        sqlx::query(
            "INSERT INTO mutes (id, guild_id, user_id, reason, duration_minutes, issued_by, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&mute.id)
        .bind(&mute.guild_id)
        .bind(&mute.user_id)
        .bind(&mute.reason)
        .bind(i64::from(mute.duration_minutes))
        .bind(&mute.issued_by)
        .bind(mute.issued_at)
        .bind(mute.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn lift_mute(
        &mut self,
        guild_id: &str,
        user_id: &str,
        now: Millis,
        by: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE mutes SET lifted_at = $3, lifted_by = $4 WHERE guild_id = $1 AND user_id = $2 \
             AND lifted_at IS NULL AND expires_at > $3",
        )
        .bind(guild_id)
        .bind(user_id)
        .bind(now)
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_purge(&mut self, p: &Purge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO purges (id, guild_id, channel_id, count, reason, issued_by, issued_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&p.id)
        .bind(&p.guild_id)
        .bind(&p.channel_id)
        .bind(i64::from(p.count))
        .bind(&p.reason)
        .bind(&p.issued_by)
        .bind(p.issued_at)
        .bind(&p.status)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_server(&mut self, s: &GameServer, sealed_password: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO game_servers (id, guild_id, name, host, port, sealed_password, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.guild_id)
        .bind(&s.name)
        .bind(&s.host)
        .bind(i64::from(s.port))
        .bind(sealed_password)
        .bind(s.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_rcon_run(&mut self, r: &RconRun) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO rcon_runs (id, guild_id, server_id, command, issued_by, issued_at, status, output) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(&r.guild_id)
        .bind(&r.server_id)
        .bind(&r.command)
        .bind(&r.issued_by)
        .bind(r.issued_at)
        .bind(&r.status)
        .bind(&r.output)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        super::append_audit_row(&mut self.tx, e).await
    }

    async fn complete_idempotent(
        &mut self,
        token_id: &str,
        key: &str,
        held_at: Millis,
        status: u16,
        body: &str,
    ) -> StoreResult<()> {
        let saved = sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4, locked_at = NULL \
             WHERE token_id = $1 AND key = $2 AND status IS NULL AND locked_at = $5",
        )
        .bind(token_id)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .bind(held_at)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if saved == 0 {
            // The hold went stale and a retry took the key over: that retry answers it,
            // and this write must not commit beside it.
            return Err(crate::StoreError::Conflict(
                "the Idempotency-Key was taken over by a retry".to_owned(),
            ));
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let mut this = self;
        // Other instances on the same database drop their cached grants and pages when
        // (and only if) this commits.
        let change = if this.touches_auth {
            Some(super::CHANGE_AUTH)
        } else {
            this.data_generation.as_ref().map(|_| super::CHANGE_DATA)
        };
        if let (Some(notify), Some(change)) = (super::CHANGE_NOTIFY, change) {
            sqlx::query(notify)
                .bind(change)
                .execute(&mut *this.tx)
                .await?;
        }
        let this = this;
        this.tx.commit().await?;
        if this.touches_auth {
            this.auth_generation.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(data) = &this.data_generation {
            data.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }
}

/// Rows per `INSERT` statement: one hand-off to SQLite's worker thread carries this many.
/// A batch goes in as statements of power-of-two sizes up to this, so the few statement
/// texts there are stay prepared: a text per batch size would be parsed for most batches.
pub(crate) const AUDIT_ROWS_PER_STATEMENT: usize = 64;
const AUDIT_STATEMENT_SIZES: usize = AUDIT_ROWS_PER_STATEMENT.trailing_zeros() as usize + 1;
const AUDIT_COLUMNS: usize = 16;

/// The multi-row `INSERT` for `rows` audit rows.
pub(crate) fn audit_insert_sql(rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO audit_log (id, at, guild_id, actor_source, actor_user_id, token_id, \
         token_name, action, method, path, outcome, status, request_id, ip, target, surface) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..AUDIT_COLUMNS {
            if column > 0 {
                sql.push(',');
            }
            if super::NUMBERED_PLACEHOLDERS {
                let _ = write!(sql, "${}", row * AUDIT_COLUMNS + column + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Inserts audit rows, many per statement.
/// `conn` is the connection itself or, for a SQLite write, its savepoint's executor.
pub async fn insert_audit_rows<X>(conn: &mut X, events: &[AuditEvent]) -> StoreResult<()>
where
    for<'c> &'c mut X: sqlx::Executor<'c, Database = super::Db>,
{
    static STATEMENTS: [std::sync::OnceLock<String>; AUDIT_STATEMENT_SIZES] =
        [const { std::sync::OnceLock::new() }; AUDIT_STATEMENT_SIZES];
    let mut rest = events;
    while !rest.is_empty() {
        let size = AUDIT_ROWS_PER_STATEMENT.min(1 << rest.len().ilog2());
        let (chunk, after) = rest.split_at(size);
        rest = after;
        let sql = STATEMENTS[size.trailing_zeros() as usize].get_or_init(|| audit_insert_sql(size));
        bind_audit_rows(sqlx::query(sql), chunk)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A statement with its arguments, on this backend.
pub(crate) type Query<'q> = sqlx::query::Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments<'q>>;

/// Binds `events` in the column order of [`audit_insert_sql`].
pub(crate) fn bind_audit_rows<'q>(mut query: Query<'q>, events: &'q [AuditEvent]) -> Query<'q> {
    for e in events {
        query = query
            .bind(&e.id)
            .bind(e.at)
            .bind(&e.guild_id)
            .bind(e.actor_source.as_str())
            .bind(&e.actor_user_id)
            .bind(&e.token_id)
            .bind(&e.token_name)
            .bind(&e.action)
            .bind(&e.method)
            .bind(&e.path)
            .bind(&e.outcome)
            .bind(e.status.map(i64::from))
            .bind(&e.request_id)
            .bind(&e.ip)
            .bind(&e.target)
            .bind(e.surface);
    }
    query
}
