//! Guild tokens: mint, renew, rotate, revoke, and their re-auth windows.

use guildgate_core::audit::AuditEvent;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{DAY, Millis};
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::issuance::mint_snapshot;
use guildgate_core::model::{REAUTH_WINDOW_MILLIS, ReauthWindow, TokenRecord, revoke_reason};
use guildgate_core::token::{GUILD_TOKEN, PlaintextToken};
use guildgate_storage::{RevokeScope, Store};
use ipnet::IpNet;

use crate::{Actor, Owner, OwnerResult};

/// How long a token lives: the dashboard's presets, or a time of the caller's choosing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Days(i64),
    At(Millis),
    Never,
}

impl Expiry {
    /// 90 days, as the product's docs give for a new token.
    pub const DEFAULT: Expiry = Expiry::Days(90);
    /// The presets the dashboard offers, as `(form value, label)`.
    pub const PRESETS: &[(&str, &str)] = &[
        ("7", "7 days"),
        ("30", "30 days"),
        ("90", "90 days"),
        ("never", "Never"),
    ];

    /// A preset's form value: `7`, `30`, `90` or `never`.
    pub fn parse_preset(field: &str, value: &str) -> Result<Self, ApiError> {
        match value.trim() {
            "7" | "30" | "90" => Ok(Expiry::Days(value.trim().parse().unwrap_or(90))),
            "never" => Ok(Expiry::Never),
            _ => Err(ApiError::validation(
                field,
                "expiry must be one of 7, 30, 90 (days) or never",
            )),
        }
    }

    pub fn at(self, now: Millis) -> Option<Millis> {
        match self {
            Expiry::Days(days) => Some(now + days * DAY),
            Expiry::At(at) => Some(at),
            Expiry::Never => None,
        }
    }
}

/// The audit row of an owner action on `token`: it names the token, so the audit log's
/// token filter shows its whole life (mint, windows, rotation, revocation) beside its calls.
fn token_event(actor: &Actor, token: &TokenRecord, action: &str) -> AuditEvent {
    let mut event = actor.event(Some(&token.guild_id), action, Some(&token.id));
    event.token_id = Some(token.id.clone());
    event.token_name = Some(token.name.clone());
    event
}

/// Parses an allowlist of CIDRs (a bare address counts as a /32 or /128).
pub fn parse_cidrs<'a>(
    field: &str,
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<IpNet>, ApiError> {
    values
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<IpNet>()
                .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ApiError::validation(field, format!("{c:?} is not a CIDR such as 192.0.2.0/24"))
                })
        })
        .collect()
}

