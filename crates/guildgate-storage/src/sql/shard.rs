//! The shard surface's storage on SQL (shared by the SQL backends).

use super::DbRow;
use async_trait::async_trait;
use guildgate_core::clock::Millis;
use guildgate_core::ids::new_ulid;
use guildgate_core::shard::{ScopeSet, ShardKey};
use sqlx::Row;

use super::Backend;
use super::write_tx::BackendTx;
use crate::shard::{
    DeliveryResult, DueDelivery, ShardDoc, ShardReads, ShardRow, ShardWrites, StoredEvent,
    TemporaryAssignment, WebhookRow,
};
use crate::{StoreError, StoreResult};

const SHARD_SELECT: &str = "SELECT g.id AS guild_id, g.name AS guild_name, \
     COALESCE(s.tier, 'free') AS tier, COALESCE(s.config, '{}') AS config, \
     COALESCE(s.version, 0) AS version, COALESCE(s.archive_version, 0) AS archive_version \
     FROM guilds g LEFT JOIN shards s ON s.guild_id = g.id WHERE g.id = $1";

fn shard_row(row: &DbRow) -> StoreResult<ShardRow> {
    Ok(ShardRow {
        guild_id: row.try_get("guild_id")?,
        guild_name: row.try_get("guild_name")?,
        tier: row.try_get("tier")?,
        config: row.try_get("config")?,
        version: row.try_get("version")?,
        archive_version: row.try_get("archive_version")?,
    })
}

