//! Owner accounts and sessions.

use guildgate_core::account::{
    DashboardUser, SESSION_LIFETIME, Session, hash_password, new_session_secret,
};
use guildgate_core::clock::Millis;
use guildgate_core::ids::Snowflake;
use guildgate_storage::Store;

use crate::{Actor, Owner, OwnerResult};

/// Creates a dashboard account (or resets its password, ending its sessions).
pub async fn create_user(
    owner: Owner<'_>,
    actor: &Actor,
    discord_id: &str,
    password: &str,
    email: Option<String>,
) -> OwnerResult<DashboardUser> {
    let user_id = Snowflake::parse("discord-id", discord_id)?.to_string();
    let existing = owner.store.dashboard_user(&user_id).await?;
    let user = DashboardUser {
        user_id,
        password_hash: hash_password(password)?,
        email: email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
        created_at: existing.as_ref().map_or(actor.now, |u| u.created_at),
    };
    let mut tx = owner.store.begin().await?;
    tx.upsert_dashboard_user(&user).await?;
    tx.delete_sessions_of(&user.user_id).await?;
    let action = if existing.is_some() {
        "user.password_reset"
    } else {
        "user.create"
    };
    tx.append_audit(&actor.event(None, action, Some(&user.user_id)))
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// Starts a new session for a user who just proved who they are, ending the session the
/// browser came with (if any): a session id is never carried across a sign-in.
/// Returns the cookie secret, shown only to the browser.
pub async fn sign_in_session(
    owner: Owner<'_>,
    actor: &Actor,
    user_id: &str,
    previous_secret: Option<&str>,
) -> OwnerResult<(String, Session)> {
    let secret = new_session_secret();
    let session = Session {
        user_id: user_id.to_owned(),
        created_at: actor.now,
        expires_at: actor.now + SESSION_LIFETIME,
    };
    let mut tx = owner.store.begin().await?;
    if let Some(previous) = previous_secret {
        tx.delete_session(&owner.hasher.hash(previous)).await?;
    }
    tx.insert_session(&owner.hasher.hash(&secret), &session)
        .await?;
    tx.append_audit(&actor.event(None, "session.sign_in", Some(user_id)))
        .await?;
    tx.commit().await?;
    Ok((secret, session))
}

pub async fn sweep_expired_sessions(store: &dyn Store, now: Millis) -> OwnerResult<u64> {
    let mut tx = store.begin().await?;
    let gone = tx.delete_expired_sessions(now).await?;
    tx.commit().await?;
    Ok(gone)
}
