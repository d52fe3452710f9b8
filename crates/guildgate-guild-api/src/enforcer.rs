//! The seam every moderation action goes through on its way to the real world (Discord,
//! game servers over RCON). guildgate's own database is the system of record; the default
//! enforcer only records, and says so.

use async_trait::async_trait;
use guildgate_core::model::{Ban, GameServer, Mute, Purge, RconRun};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

#[async_trait]
pub trait Enforcer: Send + Sync + 'static {
    /// Shown at start and in status: `record-only`, `discord`, ...
    fn mode(&self) -> &'static str;
    async fn ban(&self, ban: &Ban) -> Result<(), UpstreamError>;
    async fn unban(&self, guild_id: &str, user_id: &str) -> Result<(), UpstreamError>;
    async fn mute(&self, mute: &Mute) -> Result<(), UpstreamError>;
    async fn lift_mute(&self, guild_id: &str, user_id: &str) -> Result<(), UpstreamError>;
    async fn purge(&self, purge: &Purge) -> Result<(), UpstreamError>;
    /// Runs the command; `Some(output)` when the server answered.
    async fn rcon(
        &self,
        server: &GameServer,
        password: &str,
        run: &RconRun,
    ) -> Result<Option<String>, UpstreamError>;
}

/// Records actions in guildgate's database and pushes nothing anywhere.
pub struct RecordOnly;

#[async_trait]
impl Enforcer for RecordOnly {
    fn mode(&self) -> &'static str {
        "record-only"
    }
    async fn ban(&self, _: &Ban) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn unban(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn mute(&self, _: &Mute) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn lift_mute(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn purge(&self, _: &Purge) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn rcon(
        &self,
        _: &GameServer,
        _: &str,
        _: &RconRun,
    ) -> Result<Option<String>, UpstreamError> {
        Ok(None)
    }
}