pub struct MintRequest {
    pub guild_id: String,
    /// The issuer: the token acts for this member.
    pub user_id: String,
    pub name: String,
    /// Narrows the snapshot; `None` takes every capability the issuer holds.
    pub capabilities: Option<CapabilitySet>,
    pub expiry: Expiry,
    pub allowed_cidrs: Vec<IpNet>,
    pub allow_self_reauth: bool,
    /// `cli`, `dashboard` or `mcp`.
    pub source: String,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation(
            "name",
            "name must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Mints a token: the snapshot follows the issuance rules, the secret is returned once and
/// only its keyed hash is stored, and the audit row commits with it.
pub async fn mint_token(
    owner: Owner<'_>,
    actor: &Actor,
    request: MintRequest,
) -> OwnerResult<(TokenRecord, PlaintextToken)> {
    let name = check_name(&request.name)?;
    let guild = owner
        .store
        .guild(&request.guild_id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Guild {}", request.guild_id)))?;
    let issuer = owner.store.member(&guild.id, &request.user_id).await?;
    let expires_at = request.expiry.at(actor.now);
    let snapshot = mint_snapshot(
        &guild,
        issuer.as_ref(),
        request.capabilities,
        expires_at,
        actor.now,
    )?;
    let record = TokenRecord {
        id: new_ulid(),
        guild_id: guild.id.clone(),
        user_id: request.user_id,
        name,
        capabilities: snapshot,
        allowed_cidrs: request.allowed_cidrs,
        allow_self_reauth: request.allow_self_reauth,
        created_at: actor.now,
        expires_at,
        revoked_at: None,
        revoked_reason: None,
        last_used_at: None,
        last_used_ip: None,
        source: request.source,
        replaced_by: None,
    };
    let secret = GUILD_TOKEN.generate();
    let mut tx = owner.store.begin().await?;
    tx.insert_token(&record, &owner.hasher.hash(secret.expose()))
        .await?;
    tx.append_audit(&token_event(actor, &record, "token.mint"))
        .await?;
    tx.commit().await?;
    Ok((record, secret))
}

fn require_active(token: &TokenRecord, now: Millis, doing: &str) -> Result<(), ApiError> {
    match token.status(now) {
        "active" if token.replaced_by.is_none() => Ok(()),
        "active" => Err(ApiError::validation(
            "token",
            format!(
                "token {} was rotated; {doing} its successor instead",
                token.name
            ),
        )),
        status => Err(ApiError::validation(
            "token",
            format!("token {} is {status}, so it cannot be {doing}", token.name),
        )),
    }
}

/// Revokes a token for good and closes its window. False when it was already revoked.
pub async fn revoke_token(
    owner: Owner<'_>,
    actor: &Actor,
    token: &TokenRecord,
) -> OwnerResult<bool> {
    let mut tx = owner.store.begin().await?;
    let revoked = tx
        .revoke_tokens(
            RevokeScope::Token(&token.id),
            actor.now,
            revoke_reason::BY_OWNER,
        )
        .await?;
    tx.close_windows(&token.id, actor.now).await?;
    tx.append_audit(&token_event(actor, token, "token.revoke"))
        .await?;
    tx.commit().await?;
    Ok(revoked == 1)
}

/// Extends a live token's expiry from now; the secret stays the same.
pub async fn renew_token(
    owner: Owner<'_>,
    actor: &Actor,
    token: &TokenRecord,
    expiry: Expiry,
) -> OwnerResult<Option<Millis>> {
    require_active(token, actor.now, "renewed")?;
    let expires_at = expiry.at(actor.now);
    let mut tx = owner.store.begin().await?;
    tx.set_token_expiry(&token.id, expires_at).await?;
    tx.append_audit(&token_event(actor, token, "token.renew"))
        .await?;
    tx.commit().await?;
    Ok(expires_at)
}

/// Replaces a token with a new secret of the same name, snapshot (as far as the issuer
/// still holds it) and allowlist. The old secret keeps working for `grace`, then the
/// sweeper revokes it; a zero grace revokes it now.
pub async fn rotate_token(
    owner: Owner<'_>,
    actor: &Actor,
    old: &TokenRecord,
    grace: Millis,
    expiry: Expiry,
) -> OwnerResult<(TokenRecord, PlaintextToken)> {
    require_active(old, actor.now, "rotated")?;
    let issuer = owner.store.member(&old.guild_id, &old.user_id).await?;
    let snapshot = old
        .capabilities
        .intersect(issuer.map_or(CapabilitySet::EMPTY, |m| m.capabilities));
    let (successor, secret) = mint_token(
        owner,
        actor,
        MintRequest {
            guild_id: old.guild_id.clone(),
            user_id: old.user_id.clone(),
            name: old.name.clone(),
            capabilities: Some(snapshot),
            expiry,
            allowed_cidrs: old.allowed_cidrs.clone(),
            allow_self_reauth: old.allow_self_reauth,
            source: old.source.clone(),
        },
    )
    .await?;
    let grace_ends = actor.now + grace.max(0);
    let mut tx = owner.store.begin().await?;
    tx.mark_token_replaced(&old.id, &successor.id).await?;
    if grace <= 0 {
        tx.revoke_tokens(
            RevokeScope::Token(&old.id),
            actor.now,
            revoke_reason::ROTATED,
        )
        .await?;
        tx.close_windows(&old.id, actor.now).await?;
    } else if old.expires_at.is_none_or(|at| at > grace_ends) {
        tx.set_token_expiry(&old.id, Some(grace_ends)).await?;
    }
    tx.append_audit(&token_event(actor, old, "token.rotate"))
        .await?;
    tx.commit().await?;
    Ok((successor, secret))
}

/// Revokes rotated tokens whose grace period has run out, each with an audit row.
pub async fn sweep_rotated_tokens(store: &dyn Store, now: Millis) -> OwnerResult<usize> {
    let mut tx = store.begin().await?;
    let revoked = tx
        .revoke_replaced_tokens(now, revoke_reason::ROTATED)
        .await?;
    let actor = Actor::system(now, None);
    for token in &revoked {
        tx.close_windows(&token.id, now).await?;
        tx.append_audit(&token_event(&actor, token, "token.rotation_complete"))
            .await?;
    }
    tx.commit().await?;
    Ok(revoked.len())
}

/// Opens the token's 15-minute re-auth window (closing any other it had).
pub async fn open_window(
    owner: Owner<'_>,
    actor: &Actor,
    token: &TokenRecord,
) -> OwnerResult<ReauthWindow> {
    if token.status(actor.now) != "active" {
        return Err(ApiError::validation(
            "token",
            format!("token {} is {}", token.name, token.status(actor.now)),
        )
        .into());
    }
    let window = ReauthWindow {
        window_id: new_ulid(),
        token_id: token.id.clone(),
        opened_at: actor.now,
        expires_at: actor.now + REAUTH_WINDOW_MILLIS,
        opened_by: actor.source,
    };
    let mut tx = owner.store.begin().await?;
    tx.open_window(&window).await?;
    tx.append_audit(&token_event(actor, token, "reauth.open"))
        .await?;
    tx.commit().await?;
    Ok(window)
}

pub async fn close_window(owner: Owner<'_>, actor: &Actor, token: &TokenRecord) -> OwnerResult<()> {
    let mut tx = owner.store.begin().await?;
    tx.close_windows(&token.id, actor.now).await?;
    tx.append_audit(&token_event(actor, token, "reauth.close"))
        .await?;
    tx.commit().await?;
    Ok(())
}
