//! `guildgate admin ...`: the owner's commands, straight against the database. Every
//! change commits with an audit row tagged `actor_source=cli`. Output is JSON with
//! `--json`, a short human line otherwise.

mod device;
mod guilds;
mod seed;
mod shard;
mod tasks;
mod tokens;
mod users;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use guildgate_core::clock::{Clock, SystemClock};
use guildgate_core::crypto::SecretHasher;
use guildgate_core::error::ApiError;
use guildgate_storage::{Store, StoreError};
use serde_json::Value;

use crate::config::Config;

#[derive(Args)]
pub struct AdminArgs {
    /// Database URL (default sqlite://./data/guildgate.db).
    #[arg(long, global = true)]
    database: Option<String>,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    #[command(subcommand)]
    Guild(guilds::GuildCommand),
    #[command(subcommand)]
    Member(guilds::MemberCommand),
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    #[command(subcommand)]
    Reauth(tokens::ReauthCommand),
    #[command(subcommand)]
    Ticket(seed::TicketCommand),
    #[command(subcommand)]
    Server(seed::ServerCommand),
    #[command(subcommand)]
    Device(device::DeviceCommand),
    #[command(subcommand)]
    Workspace(tasks::WorkspaceCommand),
    #[command(subcommand)]
    TasksKey(tasks::TasksKeyCommand),
    /// Dashboard accounts.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Comms shard Owner API keys (scok_).
    #[command(subcommand)]
    ShardKey(shard::ShardKeyCommand),
    /// Comms shard settings.
    #[command(subcommand)]
    Shard(shard::ShardCommand),
}

/// What an admin command failed with.
#[derive(Debug)]
pub enum AdminError {
    Api(ApiError),
    Store(StoreError),
    Other(String),
}

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        AdminError::Api(e)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Store(e)
    }
}

impl From<guildgate_owner::OwnerError> for AdminError {
    fn from(e: guildgate_owner::OwnerError) -> Self {
        match e {
            guildgate_owner::OwnerError::Api(e) => AdminError::Api(e),
            guildgate_owner::OwnerError::Store(e) => AdminError::Store(e),
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Api(e) => write!(f, "{}", e.message),
            AdminError::Store(StoreError::Conflict(_)) => write!(f, "that record already exists"),
            AdminError::Store(e) => write!(f, "{e}"),
            AdminError::Other(m) => f.write_str(m),
        }
    }
}

/// What a command hands back: the JSON result and the line a person reads.
pub struct Outcome {
    pub json: Value,
    pub human: String,
}

pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub now: i64,
}

impl Ctx {
    /// The owner actions, with the key that hashes secrets (read, or created, on first use).
    pub fn hasher(&self) -> Result<SecretHasher, AdminError> {
        self.config
            .secret_key()
            .map(|key| key.secret_hasher())
            .map_err(|e| AdminError::Other(e.to_string()))
    }

    pub fn actor(&self) -> guildgate_owner::Actor {
        guildgate_owner::Actor::cli(self.now)
    }
}

pub async fn run(mut config: Config, args: AdminArgs) -> ExitCode {
    if let Some(database) = args.database {
        config.database_url = database;
    }
    let opened = match config.durability() {
        Ok(durability) => guildgate_storage::open(&config.database_url, durability)
            .await
            .map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let store = match opened {
        Ok(store) => store,
        Err(err) => {
            eprintln!("guildgate admin: cannot open the database: {err}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Ctx {
        store: store.clone(),
        config,
        now: SystemClock.now(),
    };
    let result = match args.command {
        AdminCommand::Guild(c) => guilds::guild(&ctx, c).await,
        AdminCommand::Member(c) => guilds::member(&ctx, c).await,
        AdminCommand::Token(c) => tokens::token(&ctx, c).await,
        AdminCommand::Reauth(c) => tokens::reauth(&ctx, c).await,
        AdminCommand::Ticket(c) => seed::ticket(&ctx, c).await,
        AdminCommand::Server(c) => seed::server(&ctx, c).await,
        AdminCommand::Device(c) => device::device(&ctx, c).await,
        AdminCommand::Workspace(c) => tasks::workspace(&ctx, c).await,
        AdminCommand::TasksKey(c) => tasks::tasks_key(&ctx, c).await,
        AdminCommand::User(c) => users::user(&ctx, c).await,
        AdminCommand::ShardKey(c) => shard::shard_key(&ctx, c).await,
        AdminCommand::Shard(c) => shard::shard(&ctx, c).await,
    };
    store.close().await;
    match result {
        Ok(outcome) => {
            if args.json {
                println!("{}", outcome.json);
            } else {
                println!("{}", outcome.human);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            if args.json {
                let code = match &err {
                    AdminError::Api(e) => e.code.as_str(),
                    AdminError::Store(StoreError::Conflict(_)) => "CONFLICT",
                    _ => "ERROR",
                };
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": { "code": code, "message": err.to_string() } })
                );
            } else {
                eprintln!("guildgate admin: {err}");
            }
            ExitCode::FAILURE
        }
    }
}

pub fn parse_time(field: &str, value: &str) -> Result<i64, AdminError> {
    guildgate_core::clock::parse_rfc3339(value).ok_or_else(|| {
        ApiError::validation(
            field,
            format!("{field} must be an RFC 3339 time such as 2027-01-31T00:00:00Z"),
        )
        .into()
    })
}

/// A password piped to the command, without its line ending.
pub fn read_password_stdin() -> Result<String, AdminError> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| AdminError::Other(format!("cannot read the password from stdin: {e}")))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}
