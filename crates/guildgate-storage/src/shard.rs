//! The shard surface's part of the storage interface. The configuration is one versioned
//! JSON document per shard: the core parses and changes it, storage keeps it.

use async_trait::async_trait;
use guildgate_core::clock::Millis;
use guildgate_core::shard::ShardKey;

use crate::StoreResult;

/// A guild's shard as stored; a guild whose shard was never written reads as a free shard
/// with an empty configuration at version 0.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardRow {
    pub guild_id: String,
    pub guild_name: String,
    pub tier: String,
    pub config: String,
    pub version: i64,
    pub archive_version: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub guild_id: String,
    pub kind: String,
    pub at: Millis,
    pub data: String,
}

/// A shard-local JSON document: an archive entry or a preset.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardDoc {
    pub id: String,
    pub body: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRow {
    pub id: String,
    pub guild_id: String,
    pub url: String,
    /// JSON array of event types.
    pub events: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: Millis,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub disabled_at: Option<Millis>,
}

/// A delivery that is due, with what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct DueDelivery {
    pub id: String,
    pub attempts: i64,
    pub webhook: WebhookRow,
    pub event: StoredEvent,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemporaryAssignment {
    pub guild_id: String,
    pub user_id: String,
    pub net_uid: String,
    pub expires_at: Millis,
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryResult {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Millis,
        error: String,
    },
    /// No more attempts.
    GaveUp {
        error: String,
    },
}

#[async_trait]
pub trait ShardReads: Send + Sync {
    /// `None` when the guild does not exist.
    async fn shard(&self, guild_id: &str) -> StoreResult<Option<ShardRow>>;
    async fn shard_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ShardKey>>;
    async fn shard_keys(&self, guild_id: &str) -> StoreResult<Vec<ShardKey>>;
    async fn shard_key(&self, id: &str) -> StoreResult<Option<ShardKey>>;
    /// Events of the guild after `after_seq`, oldest first.
    async fn shard_events_after(
        &self,
        guild_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
    async fn shard_docs(&self, guild_id: &str, kind: &str) -> StoreResult<Vec<ShardDoc>>;
    async fn shard_doc(
        &self,
        guild_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<ShardDoc>>;
    async fn shard_webhooks(&self, guild_id: &str) -> StoreResult<Vec<WebhookRow>>;
    /// Webhook deliveries waiting (the backlog, for the operators' metrics).
    async fn pending_delivery_count(&self) -> StoreResult<i64>;
    /// Claims up to `limit` deliveries that are due: each is held until `lease_until` (its
    /// next attempt time moves there), so of several instances sharing the database one
    /// attempts it. The attempt's result then sets its real next time; an instance that
    /// dies mid-attempt leaves it to be claimed again when the lease ends.
    async fn claim_due_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>>;
    async fn due_temporary_assignments(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<TemporaryAssignment>>;
}

#[async_trait]
pub trait ShardWrites: Send {
    /// The shard read inside this transaction, for a read-change-write.
    async fn shard_for_update(&mut self, guild_id: &str) -> StoreResult<Option<ShardRow>>;
    /// Saves the configuration when it is still at `expected_version`; otherwise a
    /// `Conflict` (another write got there first).
    async fn save_shard_config(
        &mut self,
        guild_id: &str,
        config: &str,
        expected_version: i64,
        now: Millis,
    ) -> StoreResult<()>;
    async fn set_shard_tier(&mut self, guild_id: &str, tier: &str, now: Millis) -> StoreResult<()>;
    async fn insert_shard_key(&mut self, key: &ShardKey, secret_hash: &[u8]) -> StoreResult<()>;
    /// False when there is no such live key.
    async fn revoke_shard_key(&mut self, id: &str, now: Millis) -> StoreResult<bool>;
    /// Appends the event and queues a delivery for every enabled webhook that wants it.
    async fn insert_shard_event(
        &mut self,
        guild_id: &str,
        kind: &str,
        at: Millis,
        data: &str,
    ) -> StoreResult<i64>;
    async fn put_shard_doc(
        &mut self,
        guild_id: &str,
        kind: &str,
        id: &str,
        body: &str,
        now: Millis,
    ) -> StoreResult<()>;
    /// A shard document read inside this transaction and held until it ends: for a
    /// read-change-write of the document.
    async fn shard_doc_for_update(
        &mut self,
        guild_id: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Option<ShardDoc>>;
    async fn delete_shard_doc(&mut self, guild_id: &str, kind: &str, id: &str)
    -> StoreResult<bool>;
    /// Counts one archive change (the sync checkpoint's version).
    async fn bump_archive_version(&mut self, guild_id: &str, now: Millis) -> StoreResult<()>;
    async fn put_temporary_assignment(&mut self, temp: &TemporaryAssignment) -> StoreResult<()>;
    async fn delete_temporary_assignment(
        &mut self,
        guild_id: &str,
        user_id: &str,
        net_uid: &str,
    ) -> StoreResult<bool>;
    async fn insert_webhook(&mut self, webhook: &WebhookRow) -> StoreResult<()>;
    async fn delete_webhook(&mut self, guild_id: &str, id: &str) -> StoreResult<bool>;
    /// Records an attempt; after `disable_after` failures in a row the webhook is disabled
    /// (and true is returned).
    async fn record_delivery(
        &mut self,
        delivery_id: &str,
        webhook_id: &str,
        result: &DeliveryResult,
        now: Millis,
        disable_after: i64,
    ) -> StoreResult<bool>;
}
