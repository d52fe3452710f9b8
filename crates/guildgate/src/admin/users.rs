//! `admin user ...`: dashboard accounts (local, argon2id passwords).

use clap::Subcommand;
use guildgate_owner::{Owner, create_user};
use serde_json::json;

use super::{AdminError, Ctx, Outcome, read_password_stdin};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a dashboard account for a guild owner, or reset its password (which signs
    /// it out everywhere). The password is read from standard input, never from argv.
    Create {
        /// The owner's Discord user id: the guilds they own appear in their dashboard.
        #[arg(long)]
        discord_id: String,
        /// Links the tasks surface's user with this email (their API keys page).
        #[arg(long)]
        email: Option<String>,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub async fn user(ctx: &Ctx, command: UserCommand) -> Result<Outcome, AdminError> {
    let UserCommand::Create {
        discord_id, email, ..
    } = command;
    let password = read_password_stdin()?;
    let hasher = ctx.hasher()?;
    let owner = Owner {
        store: ctx.store.as_ref(),
        hasher: &hasher,
    };
    let user = create_user(owner, &ctx.actor(), &discord_id, &password, email).await?;
    Ok(Outcome {
        human: format!(
            "dashboard account {} is ready; sign in at /dashboard/login",
            user.user_id
        ),
        json: json!({ "user_id": user.user_id, "email": user.email }),
    })
}
