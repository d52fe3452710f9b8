//! `admin shard-key ...` (the comms shard's `scok_` Owner API keys) and
//! `admin shard set-tier|client-token`.

use clap::Subcommand;
use guildgate_core::clock::to_rfc3339;
use guildgate_core::error::ApiError;
use guildgate_core::shard::signing::{ClientIdentity, ClientTokens};
use guildgate_core::shard::{ScopeSet, ShardKey, ShardTier};
use guildgate_owner::{
    Owner, issue_client_token, mint_shard_key, revoke_client_tokens, revoke_shard_key,
    set_shard_tier,
};
use serde_json::json;

use super::{AdminError, Ctx, Outcome};

#[derive(Subcommand)]
pub enum ShardKeyCommand {
    /// Mint a scok_ key for a guild's shard; printed once, stored only as a keyed hash.
    Mint {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        name: String,
        /// Comma-separated, e.g. read:status,write:nets. Fixed for the key's life.
        #[arg(long)]
        scopes: String,
    },
    /// List a guild's shard keys (never their secrets).
    List {
        #[arg(long)]
        guild: String,
    },
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ShardCommand {
    /// Free shards hold 10 nets and have no ACARS; premium shards hold 20.
    SetTier {
        #[arg(long)]
        guild: String,
        /// free or premium.
        #[arg(long)]
        tier: String,
    },
    /// Issue a comms client's WebSocket credential (gcli_...) for one user; printed once.
    ClientToken {
        #[arg(long)]
        guild: String,
        /// The user's Discord id.
        #[arg(long)]
        user: String,
        /// The display name the roster shows.
        #[arg(long)]
        name: String,
        /// Comma-separated Discord role ids, read by the role-to-net rules.
        #[arg(long, default_value = "")]
        roles: String,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Refuse every client token issued to a user so far (live connections stay until
    /// disconnected with POST /api/v1/clients/disconnect).
    RevokeClient {
        #[arg(long)]
        guild: String,
        #[arg(long)]
        user: String,
    },
}

fn key_json(key: &ShardKey) -> serde_json::Value {
    json!({
        "id": key.id, "guildId": key.guild_id, "name": key.name, "scopes": key.scopes.names(),
        "createdAt": to_rfc3339(key.created_at), "revokedAt": key.revoked_at.map(to_rfc3339),
    })
}

pub async fn shard_key(ctx: &Ctx, command: ShardKeyCommand) -> Result<Outcome, AdminError> {
    let hasher = ctx.hasher()?;
    let owner = Owner {
        store: ctx.store.as_ref(),
        hasher: &hasher,
    };
    match command {
        ShardKeyCommand::Mint {
            guild,
            name,
            scopes,
        } => {
            let scopes =
                ScopeSet::parse_list(&scopes).map_err(|m| ApiError::validation("scopes", m))?;
            let (key, secret) = mint_shard_key(owner, &ctx.actor(), &guild, &name, scopes).await?;
            Ok(Outcome {
                human: format!(
                    "{}\n(key {} for guild {}; shown once: store it now)",
                    secret.expose(),
                    key.id,
                    key.guild_id
                ),
                json: json!({
                    "id": key.id, "key": secret.expose(), "guildId": key.guild_id,
                    "name": key.name, "scopes": key.scopes.names(),
                }),
            })
        }
        ShardKeyCommand::List { guild } => {
            let keys = ctx.store.shard_keys(&guild).await?;
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    format!("{}  {}  {state}  [{}]", k.id, k.name, k.scopes.to_list())
                })
                .collect();
            Ok(Outcome {
                human: if lines.is_empty() {
                    "no keys".to_owned()
                } else {
                    lines.join("\n")
                },
                json: json!({ "data": keys.iter().map(key_json).collect::<Vec<_>>() }),
            })
        }
        ShardKeyCommand::Revoke { id } => {
            let key = ctx
                .store
                .shard_key(&id)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("Key {id}")))?;
            revoke_shard_key(owner, &ctx.actor(), &key).await?;
            Ok(Outcome {
                human: format!("revoked {}", key.id),
                json: json!({ "id": key.id, "revoked": true }),
            })
        }
    }
}

pub async fn shard(ctx: &Ctx, command: ShardCommand) -> Result<Outcome, AdminError> {
    let hasher = ctx.hasher()?;
    let owner = Owner {
        store: ctx.store.as_ref(),
        hasher: &hasher,
    };
    match command {
        ShardCommand::SetTier { guild, tier } => {
            let parsed = ShardTier::parse(&tier)
                .ok_or_else(|| ApiError::validation("tier", "tier must be free or premium"))?;
            set_shard_tier(owner, &ctx.actor(), &guild, parsed).await?;
            Ok(Outcome {
                human: format!("shard of guild {guild} is now {}", parsed.as_str()),
                json: json!({ "guildId": guild, "tier": parsed.as_str() }),
            })
        }
        ShardCommand::ClientToken {
            guild,
            user,
            name,
            roles,
            days,
        } => {
            let key = ctx
                .config
                .secret_key()
                .map_err(|e| AdminError::Other(e.to_string()))?;
            let identity = ClientIdentity {
                guild_id: guild,
                user_id: user,
                display_name: name.trim().to_owned(),
                role_ids: roles
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
                issued_at: 0,
            };
            let tokens = ClientTokens::new(key.client_token_key());
            let (token, expires_at) =
                issue_client_token(owner, &ctx.actor(), &tokens, &identity, days).await?;
            Ok(Outcome {
                human: format!(
                    "{token}\n(client token for user {} in guild {}, expires {}; shown once)",
                    identity.user_id,
                    identity.guild_id,
                    to_rfc3339(expires_at)
                ),
                json: json!({
                    "token": token, "guildId": identity.guild_id, "userId": identity.user_id,
                    "displayName": identity.display_name, "roleIds": identity.role_ids,
                    "expiresAt": to_rfc3339(expires_at),
                }),
            })
        }
        ShardCommand::RevokeClient { guild, user } => {
            revoke_client_tokens(owner, &ctx.actor(), &guild, &user).await?;
            Ok(Outcome {
                human: format!(
                    "client tokens of user {user} in guild {guild} issued until now are refused"
                ),
                json: json!({ "guildId": guild, "userId": user, "revoked": true }),
            })
        }
    }
}
