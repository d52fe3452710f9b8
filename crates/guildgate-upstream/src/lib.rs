//! Adapters behind the guild surface's `Enforcer` seam. Today: Source RCON, live, for every
//! registered game server; Discord actions stay record-only until its adapter lands.

pub mod rcon;
#[cfg(any(test, feature = "stand-in"))]
pub mod stand_in;

use std::time::Duration;

use async_trait::async_trait;
use guildgate_core::model::{Ban, GameServer, Mute, Purge, RconRun};
use guildgate_guild_api::{ActionContext, Enforcer, UpstreamError};

/// Runs RCON commands on the game servers; records Discord actions only.
pub struct Upstream {
    pub rcon_timeouts: rcon::Timeouts,
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            rcon_timeouts: rcon::Timeouts {
                connect: Duration::from_secs(3),
                read: Duration::from_secs(5),
            },
        }
    }
}

#[async_trait]
impl Enforcer for Upstream {
    fn mode(&self) -> &'static str {
        "record-only"
    }
    fn rcon_mode(&self) -> &'static str {
        "live"
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
        server: &GameServer,
        password: &str,
        run: &RconRun,
    ) -> Result<Option<String>, UpstreamError> {
        let address = format!("{}:{}", server.host, server.port);
        rcon::execute(&address, password, &run.command, self.rcon_timeouts)
            .await
            .map(Some)
            .map_err(|e| UpstreamError(format!("RCON on {} ({address}): {e}", server.name)))
    }
}
