//! Leaked-secret reports, as a secret scanner sends them (GitHub's partner flow and the
//! like): each string that carries a valid guildgate checksum is looked up, and a live
//! token or key is revoked and audited with the report's source. The reporter learns
//! nothing about which strings were real.

use guildgate_core::clock::Millis;
use guildgate_core::model::revoke_reason;
use guildgate_core::shard::SHARD_KEY;
use guildgate_core::tasks::TASKS_KEY;
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::RevokeScope;

use crate::{Actor, Owner, OwnerResult};

/// At most this many strings per report.
pub const MAX_REPORTED: usize = 100;

/// One reported string and where the scanner found it.
pub struct LeakReport {
    pub secret: String,
    /// Where it was seen (a URL); recorded in the audit row.
    pub url: Option<String>,
}

/// Revokes every live secret among `reports`; returns how many were revoked (for the log
/// and the tests, never for the reporter).
pub async fn revoke_leaked(
    owner: Owner<'_>,
    reports: &[LeakReport],
    source: &str,
    ip: Option<String>,
    now: Millis,
) -> OwnerResult<usize> {
    let actor = Actor::system(now, ip);
    let mut revoked = 0;
    for report in reports.iter().take(MAX_REPORTED) {
        let secret = report.secret.trim();
        // The checksum is checked offline first: random strings cost no lookup.
        if let Ok(token) = GUILD_TOKEN.parse(secret) {
            let Some(found) = owner
                .store
                .token_by_hash(&owner.hasher.hash(token.expose()))
                .await?
            else {
                continue;
            };
            if found.token.status(now) != "active" {
                continue;
            }
            let mut tx = owner.store.begin().await?;
            tx.revoke_tokens(
                RevokeScope::Token(&found.token.id),
                now,
                revoke_reason::LEAKED,
            )
            .await?;
            tx.close_windows(&found.token.id, now).await?;
            let mut event = actor.event(
                Some(&found.token.guild_id),
                "token.leak_revoked",
                Some(&found.token.id),
            );
            event.token_id = Some(found.token.id.clone());
            event.token_name = Some(found.token.name.clone());
            event.path = Some(where_seen(source, report));
            tx.append_audit(&event).await?;
            tx.commit().await?;
            revoked += 1;
        } else if let Ok(key) = TASKS_KEY.parse(secret) {
            let Some(found) = owner
                .store
                .tasks_key_by_hash(&owner.hasher.hash(key.expose()))
                .await?
            else {
                continue;
            };
            if found.revoked_at.is_some() {
                continue;
            }
            let mut tx = owner.store.begin().await?;
            tx.revoke_tasks_key(&found.id, now).await?;
            let mut event = actor.event(None, "tasks_key.leak_revoked", Some(&found.id));
            event.surface = "tasks";
            event.path = Some(where_seen(source, report));
            tx.append_audit(&event).await?;
            tx.commit().await?;
            revoked += 1;
        } else if let Ok(key) = SHARD_KEY.parse(secret) {
            let Some(found) = owner
                .store
                .shard_key_by_hash(&owner.hasher.hash(key.expose()))
                .await?
            else {
                continue;
            };
            if found.revoked_at.is_some() {
                continue;
            }
            let mut tx = owner.store.begin().await?;
            tx.revoke_shard_key(&found.id, now).await?;
            let mut event = actor.event(
                Some(&found.guild_id),
                "shard_key.leak_revoked",
                Some(&found.id),
            );
            event.surface = "shard";
            event.token_id = Some(found.id.clone());
            event.token_name = Some(found.name.clone());
            event.path = Some(where_seen(source, report));
            tx.append_audit(&event).await?;
            tx.commit().await?;
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// The audit row's `path` for a report: who reported it and where it was seen.
fn where_seen(source: &str, report: &LeakReport) -> String {
    match &report.url {
        Some(url) => format!("leak report from {source}: {url}"),
        None => format!("leak report from {source}"),
    }
}