fn key_row(row: &DbRow) -> StoreResult<ShardKey> {
    Ok(ShardKey {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        name: row.try_get("name")?,
        scopes: ScopeSet::parse_list(row.try_get("scopes")?)
            .map_err(|_| StoreError::Internal("stored shard key scopes are not valid".into()))?,
        created_at: row.try_get("created_at")?,
        last_used_at: None,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn event_row(row: &DbRow) -> StoreResult<StoredEvent> {
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        guild_id: row.try_get("guild_id")?,
        kind: row.try_get("type")?,
        at: row.try_get("at")?,
        data: row.try_get("data")?,
    })
}

fn doc_row(row: &DbRow) -> StoreResult<ShardDoc> {
    Ok(ShardDoc {
        id: row.try_get("id")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn webhook_row(row: &DbRow) -> StoreResult<WebhookRow> {
    Ok(WebhookRow {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        url: row.try_get("url")?,
        events: row.try_get("events")?,
        sealed_secret: row.try_get("sealed_secret")?,
        created_at: row.try_get("created_at")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
        last_error: row.try_get("last_error")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

#[async_trait]
impl ShardReads for Backend {
    async fn shard(&self, guild_id: &str) -> StoreResult<Option<ShardRow>> {
        let row = sqlx::query(SHARD_SELECT)
            .bind(guild_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(shard_row).transpose()
    }

    async fn shard_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ShardKey>> {
        let row = sqlx::query("SELECT * FROM shard_keys WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn shard_keys(&self, guild_id: &str) -> StoreResult<Vec<ShardKey>> {
        let rows =
            sqlx::query("SELECT * FROM shard_keys WHERE guild_id = $1 ORDER BY created_at, id")
                .bind(guild_id)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(key_row).collect()
    }

    async fn shard_key(&self, id: &str) -> StoreResult<Option<ShardKey>> {
        let row = sqlx::query("SELECT * FROM shard_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn shard_events_after(
        &self,
        guild_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT * FROM shard_events WHERE guild_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(guild_id)
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_row).collect()
    }

    async fn shard_docs(&self, guild_id: &str, kind: &str) -> StoreResult<Vec<ShardDoc>> {
        let rows = sqlx::query(
            "SELECT * FROM shard_docs WHERE guild_id = $1 AND kind = $2 ORDER BY updated_at DESC, id",
        )
        .bind(guild_id)
        .bind(kind)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(doc_row).collect()
    }

    async fn shard_doc(
        &self,
        guild_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<ShardDoc>> {
        let row =
            sqlx::query("SELECT * FROM shard_docs WHERE guild_id = $1 AND kind = $2 AND id = $3")
                .bind(guild_id)
                .bind(kind)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        row.as_ref().map(doc_row).transpose()
    }

    async fn shard_webhooks(&self, guild_id: &str) -> StoreResult<Vec<WebhookRow>> {
        let rows =
            sqlx::query("SELECT * FROM shard_webhooks WHERE guild_id = $1 ORDER BY created_at, id")
                .bind(guild_id)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(webhook_row).collect()
    }

    async fn pending_delivery_count(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM shard_deliveries WHERE status = 'pending'")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn claim_due_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>> {
        let mut tx = self.writer.begin().await?;
        // The outer condition is checked again on each row as it is updated: a delivery
        // another instance claimed meanwhile is no longer due, and is skipped.
        let claimed: Vec<String> = sqlx::query_scalar(
            "UPDATE shard_deliveries SET next_attempt_at = $3 \
             WHERE status = 'pending' AND next_attempt_at <= $1 AND id IN ( \
             SELECT d.id FROM shard_deliveries d JOIN shard_webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
             ORDER BY d.next_attempt_at, d.event_seq LIMIT $2) RETURNING id",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(lease_until)
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=claimed.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT d.id AS delivery_id, d.attempts, w.*, e.seq, e.guild_id AS event_guild, \
             e.type, e.at, e.data \
             FROM shard_deliveries d JOIN shard_webhooks w ON w.id = d.webhook_id \
             JOIN shard_events e ON e.seq = d.event_seq \
             WHERE d.id IN ({}) ORDER BY e.seq",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in &claimed {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    id: row.try_get("delivery_id")?,
                    attempts: row.try_get("attempts")?,
                    webhook: webhook_row(row)?,
                    event: StoredEvent {
                        seq: row.try_get("seq")?,
                        guild_id: row.try_get("event_guild")?,
                        kind: row.try_get("type")?,
                        at: row.try_get("at")?,
                        data: row.try_get("data")?,
                    },
                })
            })
            .collect()
    }

    async fn due_temporary_assignments(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<TemporaryAssignment>> {
        let rows = sqlx::query(
            "SELECT * FROM shard_temporary_assignments WHERE expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TemporaryAssignment {
                    guild_id: row.try_get("guild_id")?,
                    user_id: row.try_get("user_id")?,
                    net_uid: row.try_get("net_uid")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ShardWrites for BackendTx {
    async fn shard_for_update(&mut self, guild_id: &str) -> StoreResult<Option<ShardRow>> {
        // The guild row is the lock that orders every change of its shard.
        let sql = format!("{SHARD_SELECT}{}", super::lock_rows("g"));
        let row = sqlx::query(&sql)
            .bind(guild_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(shard_row).transpose()
    }

    async fn shard_doc_for_update(
        &mut self,
        guild_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<ShardDoc>> {
        let sql = format!(
            "SELECT * FROM shard_docs WHERE guild_id = $1 AND kind = $2 AND id = $3{}",
            super::lock_rows("shard_docs")
        );
        let row = sqlx::query(&sql)
            .bind(guild_id)
            .bind(kind)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(doc_row).transpose()
    }

    async fn save_shard_config(
        &mut self,
        guild_id: &str,
        config: &str,
        expected_version: i64,
        now: Millis,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO shards (guild_id, config, version, updated_at) VALUES ($1, $2, 1, $4) \
             ON CONFLICT (guild_id) DO UPDATE SET config = excluded.config, \
             version = shards.version + 1, updated_at = excluded.updated_at \
             WHERE shards.version = $3",
        )
        .bind(guild_id)
        .bind(config)
        .bind(expected_version)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(
                "the shard configuration changed meanwhile".into(),
            ))
        }
    }

    async fn set_shard_tier(&mut self, guild_id: &str, tier: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shards (guild_id, tier, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (guild_id) DO UPDATE SET tier = excluded.tier, updated_at = excluded.updated_at",
        )
        .bind(guild_id)
        .bind(tier)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_shard_key(&mut self, key: &ShardKey, secret_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shard_keys (id, guild_id, name, secret_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.guild_id)
        .bind(&key.name)
        .bind(secret_hash)
        .bind(key.scopes.to_list())
        .bind(key.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn revoke_shard_key(&mut self, id: &str, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE shard_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_shard_event(
        &mut self,
        guild_id: &str,
        kind: &str,
        at: Millis,
        data: &str,
    ) -> StoreResult<i64> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO shard_events (guild_id, type, at, data) VALUES ($1, $2, $3, $4) \
             RETURNING seq",
        )
        .bind(guild_id)
        .bind(kind)
        .bind(at)
        .bind(data)
        .fetch_one(&mut *self.tx)
        .await?;
        // Where several instances share the database, the others hear of the event when
        // (and only if) this transaction commits.
        if let Some(notify) = super::EVENT_NOTIFY {
            sqlx::query(notify)
                .bind(format!("{guild_id}:{seq}"))
                .execute(&mut *self.tx)
                .await?;
        }
        let webhooks: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, events FROM shard_webhooks WHERE guild_id = $1 AND disabled_at IS NULL",
        )
        .bind(guild_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let wanted = |events: &str| {
            serde_json::from_str::<Vec<String>>(events)
                .is_ok_and(|list| list.iter().any(|e| e == kind || e == "*"))
        };
        for (webhook, _) in webhooks.into_iter().filter(|(_, events)| wanted(events)) {
            sqlx::query(
                "INSERT INTO shard_deliveries (id, webhook_id, event_seq, next_attempt_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(format!("msg_{}", new_ulid()))
            .bind(webhook)
            .bind(seq)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(seq)
    }

    async fn put_shard_doc(
        &mut self,
        guild_id: &str,
        kind: &str,
        id: &str,
        body: &str,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shard_docs (guild_id, kind, id, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (guild_id, kind, id) DO UPDATE \
             SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(guild_id)
        .bind(kind)
        .bind(id)
        .bind(body)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn delete_shard_doc(
        &mut self,
        guild_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM shard_docs WHERE guild_id = $1 AND kind = $2 AND id = $3")
                .bind(guild_id)
                .bind(kind)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn bump_archive_version(&mut self, guild_id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shards (guild_id, archive_version, updated_at) VALUES ($1, 1, $2) \
             ON CONFLICT (guild_id) DO UPDATE SET archive_version = shards.archive_version + 1",
        )
        .bind(guild_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn put_temporary_assignment(&mut self, temp: &TemporaryAssignment) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shard_temporary_assignments (guild_id, user_id, net_uid, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, user_id, net_uid) \
             DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(&temp.guild_id)
        .bind(&temp.user_id)
        .bind(&temp.net_uid)
        .bind(temp.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn delete_temporary_assignment(
        &mut self,
        guild_id: &str,
        user_id: &str,
        net_uid: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM shard_temporary_assignments \
             WHERE guild_id = $1 AND user_id = $2 AND net_uid = $3",
        )
        .bind(guild_id)
        .bind(user_id)
        .bind(net_uid)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_webhook(&mut self, webhook: &WebhookRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shard_webhooks (id, guild_id, url, events, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&webhook.id)
        .bind(&webhook.guild_id)
        .bind(&webhook.url)
        .bind(&webhook.events)
        .bind(&webhook.sealed_secret)
        .bind(webhook.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn delete_webhook(&mut self, guild_id: &str, id: &str) -> StoreResult<bool> {
        sqlx::query("DELETE FROM shard_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        let done = sqlx::query("DELETE FROM shard_webhooks WHERE guild_id = $1 AND id = $2")
            .bind(guild_id)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_delivery(
        &mut self,
        delivery_id: &str,
        webhook_id: &str,
        result: &DeliveryResult,
        now: Millis,
        disable_after: i64,
    ) -> StoreResult<bool> {
        let (status, next_at, error) = match result {
            DeliveryResult::Delivered => ("delivered", now, None),
            DeliveryResult::Retry { at, error } => ("pending", *at, Some(error.as_str())),
            DeliveryResult::GaveUp { error } => ("failed", now, Some(error.as_str())),
        };
        sqlx::query(
            "UPDATE shard_deliveries SET attempts = attempts + 1, status = $2, \
             next_attempt_at = $3, last_error = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(delivery_id)
        .bind(status)
        .bind(next_at)
        .bind(error)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if error.is_none() {
            sqlx::query("UPDATE shard_webhooks SET consecutive_failures = 0 WHERE id = $1")
                .bind(webhook_id)
                .execute(&mut *self.tx)
                .await?;
            return Ok(false);
        }
        let disabled = sqlx::query(
            "UPDATE shard_webhooks SET consecutive_failures = consecutive_failures + 1, \
             last_error = $2, disabled_at = CASE WHEN consecutive_failures + 1 >= $3 \
             THEN $4 ELSE disabled_at END WHERE id = $1 RETURNING disabled_at",
        )
        .bind(webhook_id)
        .bind(error)
        .bind(disable_after)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?
        .and_then(|row| row.try_get::<Option<i64>, _>("disabled_at").ok().flatten())
        .is_some_and(|at| at == now);
        if disabled {
            sqlx::query(
                "UPDATE shard_deliveries SET status = 'failed', updated_at = $2 \
                 WHERE webhook_id = $1 AND status = 'pending'",
            )
            .bind(webhook_id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(disabled)
    }
}
