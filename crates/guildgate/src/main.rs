//! The guildgate binary: `serve` runs the server, `admin` manages guilds, members and
//! tokens directly in the database.

mod admin;
mod config;
mod openapi;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "guildgate",
    version,
    about = "Scoped API tokens and guarded actions for community owners"
)]
struct Cli {
    /// TOML configuration file (default: ./guildgate.toml when it exists, or GUILDGATE_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Database URL (default sqlite://./data/guildgate.db).
        #[arg(long)]
        database: Option<String>,
    },
    /// Manage guilds, members, tokens, windows and seed data.
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("guildgate: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match cli.command {
        Command::Serve { listen, database } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(database) = database {
                config.database_url = database;
            }
            init_logging(&config.log_level);
            match runtime.block_on(serve::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!("{err}");
                    eprintln!("guildgate: {err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin(args) => runtime.block_on(admin::run(config, args)),
    }
}

fn init_logging(level: &str) {
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}
