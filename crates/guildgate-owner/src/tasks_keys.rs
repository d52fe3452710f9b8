//! `arca_` keys of the tasks surface: scopes fixed at creation, optional expiry.

use guildgate_core::clock::Millis;
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::tasks::{ScopeSet, TASKS_KEY, TasksKey};
use guildgate_core::token::PlaintextToken;

use crate::{Actor, Owner, OwnerResult};

/// Mints a key for `user_id`; `workspace`, when known, is recorded on the audit row.
pub async fn mint_tasks_key(
    owner: Owner<'_>,
    actor: &Actor,
    user_id: i64,
    workspace: Option<i64>,
    label: &str,
    scopes: ScopeSet,
    expires_at: Option<Millis>,
) -> OwnerResult<(TasksKey, PlaintextToken)> {
    let label = label.trim().to_owned();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::validation("label", "label must be 1 to 100 characters").into());
    }
    if scopes == ScopeSet::default() {
        return Err(ApiError::validation("scopes", "at least one scope is required").into());
    }
    if expires_at.is_some_and(|at| at <= actor.now) {
        return Err(ApiError::validation("expires_at", "expires_at must be in the future").into());
    }
    let secret = TASKS_KEY.generate();
    let key = TasksKey {
        id: new_ulid(),
        user_id,
        label,
        scopes,
        created_at: actor.now,
        expires_at,
        revoked_at: None,
    };
    let mut tx = owner.store.begin().await?;
    tx.insert_tasks_key(&key, &owner.hasher.hash(secret.expose()))
        .await?;
    let mut event = actor.event(
        workspace.map(|w| w.to_string()).as_deref(),
        "tasks_key.mint",
        Some(&key.id),
    );
    event.surface = "tasks";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok((key, secret))
}

/// Revokes a key; false when it was already revoked.
pub async fn revoke_tasks_key(
    owner: Owner<'_>,
    actor: &Actor,
    key: &TasksKey,
) -> OwnerResult<bool> {
    let mut tx = owner.store.begin().await?;
    let revoked = tx.revoke_tasks_key(&key.id, actor.now).await?;
    let mut event = actor.event(None, "tasks_key.revoke", Some(&key.id));
    event.surface = "tasks";
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(revoked)
}
