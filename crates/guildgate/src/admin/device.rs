//! `admin device approve|deny`: the owner's side of MCP pairing (the device flow's
//! verification step; the dashboard's MCP Tokens tab does the same).

use clap::Subcommand;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::ids::Snowflake;
use guildgate_owner::{Owner, PairingDecision, decide_pairing};
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
    let hasher = ctx.hasher()?;
    let owner = Owner {
        store: ctx.store.as_ref(),
        hasher: &hasher,
    };
    let (user_code, decision) = match command {
        DeviceCommand::Approve {
            user_code,
            user,
            capabilities,
        } => {
            let issuer = user
                .map(|user| Snowflake::parse("user", &user).map(|id| id.to_string()))
                .transpose()?;
            let capabilities = capabilities
                .map(|c| CapabilitySet::parse_list("capabilities", &c))
                .transpose()?;
            let decision = PairingDecision::Approve {
                issuer,
                capabilities,
            };
            (user_code, decision)
        }
        DeviceCommand::Deny { user_code } => (user_code, PairingDecision::Deny),
    };
    let code = decide_pairing(owner, &ctx.actor(), &user_code, None, decision).await?;
    Ok(Outcome {
        human: format!(
            "pairing {} for {} is {}",
            code.user_code,
            code.client_name,
            code.status.as_str()
        ),
        json: json!({
            "user_code": code.user_code,
            "client_name": code.client_name,
            "guild_id": code.guild_id,
            "status": code.status.as_str(),
            "capabilities": code.capabilities.map(|c| c.names()),
        }),
    })
}
