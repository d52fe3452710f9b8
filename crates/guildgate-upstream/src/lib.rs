//! Adapters behind the guild surface's `Enforcer` seam: Source RCON, live, for every
//! registered game server; and Discord's HTTP API for bans, mutes and purges when a bot
//! token is configured (record-only without one).

pub mod discord;
#[cfg(feature = "stand-in")]
pub mod discord_stand_in;
pub mod rcon;
#[cfg(any(test, feature = "stand-in"))]
pub mod stand_in;

use std::time::Duration;

use async_trait::async_trait;
use guildgate_core::model::{Ban, GameServer, Mute, Purge, RconRun};
use guildgate_guild_api::{ActionContext, Enforcer, UpstreamError};

pub use discord::{BotToken, DiscordClient, DiscordConfig, DiscordError, DiscordLimits};

/// Runs RCON commands on the game servers; carries Discord actions to Discord when a
/// client is configured, and only records them otherwise.
pub struct Upstream {
    pub rcon_timeouts: rcon::Timeouts,
    pub discord: Option<DiscordClient>,
}

impl Default for Upstream {
    /// No Discord: record-only for Discord actions.
    fn default() -> Self {
        Self {
            rcon_timeouts: rcon::Timeouts {
                connect: Duration::from_secs(3),
                read: Duration::from_secs(5),
            },
            discord: None,
        }
    }
}

impl Upstream {
    /// With `Some(config)`, Discord actions go to Discord; fails if the configuration
    /// cannot work (an empty token, a base URL that is not http(s)).
    pub fn new(discord: Option<DiscordConfig>) -> Result<Self, UpstreamError> {
        let discord = discord
            .map(DiscordClient::new)
            .transpose()
            .map_err(|e| UpstreamError(e.to_string()))?;
        Ok(Self {
            discord,
            ..Self::default()
        })
    }
}

fn on_discord(action: String) -> impl FnOnce(DiscordError) -> UpstreamError {
    move |e| UpstreamError(format!("Discord {action}: {e}"))
}

#[async_trait]
impl Enforcer for Upstream {
    fn mode(&self) -> &'static str {
        if self.discord.is_some() {
            "discord"
        } else {
            "record-only"
        }
    }

    fn rcon_mode(&self) -> &'static str {
        "live"
    }

    async fn ban(&self, ctx: &ActionContext, ban: &Ban) -> Result<(), UpstreamError> {
        let Some(discord) = &self.discord else {
            return Ok(());
        };
        discord
            .ban(ctx, &ban.guild_id, &ban.user_id, ban.delete_message_seconds)
            .await
            .map_err(on_discord(format!(
                "ban of user {} in guild {}",
                ban.user_id, ban.guild_id
            )))
    }

    async fn unban(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
    ) -> Result<(), UpstreamError> {
        let Some(discord) = &self.discord else {
            return Ok(());
        };
        discord
            .unban(ctx, guild_id, user_id)
            .await
            .map_err(on_discord(format!(
                "unban of user {user_id} in guild {guild_id}"
            )))
    }

    async fn mute(&self, ctx: &ActionContext, mute: &Mute) -> Result<(), UpstreamError> {
        let Some(discord) = &self.discord else {
            return Ok(());
        };
        discord
            .timeout(ctx, &mute.guild_id, &mute.user_id, Some(mute.expires_at))
            .await
            .map_err(on_discord(format!(
                "timeout of user {} in guild {}",
                mute.user_id, mute.guild_id
            )))
    }

    async fn lift_mute(
        &self,
        ctx: &ActionContext,
        guild_id: &str,
        user_id: &str,
    ) -> Result<(), UpstreamError> {
        let Some(discord) = &self.discord else {
            return Ok(());
        };
        discord
            .timeout(ctx, guild_id, user_id, None)
            .await
            .map_err(on_discord(format!(
                "lifting the timeout of user {user_id} in guild {guild_id}"
            )))
    }

    async fn purge(&self, ctx: &ActionContext, purge: &Purge) -> Result<(), UpstreamError> {
        let Some(discord) = &self.discord else {
            return Ok(());
        };
        let report = discord
            .purge(ctx, &purge.guild_id, &purge.channel_id, purge.count)
            .await
            .map_err(on_discord(format!(
                "purge of channel {} in guild {}",
                purge.channel_id, purge.guild_id
            )))?;
        tracing::info!(
            guild_id = %purge.guild_id,
            channel_id = %purge.channel_id,
            requested = purge.count,
            deleted = report.deleted,
            skipped_too_old = report.skipped_too_old,
            "purged on Discord"
        );
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
