//! `admin token ...` and `admin reauth ...`.

use clap::Subcommand;
use guildgate_core::audit::{ActorSource, AuditEvent};
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{DAY, to_rfc3339};
use guildgate_core::error::ApiError;
use guildgate_core::ids::{Snowflake, is_ulid, new_ulid};
use guildgate_core::issuance::mint_snapshot;
use guildgate_core::model::{
    REAUTH_WINDOW_MILLIS, ReauthWindow, SOURCE_CLI, TokenRecord, revoke_reason,
};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::RevokeScope;
use ipnet::IpNet;
use serde_json::json;

use super::{AdminError, Ctx, Outcome, parse_time};

/// The dashboard's default expiry, used when no other is asked for.
const DEFAULT_EXPIRY_DAYS: i64 = 90;

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
            let user = Snowflake::parse("user", &user)?.to_string();
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(
                    ApiError::validation("name", "name must be 1 to 100 characters").into(),
                );
            }
            let guild = ctx
                .store
                .guild(&guild_id)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("Guild {guild_id}")))?;
            let requested = capabilities
                .map(|c| CapabilitySet::parse_list("capabilities", &c))
                .transpose()?;
            let expires_at = match (expires_at, no_expiry) {
                (Some(at), _) => Some(parse_time("expires-at", &at)?),
                (None, true) => None,
                (None, false) => Some(ctx.now + DEFAULT_EXPIRY_DAYS * DAY),
            };
            let allowed_cidrs = allow_cidr
                .iter()
                .map(|c| {
                    c.parse::<IpNet>()
                        .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            ApiError::validation(
                                "allow-cidr",
                                format!("{c:?} is not a CIDR such as 192.0.2.0/24"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let issuer = ctx.store.member(&guild_id, &user).await?;
            let snapshot = mint_snapshot(&guild, issuer.as_ref(), requested, expires_at, ctx.now)?;
            let secret = GUILD_TOKEN.generate();
            let record = TokenRecord {
                id: new_ulid(),
                guild_id: guild_id.clone(),
                user_id: user,
                name,
                capabilities: snapshot,
                allowed_cidrs,
                allow_self_reauth,
                created_at: ctx.now,
                expires_at,
                revoked_at: None,
                revoked_reason: None,
                last_used_at: None,
                last_used_ip: None,
                source: SOURCE_CLI.to_owned(),
            };
            let hash = ctx
                .config
                .secret_key()
                .map_err(|e| AdminError::Other(e.to_string()))?
                .secret_hasher()
                .hash(secret.expose());
            let mut tx = ctx.store.begin().await?;
            tx.insert_token(&record, &hash).await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&guild_id),
                "token.mint",
                Some(&record.id),
            ))
            .await?;
            tx.commit().await?;
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
            let mut tx = ctx.store.begin().await?;
            let revoked = tx
                .revoke_tokens(
                    RevokeScope::Token(&token.id),
                    ctx.now,
                    revoke_reason::BY_OWNER,
                )
                .await?;
            tx.close_windows(&token.id, ctx.now).await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&token.guild_id),
                "token.revoke",
                Some(&token.id),
            ))
            .await?;
            tx.commit().await?;
            Ok(Outcome {
                human: if revoked == 1 {
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
    let mut tx = ctx.store.begin().await?;
    let outcome = match command {
        ReauthCommand::Open { .. } => {
            if token.status(ctx.now) != "active" {
                return Err(ApiError::validation(
                    "token-id",
                    format!("token {} is {}", token.id, token.status(ctx.now)),
                )
                .into());
            }
            let window = ReauthWindow {
                window_id: new_ulid(),
                token_id: token.id.clone(),
                opened_at: ctx.now,
                expires_at: ctx.now + REAUTH_WINDOW_MILLIS,
                opened_by: ActorSource::Cli,
            };
            tx.open_window(&window).await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&token.guild_id),
                "reauth.open",
                Some(&token.id),
            ))
            .await?;
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
            tx.close_windows(&token.id, ctx.now).await?;
            tx.append_audit(&AuditEvent::cli(
                ctx.now,
                Some(&token.guild_id),
                "reauth.close",
                Some(&token.id),
            ))
            .await?;
            Outcome {
                human: format!("re-auth window closed for {}", token.id),
                json: json!({ "open": false }),
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
