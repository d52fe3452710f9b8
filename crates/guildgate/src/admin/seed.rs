//! Seeding what the API reads but cannot create: tickets and game servers.

use clap::Subcommand;
use guildgate_core::audit::AuditEvent;
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, new_ulid};
use guildgate_core::model::{GameServer, Ticket};
use serde_json::json;

use super::{AdminError, Ctx, Outcome};

#[derive(Subcommand)]
pub enum TicketCommand {
    /// Open a ticket on behalf of a user.
    Create {
        #[arg(long)]
        guild: String,
        /// The user who opened the ticket.
        #[arg(long)]
        user: String,
        #[arg(long)]
        subject: String,
    },
}

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Register a game server for RCON. The password is read from standard input (or
    /// GUILDGATE_RCON_PASSWORD) and stored sealed; it never appears on a command line.
    Add {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        host: String,
        #[arg(long)]
        port: u16,
        /// Read the RCON password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

async fn require_guild(ctx: &Ctx, guild: &str) -> Result<String, AdminError> {
    let id = Snowflake::parse("guild", guild)?.to_string();
    if ctx.store.guild(&id).await?.is_none() {
        return Err(ApiError::not_found(&format!("Guild {id}")).into());
    }
    Ok(id)
}

pub async fn ticket(ctx: &Ctx, command: TicketCommand) -> Result<Outcome, AdminError> {
    let TicketCommand::Create {
        guild,
        user,
        subject,
    } = command;
    let guild_id = require_guild(ctx, &guild).await?;
    let subject = subject.trim().to_owned();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(ApiError::validation("subject", "subject must be 1 to 200 characters").into());
    }
    let ticket = Ticket {
        id: new_ulid(),
        guild_id: guild_id.clone(),
        opened_by: Snowflake::parse("user", &user)?.to_string(),
        subject,
        status: "open".to_owned(),
        claimed_by: None,
        claimed_at: None,
        created_at: ctx.now,
    };
    let mut tx = ctx.store.begin().await?;
    tx.insert_ticket(&ticket).await?;
    tx.append_audit(&AuditEvent::cli(
        ctx.now,
        Some(&guild_id),
        "ticket.create",
        Some(&ticket.id),
    ))
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        human: format!("created ticket {}", ticket.id),
        json: json!(ticket),
    })
}

pub async fn server(ctx: &Ctx, command: ServerCommand) -> Result<Outcome, AdminError> {
    let ServerCommand::Add {
        guild,
        name,
        host,
        port,
        password_stdin,
    } = command;
    let guild_id = require_guild(ctx, &guild).await?;
    let password = if password_stdin {
        super::read_password_stdin()?
    } else {
        std::env::var("GUILDGATE_RCON_PASSWORD").unwrap_or_default()
    };
    if password.is_empty() {
        return Err(ApiError::validation(
            "password",
            "an RCON password is required: pipe it to --password-stdin or set GUILDGATE_RCON_PASSWORD",
        )
        .into());
    }
    if name.trim().is_empty() || host.trim().is_empty() || port == 0 {
        return Err(
            ApiError::validation("server", "name, host and a non-zero port are required").into(),
        );
    }
    let server = GameServer {
        id: new_ulid(),
        guild_id: guild_id.clone(),
        name: name.trim().to_owned(),
        host: host.trim().to_owned(),
        port,
        created_at: ctx.now,
    };
    let key = ctx
        .config
        .secret_key()
        .map_err(|e| AdminError::Other(e.to_string()))?;
    let sealed = key.sealer().seal(password.as_bytes());
    let mut tx = ctx.store.begin().await?;
    tx.insert_server(&server, &sealed).await?;
    tx.append_audit(&AuditEvent::cli(
        ctx.now,
        Some(&guild_id),
        "server.add",
        Some(&server.id),
    ))
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        human: format!("added server {} ({})", server.id, server.name),
        json: json!(server),
    })
}
