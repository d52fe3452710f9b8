//! The guildgate binary: `serve` runs the server, `admin` manages guilds, members and
//! tokens directly in the database.

/// mimalloc: the request path allocates many small strings; glibc's allocator showed up
/// at ~12% of a guarded read's profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod config;
mod listener;
mod openapi;
mod ops_metrics;
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
    /// Run the MCP server over stdio (stdout is the MCP channel), or pair it with a guild.
    Mcp(McpArgs),
}

#[derive(clap::Args)]
struct McpArgs {
    /// guildgate's base URL (default: the paired credential's, else http://127.0.0.1:8080).
    /// The token comes from ARKANIS_TOKEN (or GUILDGATE_TOKEN) or the paired credential.
    #[arg(long)]
    base_url: Option<String>,
    #[command(subcommand)]
    command: Option<McpCommand>,
}

#[derive(Subcommand)]
enum McpCommand {
    /// Pair with a guild through the OAuth device flow and store the token (owner-only file).
    Pair {
        /// The guild to pair with.
        #[arg(long)]
        guild: String,
        /// guildgate's base URL.
        #[arg(long, default_value = guildgate_mcp::DEFAULT_BASE_URL)]
        base_url: String,
        /// The name the owner sees and the token gets.
        #[arg(long, default_value = "guildgate mcp")]
        client_name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Mcp(args) = cli.command {
        return mcp(args);
    }
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
            init_logging(&config.log_level, &config.log_format);
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
        Command::Mcp(_) => unreachable!("handled before the configuration loads"),
    }
}

/// `guildgate mcp`: needs no server configuration; logs go to stderr only, since stdout is
/// the MCP channel.
fn mcp(args: McpArgs) -> ExitCode {
    let level = std::env::var("GUILDGATE_LOG_LEVEL").ok();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let result = match args.command {
        None => {
            init_mcp_logging(level.as_deref().unwrap_or("info"));
            let config = guildgate_mcp::McpConfig::from_env(args.base_url);
            runtime.block_on(guildgate_mcp::serve_stdio(config))
        }
        Some(McpCommand::Pair {
            guild,
            base_url,
            client_name,
        }) => {
            init_mcp_logging(level.as_deref().unwrap_or("warn"));
            runtime
                .block_on(guildgate_mcp::pair(&base_url, &guild, &client_name))
                .map(|_| ())
        }
    };
    // A read of stdin may still be pending in the blocking pool: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("guildgate mcp: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Plain lines, or one JSON object per line (`log_format = "json"`) with the fields of the
/// current request's span (its `request_id`) for log pipelines.
fn init_logging(level: &str, format: &str) {
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    let logs = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr);
    if format == "json" {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
}

/// Logging for `guildgate mcp`: stderr only, colours only on a terminal (MCP clients keep
/// a server's stderr in their log files).
fn init_mcp_logging(level: &str) {
    use std::io::IsTerminal;
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
