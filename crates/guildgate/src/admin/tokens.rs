//! `admin token ...` and `admin reauth ...`.

use clap::Subcommand;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, is_ulid};
use guildgate_core::model::{SOURCE_CLI, TokenRecord};
use guildgate_owner::{
    Expiry, MintRequest, Owner, close_window, mint_token, open_window, parse_cidrs, revoke_token,
};
use serde_json::json;

use super::{AdminError, Ctx, Outcome, parse_time};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a token; the plaintext is printed once and never stored.
    Mint {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Narrow the snapshot (default: every capability the issuer holds).
        #[arg(long)]
        capabilities: Option<String>,
        /// RFC 3339 expiry (default: 90 days from now).
        #[arg(long, conflicts_with = "no_expiry")]
        expires_at: Option<String>,
        /// The token never expires.
        #[arg(long)]
        no_expiry: bool,
        /// Allow calls only from this CIDR (repeatable).
        #[arg(long = "allow-cidr")]
        allow_cidr: Vec<String>,
        /// Let the token's own Bearer open its re-auth window (for fully scripted flows).
        #[arg(long)]
        allow_self_reauth: bool,
    },
    /// List a guild's tokens (never their secrets).
    List {
        #[arg(long)]
        guild: String,
    },
    /// Revoke a token; revocation is final.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ReauthCommand {
    /// Open a 15-minute re-auth window for a token.
    Open {
        #[arg(long)]
        token_id: String,
    },
    /// Close a token's window.
    Close {
        #[arg(long)]
        token_id: String,
    },
}

fn token_json(token: &TokenRecord, now: i64) -> serde_json::Value {
    let mut value = json!(token);
    value["status"] = json!(token.status(now));
    value
}

async fn existing_token(ctx: &Ctx, id: &str) -> Result<TokenRecord, AdminError> {
    if !is_ulid(id) {
        return Err(ApiError::validation("id", "a token id is a 26-character ULID").into());
    }
    ctx.store
        .token(id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Token {id}")).into())
}

pub async fn token(ctx: &Ctx, command: TokenCommand) -> Result<Outcome, AdminError> {
    match command {
        TokenCommand::Mint {
            guild,
            user,
            name,
            capabilities,
            expires_at,
            no_expiry,
            allow_cidr,
            allow_self_reauth,
        } => {
            let guild_id = Snowflake::parse("guild", &guild)?.to_string();
            let user_id = Snowflake::parse("user", &user)?.to_string();
            let capabilities = capabilities
                .map(|c| CapabilitySet::parse_list("capabilities", &c))
                .transpose()?;
            let expiry = match (expires_at, no_expiry) {
                (Some(at), _) => Expiry::At(parse_time("expires-at", &at)?),
                (None, true) => Expiry::Never,
                (None, false) => Expiry::DEFAULT,
            };
            let allowed_cidrs = parse_cidrs("allow-cidr", allow_cidr.iter().map(String::as_str))?;
            let hasher = ctx.hasher()?;
            let (record, secret) = mint_token(
                Owner {
                    store: ctx.store.as_ref(),
                    hasher: &hasher,
                },
                &ctx.actor(),
                MintRequest {
                    guild_id,
                    user_id,
                    name,
                    capabilities,
                    expiry,
                    allowed_cidrs,
                    allow_self_reauth,
                    source: SOURCE_CLI.to_owned(),
                },
            )
            .await?;
            let mut json = token_json(&record, ctx.now);
            json["token"] = json!(secret.expose());
            Ok(Outcome {
                human: format!(
                    "minted token {} ({}); copy the secret now, it is not shown again:\n{}",
                    record.id,
                    record.name,
                    secret.expose()
                ),
                json,
            })
        }
        TokenCommand::List { guild } => {
            let guild_id = Snowflake::parse("guild", &guild)?.to_string();
            let tokens = ctx.store.tokens_of_guild(&guild_id).await?;
            let lines: Vec<String> = tokens
                .iter()
                .map(|t| {
                    format!(
                        "{}  {:8}  {}  [{}]",
                        t.id,
                        t.status(ctx.now),
                        t.name,
                        t.capabilities.to_list()
                    )
                })
                .collect();
            Ok(Outcome {
                human: if lines.is_empty() {
                    "no tokens".to_owned()
                } else {
                    lines.join("\n")
                },
                json: json!({ "data": tokens.iter().map(|t| token_json(t, ctx.now)).collect::<Vec<_>>() }),
            })
        }
        TokenCommand::Revoke { id } => {
            let token = existing_token(ctx, &id).await?;
            let hasher = ctx.hasher()?;
            let owner = Owner {
                store: ctx.store.as_ref(),
                hasher: &hasher,
            };
            let revoked = revoke_token(owner, &ctx.actor(), &token).await?;
            Ok(Outcome {
                human: if revoked {
                    format!("revoked {}", token.id)
                } else {
                    format!("{} was already revoked", token.id)
                },
                json: json!({ "id": token.id, "revoked": true }),
            })
        }
    }
}

pub async fn reauth(ctx: &Ctx, command: ReauthCommand) -> Result<Outcome, AdminError> {
    let (ReauthCommand::Open { token_id } | ReauthCommand::Close { token_id }) = &command;
    let token = existing_token(ctx, token_id).await?;
    let hasher = ctx.hasher()?;
    let owner = Owner {
        store: ctx.store.as_ref(),
        hasher: &hasher,
    };
    Ok(match command {
        ReauthCommand::Open { .. } => {
            let window = open_window(owner, &ctx.actor(), &token).await?;
            Outcome {
                human: format!(
                    "re-auth window open for {} until {}",
                    token.id,
                    to_rfc3339(window.expires_at)
                ),
                json: json!({ "open": true, "window": window }),
            }
        }
        ReauthCommand::Close { .. } => {
            close_window(owner, &ctx.actor(), &token).await?;
            Outcome {
                human: format!("re-auth window closed for {}", token.id),
                json: json!({ "open": false }),
            }
        }
    })
}
