//! The owner's side of MCP pairing: approve a pending device code with a capability
//! selection, or deny it. The client's next poll collects the token.

use guildgate_core::capability::CapabilitySet;
use guildgate_core::device::{DeviceCode, DeviceStatus, normalise_user_code};
use guildgate_core::error::ApiError;
use guildgate_core::issuance::mint_snapshot;

use crate::{Actor, Owner, OwnerResult};

pub enum PairingDecision {
    /// Approve as `issuer` (only the guild's owner in v1, who is the default), narrowed
    /// to `capabilities`.
    Approve {
        issuer: Option<String>,
        capabilities: Option<CapabilitySet>,
    },
    Deny,
}

/// Settles a pending pairing. `guild_id`, when given, must be the pairing's guild (the
/// dashboard acts inside one guild's page).
pub async fn decide_pairing(
    owner: Owner<'_>,
    actor: &Actor,
    user_code: &str,
    guild_id: Option<&str>,
    decision: PairingDecision,
) -> OwnerResult<DeviceCode> {
    let user_code = normalise_user_code(user_code).ok_or_else(|| {
        ApiError::validation("user_code", "a user code is 8 letters, shown as XXXX-XXXX")
    })?;
    let not_found = || ApiError::not_found(&format!("Pairing {user_code}"));
    let mut code = owner
        .store
        .device_code_by_user_code(&user_code)
        .await?
        .filter(|c| guild_id.is_none_or(|g| g == c.guild_id))
        .ok_or_else(not_found)?;
    if code.status != DeviceStatus::Pending || code.expires_at <= actor.now {
        return Err(ApiError::validation(
            "user_code",
            format!("pairing {user_code} is no longer pending"),
        )
        .into());
    }
    let guild = owner
        .store
        .guild(&code.guild_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Guild"))?;
    let action = match decision {
        PairingDecision::Approve {
            issuer,
            capabilities,
        } => {
            let issuer = issuer.unwrap_or_else(|| guild.owner_id.clone());
            if issuer != guild.owner_id {
                return Err(
                    ApiError::forbidden("only the guild's owner can approve MCP pairings").into(),
                );
            }
            let member = owner.store.member(&guild.id, &issuer).await?;
            let snapshot = mint_snapshot(&guild, member.as_ref(), capabilities, None, actor.now)?;
            code.status = DeviceStatus::Approved;
            code.approved_by = Some(issuer);
            code.capabilities = Some(snapshot);
            "device.approve"
        }
        PairingDecision::Deny => {
            code.status = DeviceStatus::Denied;
            "device.deny"
        }
    };
    let mut tx = owner.store.begin().await?;
    tx.update_device_code(&code, None).await?;
    tx.append_audit(&actor.event(Some(&guild.id), action, Some(&user_code)))
        .await?;
    tx.commit().await?;
    Ok(code)
}
