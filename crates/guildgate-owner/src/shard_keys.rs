//! The comms shard's owner actions: `scok_` keys (scopes fixed at creation, guild-scoped,
//! revocable), the shard's tier and its comms clients' credentials.

use guildgate_core::clock::Millis;
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::shard::signing::{ClientIdentity, ClientTokens};
use guildgate_core::shard::{CLIENT_REVOCATION, SHARD_KEY, ScopeSet, ShardKey, ShardTier};
use guildgate_core::token::PlaintextToken;

use crate::{Actor, Owner, OwnerResult};

async fn require_guild(owner: &Owner<'_>, guild_id: &str) -> OwnerResult<()> {
    match owner.store.guild(guild_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(&format!(
            "Guild {guild_id} (create it first with `guildgate admin guild create`)"
        ))
        .into()),
    }
}

pub async fn mint_shard_key(
    owner: Owner<'_>,
    actor: &Actor,
    guild_id: &str,
    name: &str,
    scopes: ScopeSet,
) -> OwnerResult<(ShardKey, PlaintextToken)> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("name", "name must be 1 to 100 characters").into());
    }
    if scopes == ScopeSet::default() {
        return Err(ApiError::validation("scopes", "at least one scope is required").into());
    }
    require_guild(&owner, guild_id).await?;
    let secret = SHARD_KEY.generate();
    let key = ShardKey {
        id: new_ulid(),
        guild_id: guild_id.to_owned(),
        name,
        scopes,
        created_at: actor.now,
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = owner.store.begin().await?;
    tx.insert_shard_key(&key, &owner.hasher.hash(secret.expose()))
        .await?;
    let mut event = actor.event(Some(guild_id), "shard_key.mint", Some(&key.id));
    event.surface = "shard";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok((key, secret))
}

/// Revokes a key; false when it was already revoked.
pub async fn revoke_shard_key(
    owner: Owner<'_>,
    actor: &Actor,
    key: &ShardKey,
) -> OwnerResult<bool> {
    let mut tx = owner.store.begin().await?;
    let revoked = tx.revoke_shard_key(&key.id, actor.now).await?;
    let mut event = actor.event(Some(&key.guild_id), "shard_key.revoke", Some(&key.id));
    event.surface = "shard";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(revoked)
}

pub async fn set_shard_tier(
    owner: Owner<'_>,
    actor: &Actor,
    guild_id: &str,
    tier: ShardTier,
) -> OwnerResult<()> {
    require_guild(&owner, guild_id).await?;
    let mut tx = owner.store.begin().await?;
    tx.set_shard_tier(guild_id, tier.as_str(), actor.now)
        .await?;
    let mut event = actor.event(Some(guild_id), "shard.set_tier", Some(tier.as_str()));
    event.surface = "shard";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a comms client's WebSocket credential: signed, expiring, naming one user of the
/// guild with the Discord roles the role rules read. Nothing is stored but the audit row.
pub async fn issue_client_token(
    owner: Owner<'_>,
    actor: &Actor,
    tokens: &ClientTokens,
    identity: &ClientIdentity,
    days: u32,
) -> OwnerResult<(String, Millis)> {
    if !(1..=365).contains(&days) {
        return Err(ApiError::validation("days", "days must be from 1 to 365").into());
    }
    let name = identity.display_name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.contains(char::is_control) {
        return Err(ApiError::validation(
            "name",
            "name must be 1 to 64 characters without control characters",
        )
        .into());
    }
    let is_id = |v: &str| (1..=20).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
    if !is_id(&identity.user_id) || !identity.role_ids.iter().all(|r| is_id(r)) {
        return Err(ApiError::validation("user", "user and roles must be Discord ids").into());
    }
    require_guild(&owner, &identity.guild_id).await?;
    let expires_at = actor.now + i64::from(days) * 86_400_000;
    let identity = ClientIdentity {
        display_name: name.to_owned(),
        issued_at: actor.now,
        ..identity.clone()
    };
    let token = tokens.issue(&identity, expires_at);
    let mut tx = owner.store.begin().await?;
    let mut event = actor.event(
        Some(&identity.guild_id),
        "shard_client_token.issue",
        Some(&identity.user_id),
    );
    event.surface = "shard";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok((token, expires_at))
}

/// Refuses every client token issued to the user so far (a new one can be issued after).
pub async fn revoke_client_tokens(
    owner: Owner<'_>,
    actor: &Actor,
    guild_id: &str,
    user_id: &str,
) -> OwnerResult<()> {
    require_guild(&owner, guild_id).await?;
    let mut tx = owner.store.begin().await?;
    let body = serde_json::json!({ "userId": user_id, "revokedUpTo": actor.now });
    tx.put_shard_doc(
        guild_id,
        CLIENT_REVOCATION,
        user_id,
        &body.to_string(),
        actor.now,
    )
    .await?;
    let mut event = actor.event(Some(guild_id), "shard_client_token.revoke", Some(user_id));
    event.surface = "shard";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(())
}
