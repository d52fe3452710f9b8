//! `admin device approve|deny`: the owner's side of MCP pairing (the device flow's
//! verification step, until the dashboard has its MCP Tokens tab).

use clap::Subcommand;
use guildgate_core::audit::AuditEvent;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::device::{DeviceStatus, normalise_user_code};
use guildgate_core::error::ApiError;
use guildgate_core::ids::Snowflake;
use guildgate_core::issuance::mint_snapshot;
use serde_json::json;

use super::{AdminError, Ctx, Outcome};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Approve a pairing; the client then receives a token with these capabilities.
    Approve {
        /// The 8-character code the client shows (XXXX-XXXX).
        #[arg(long)]
        user_code: String,
        /// The issuer (default: the guild's owner; only the owner approves in v1).
        #[arg(long)]
        user: Option<String>,
        /// Narrow the snapshot (default: every capability the issuer holds).
        #[arg(long)]
        capabilities: Option<String>,
    },
    /// Deny a pairing.
    Deny {
        #[arg(long)]
        user_code: String,
    },
}

pub async fn device(ctx: &Ctx, command: DeviceCommand) -> Result<Outcome, AdminError> {
    let (DeviceCommand::Approve { user_code, .. } | DeviceCommand::Deny { user_code }) = &command;
    let user_code = normalise_user_code(user_code).ok_or_else(|| {
        ApiError::validation("user-code", "a user code is 8 letters, shown as XXXX-XXXX")
    })?;
    let mut code = ctx
        .store
        .device_code_by_user_code(&user_code)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Pairing {user_code}")))?;
    if code.status != DeviceStatus::Pending || code.expires_at <= ctx.now {
        return Err(ApiError::validation(
            "user-code",
            format!("pairing {user_code} is no longer pending"),
        )
        .into());
    }
    let guild = ctx
        .store
        .guild(&code.guild_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Guild"))?;
    let action = match command {
        DeviceCommand::Approve {
            user, capabilities, ..
        } => {
            let issuer = match user {
                Some(user) => Snowflake::parse("user", &user)?.to_string(),
                None => guild.owner_id.clone(),
            };
            if issuer != guild.owner_id {
                return Err(
                    ApiError::forbidden("only the guild's owner can approve MCP pairings").into(),
                );
            }
            let requested = capabilities
                .map(|c| CapabilitySet::parse_list("capabilities", &c))
                .transpose()?;
            let member = ctx.store.member(&guild.id, &issuer).await?;
            let snapshot = mint_snapshot(&guild, member.as_ref(), requested, None, ctx.now)?;
            code.status = DeviceStatus::Approved;
            code.approved_by = Some(issuer);
            code.capabilities = Some(snapshot);
            "device.approve"
        }
        DeviceCommand::Deny { .. } => {
            code.status = DeviceStatus::Denied;
            "device.deny"
        }
    };
    let mut tx = ctx.store.begin().await?;
    tx.update_device_code(&code, None).await?;
    tx.append_audit(&AuditEvent::cli(
        ctx.now,
        Some(&guild.id),
        action,
        Some(&user_code),
    ))
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        human: format!(
            "pairing {user_code} for {} is {}",
            code.client_name,
            code.status.as_str()
        ),
        json: json!({
            "user_code": user_code,
            "client_name": code.client_name,
            "guild_id": code.guild_id,
            "status": code.status.as_str(),
            "capabilities": code.capabilities.map(|c| c.names()),
        }),
    })
}
