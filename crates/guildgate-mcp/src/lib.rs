//! guildgate's MCP side: a Model Context Protocol server over stdio that offers one tool per
//! guild endpoint the policy table marks for MCP, and the `pair` command that obtains its
//! token through the OAuth device flow (RFC 8628).
//!
//! The server never takes a token, a guild or a `_confirmation` from a tool argument. The
//! token comes from `ARKANIS_TOKEN` (or `GUILDGATE_TOKEN`) or the paired credential, the
//! guild from `ARKANIS_GUILD_ID`, the credential or the token itself, and every destructive
//! call's sentinel from `guildgate_core::tools::build_call`, which renders it from the
//! validated arguments through the same template table the server checks.

pub mod credential;
pub mod pair;
pub mod rest;
pub mod server;

pub use credential::Credential;
pub use pair::{PairOptions, PairOutcome, pair, pair_with};
pub use rest::{Answer, RestClient, RetryPolicy, SleepFn};
pub use server::{GuildgateMcp, McpConfig, serve_stdio};

/// The base URL used when neither the flag nor a credential names one.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Pair(String),
    #[error("MCP transport: {0}")]
    Mcp(String),
}
