//! The dashboard's part of the storage interface: owner accounts, sessions, and the token
//! lifecycle beyond mint and revoke (renew, rotate).

use async_trait::async_trait;
use guildgate_core::account::{DashboardUser, Session};
use guildgate_core::clock::Millis;
use guildgate_core::device::DeviceCode;
use guildgate_core::model::{Guild, TokenRecord};

use crate::StoreResult;

#[async_trait]
pub trait OwnerReads: Send + Sync {
    async fn dashboard_user(&self, user_id: &str) -> StoreResult<Option<DashboardUser>>;
    /// The live session whose cookie secret hashes to `id_hash`.
    async fn session(&self, id_hash: &[u8], now: Millis) -> StoreResult<Option<Session>>;
    async fn guilds_owned_by(&self, user_id: &str) -> StoreResult<Vec<Guild>>;
    /// Pairings of the guild still waiting for the owner, newest first.
    async fn pending_pairings(&self, guild_id: &str, now: Millis) -> StoreResult<Vec<DeviceCode>>;
}

#[async_trait]
pub trait OwnerWrites: Send {
    /// Creates the account, or sets a new password (and email) for an existing one.
    async fn upsert_dashboard_user(&mut self, user: &DashboardUser) -> StoreResult<()>;
    async fn insert_session(&mut self, id_hash: &[u8], session: &Session) -> StoreResult<()>;
    async fn delete_session(&mut self, id_hash: &[u8]) -> StoreResult<()>;
    /// Ends every session of the user (a password change signs out everywhere).
    async fn delete_sessions_of(&mut self, user_id: &str) -> StoreResult<u64>;
    async fn delete_expired_sessions(&mut self, now: Millis) -> StoreResult<u64>;
    /// Sets a token's expiry (renew extends it; rotation shortens the old one).
    async fn set_token_expiry(&mut self, id: &str, expires_at: Option<Millis>) -> StoreResult<()>;
    async fn mark_token_replaced(&mut self, id: &str, successor: &str) -> StoreResult<()>;
    /// Revokes rotated tokens whose grace period is over, returning them.
    async fn revoke_replaced_tokens(
        &mut self,
        now: Millis,
        reason: &str,
    ) -> StoreResult<Vec<TokenRecord>>;
}
