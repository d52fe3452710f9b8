//! `admin guild ...` and `admin member ...`.

use clap::Subcommand;
use guildgate_core::audit::AuditEvent;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::error::ApiError;
use guildgate_core::ids::Snowflake;
use guildgate_core::model::{Guild, GuildTier, Member, revoke_reason};
use guildgate_storage::RevokeScope;
use serde_json::json;

use super::{AdminError, Ctx, Outcome};

#[derive(Subcommand)]
pub enum GuildCommand {
    /// Create a guild; its owner becomes a member holding every capability.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "pro")]
        tier: String,
    },
    /// Change the tier; leaving pro revokes every token of the guild.
    SetTier {
        #[arg(long)]
        id: String,
        #[arg(long)]
        tier: String,
    },
    /// Turn an opt-in feature on or off: `--mcp on|off` (MCP clients and their tokens).
    SetFeature {
        #[arg(long)]
        id: String,
        #[arg(long)]
        mcp: String,
    },
    /// Show a guild and its members.
    Show {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Add a member (or replace the capabilities of an existing one).
    Add {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        user: String,
        /// Comma-separated capabilities, e.g. strikes.read,strikes.write (default: none).
        #[arg(long, default_value = "")]
        capabilities: String,
    },
    /// Remove a member; their tokens are revoked.
    Remove {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        user: String,
    },
    /// Replace a member's capabilities; their tokens lose what the member loses, at once.
    SetCapabilities {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        capabilities: String,
    },
}

fn tier(value: &str) -> Result<GuildTier, AdminError> {
    GuildTier::parse(value)
        .ok_or_else(|| ApiError::validation("tier", "tier must be pro or free").into())
}

async fn existing_guild(ctx: &Ctx, id: &str) -> Result<Guild, AdminError> {
    ctx.store
        .guild(id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Guild {id}")).into())
}

pub async fn guild(ctx: &Ctx, command: GuildCommand) -> Result<Outcome, AdminError> {
    match command {
        GuildCommand::Create {
            id,
            name,
            owner,
            tier: t,
        } => {
            let guild = Guild {
                id: Snowflake::parse("id", &id)?.to_string(),
                name: name.trim().to_owned(),
                owner_id: Snowflake::parse("owner", &owner)?.to_string(),
                tier: tier(&t)?,
                mcp_enabled: false,
                created_at: ctx.now,
            };
            if guild.name.is_empty() {
                return Err(ApiError::validation("name", "name must not be empty").into());
            }
            if ctx.store.guild(&guild.id).await?.is_some() {
                return Err(AdminError::Other(format!(
                    "guild {} already exists",
                    guild.id
                )));
            }
            let mut tx = ctx.store.begin().await?;
            tx.insert_guild(&guild).await?;
            tx.upsert_member(&Member {
                guild_id: guild.id.clone(),
                user_id: guild.owner_id.clone(),
                capabilities: CapabilitySet::all(),
                added_at: ctx.now,
            })
            .await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild.id),
                "guild.create",
                Some(&guild.id),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "created guild {} ({}) on the {} tier",
                    guild.id,
                    guild.name,
                    guild.tier.as_str()
                ),
                json: json!(guild),
            })
        }
        GuildCommand::SetTier { id, tier: t } => {
            let new_tier = tier(&t)?;
            let guild = existing_guild(ctx, &id).await?;
            let mut tx = ctx.store.begin().await?;
            tx.set_guild_tier(&guild.id, new_tier).await?;
            let revoked = if new_tier == GuildTier::Pro {
                0
            } else {
                tx.revoke_tokens(
                    RevokeScope::Guild(&guild.id),
                    ctx.now,
                    revoke_reason::LEFT_PRO,
                )
                .await?
            };
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild.id),
                "guild.set_tier",
                Some(new_tier.as_str()),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "guild {} is now {}; {revoked} token(s) revoked",
                    guild.id,
                    new_tier.as_str()
                ),
                json: json!({ "id": guild.id, "tier": new_tier, "revoked_tokens": revoked }),
            })
        }
        GuildCommand::SetFeature { id, mcp } => {
            let enabled = match mcp.as_str() {
                "on" | "true" => true,
                "off" | "false" => false,
                _ => return Err(ApiError::validation("mcp", "--mcp takes on or off").into()),
            };
            let guild = existing_guild(ctx, &id).await?;
            let mut tx = ctx.store.begin().await?;
            tx.set_guild_mcp(&guild.id, enabled).await?;
            let action = if enabled {
                "guild.mcp_on"
            } else {
                "guild.mcp_off"
            };
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild.id),
                action,
                Some(&guild.id),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "MCP is {} for guild {}",
                    if enabled { "on" } else { "off" },
                    guild.id
                ),
                json: json!({ "id": guild.id, "mcp_enabled": enabled }),
            })
        }
        GuildCommand::Show { id } => {
            let guild = existing_guild(ctx, &id).await?;
            let members = ctx.store.members(&id).await?;
            Ok(Outcome {
                human: format!(
                    "{} ({}), {} tier, {} member(s)",
                    guild.id,
                    guild.name,
                    guild.tier.as_str(),
                    members.len()
                ),
                json: json!({ "guild": guild, "members": members }),
            })
        }
    }
}

pub async fn member(ctx: &Ctx, command: MemberCommand) -> Result<Outcome, AdminError> {
    match command {
        MemberCommand::Add {
            guild,
            user,
            capabilities,
        }
        | MemberCommand::SetCapabilities {
            guild,
            user,
            capabilities,
        } => {
            let guild = existing_guild(ctx, &guild).await?;
            let user = Snowflake::parse("user", &user)?.to_string();
            let capabilities = CapabilitySet::parse_list("capabilities", &capabilities)?;
            let previous = ctx.store.member(&guild.id, &user).await?;
            let member = Member {
                guild_id: guild.id.clone(),
                user_id: user.clone(),
                capabilities,
                added_at: previous.as_ref().map(|m| m.added_at).unwrap_or(ctx.now),
            };
            let action = if previous.is_some() {
                "member.set_capabilities"
            } else {
                "member.add"
            };
            let mut tx = ctx.store.begin().await?;
            tx.upsert_member(&member).await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild.id),
                action,
                Some(&user),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "{user} in guild {} holds: {}",
                    guild.id,
                    capabilities.names().join(", ")
                ),
                json: json!(member),
            })
        }
        MemberCommand::Remove { guild, user } => {
            let guild = existing_guild(ctx, &guild).await?;
            let user = Snowflake::parse("user", &user)?.to_string();
            let mut tx = ctx.store.begin().await?;
            if !tx.remove_member(&guild.id, &user).await? {
                return Err(ApiError::not_found(&format!("Member {user}")).into());
            }
            let scope = RevokeScope::User {
                guild_id: &guild.id,
                user_id: &user,
            };
            let revoked = tx
                .revoke_tokens(scope, ctx.now, revoke_reason::ISSUER_LEFT)
                .await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild.id),
                "member.remove",
                Some(&user),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: format!(
                    "removed {user} from guild {}; {revoked} token(s) revoked",
                    guild.id
                ),
                json: json!({ "guild_id": guild.id, "user_id": user, "removed": true, "revoked_tokens": revoked }),
            })
        }
    }
}
