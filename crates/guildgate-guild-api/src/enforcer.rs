//! The seam every moderation action goes through on its way to the real world (Discord,
//! game servers over RCON). guildgate's own database is the system of record; the default
//! enforcer only records, and says so.

use async_trait::async_trait;
use guildgate_core::model::{Ban, GameServer, Mute, Purge, RconRun};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

/// Who asks, for the upstream's own audit log (Discord's `X-Audit-Log-Reason`).
#[derive(Clone, Debug, Default)]
pub struct ActionContext {
    /// The name of the token (or MCP client) the call was made with.
    pub token_name: String,
    pub reason: Option<String>,
}

impl ActionContext {
    /// `spam (guildgate token "CI deploy bot")`: the line Discord's audit log shows.
    pub fn audit_reason(&self) -> String {
        match &self.reason {
            Some(reason) => format!("{reason} (guildgate token \"{}\")", self.token_name),
            None => format!("guildgate token \"{}\"", self.token_name),
        }
    }
}

#[async_trait]
pub trait Enforcer: Send + Sync + 'static {
    /// Where Discord actions go, shown at start and in status: `record-only` or `discord`.
    fn mode(&self) -> &'static str;
    /// Where RCON commands go: `record-only` or `live`.
    fn rcon_mode(&self) -> &'static str {
        "record-only"
    }
    async fn ban(&self, ctx: &ActionContext, ban: &Ban) -> Result<(), UpstreamError>;
    async fn unban(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
    ) -> Result<(), UpstreamError>;
    async fn mute(&self, ctx: &ActionContext, mute: &Mute) -> Result<(), UpstreamError>;
    async fn lift_mute(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
    ) -> Result<(), UpstreamError>;
    async fn purge(&self, ctx: &ActionContext, purge: &Purge) -> Result<(), UpstreamError>;
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
    async fn ban(&self, _: &ActionContext, _: &Ban) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn unban(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn mute(&self, _: &ActionContext, _: &Mute) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn lift_mute(&self, _: &ActionContext, _: &str, _: &str) -> Result<(), UpstreamError> {
        Ok(())
    }
    async fn purge(&self, _: &ActionContext, _: &Purge) -> Result<(), UpstreamError> {
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
