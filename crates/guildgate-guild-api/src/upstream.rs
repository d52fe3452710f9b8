//! Sending an action upstream without losing it: the intent is committed first, the action
//! is sent, and the intent is resolved in the transaction that records the action. After a
//! crash in between, `reconcile` finishes the job at the next start.

use guildgate_core::audit::{ActorSource, AuditEvent, OUTCOME_SUCCESS};
use guildgate_core::error::ApiError;
use guildgate_core::ids::new_ulid;
use guildgate_core::intent::{Action, Intent, IntentStatus};
use guildgate_storage::WriteTx;

use crate::call::Write;
use crate::enforcer::{ActionContext, Enforcer, UpstreamError};
use crate::envelope::Failure;
use crate::state::AppState;

/// Sends one action through the enforcer.
pub async fn send(
    enforcer: &dyn Enforcer,
    ctx: &ActionContext,
    action: &Action,
) -> Result<(), UpstreamError> {
    match action {
        Action::Ban(ban) => enforcer.ban(ctx, ban).await,
        Action::Unban {
            guild_id, user_id, ..
        } => enforcer.unban(ctx, guild_id, user_id).await,
        Action::Mute(mute) => enforcer.mute(ctx, mute).await,
        Action::LiftMute {
            guild_id, user_id, ..
        } => enforcer.lift_mute(ctx, guild_id, user_id).await,
        Action::Purge(purge) => enforcer.purge(ctx, purge).await,
    }
}

/// Records an applied action in guildgate's database, in `tx`.
pub async fn record(
    tx: &mut dyn WriteTx,
    action: &Action,
) -> Result<(), guildgate_storage::StoreError> {
    match action {
        Action::Ban(ban) => tx.replace_ban(ban).await,
        Action::Unban {
            guild_id,
            user_id,
            by,
            at,
        } => tx.lift_ban(guild_id, user_id, *at, by).await.map(drop),
        Action::Mute(mute) => tx.replace_mute(mute).await,
        Action::LiftMute {
            guild_id,
            user_id,
            by,
            at,
        } => tx.lift_mute(guild_id, user_id, *at, by).await.map(drop),
        Action::Purge(purge) => tx.insert_purge(purge).await,
    }
}

impl Write {
    /// Commits the intent, sends `action` upstream and records it in this write's
    /// transaction. If the upstream refuses, the intent is marked failed, nothing is
    /// recorded as done, and the caller gets 503 UPSTREAM_UNAVAILABLE (retryable).
    pub async fn apply_upstream(
        mut self,
        action: Action,
        reason: Option<&str>,
    ) -> Result<Write, Failure> {
        let state = self.call.state.clone();
        let intent = Intent {
            id: new_ulid(),
            action,
            token_id: self.call.caller.token.id.clone(),
            token_name: self.call.caller.token.name.clone(),
            reason: reason.map(str::to_owned),
            request_id: self.call.ctx.request_id.clone(),
            created_at: state.clock.now(),
        };
        self.tx().insert_intent(&intent).await?;
        self.checkpoint().await?;
        // Held while the call is in flight: an instance reconciling crashes passes it by.
        self.tx().claim_intent(&intent.id).await?;
        let ctx = self.call.action_context(reason);
        if let Err(err) = send(&*state.enforcer, &ctx, &intent.action).await {
            let _ = self
                .tx()
                .resolve_intent(&intent.id, IntentStatus::Failed, state.clock.now())
                .await?;
            self.commit_without_response().await?;
            return Err(err.into());
        }
        if state.config.crash_after_upstream {
            // Fault injection for the crash test: die where a crash hurts most.
            tracing::error!(
                "GUILDGATE_FAULT_CRASH_AFTER_UPSTREAM is set: aborting after the upstream call"
            );
            std::process::abort();
        }
        record(self.tx(), &intent.action).await?;
        let settled_here = self
            .tx()
            .resolve_intent(&intent.id, IntentStatus::Done, state.clock.now())
            .await?;
        if !settled_here {
            // Another instance reconciled it (and recorded it) while Discord was slow:
            // roll this record back rather than keep it twice.
            tracing::error!(intent = %intent.id, "an upstream action was settled by another instance meanwhile");
            return Err(ApiError::upstream_unavailable(
                "This action was settled meanwhile; read the current state before retrying.",
            )
            .into());
        }
        Ok(self)
    }
}

/// Settles one left-over intent in a transaction that holds it: `None` when another
/// instance holds or settled it, or Discord could not be reached (tried again later).
async fn settle(
    state: &AppState,
    intent: &guildgate_core::intent::Intent,
) -> Result<Option<IntentStatus>, guildgate_storage::StoreError> {
    let mut tx = state.store.begin().await?;
    if !tx.claim_intent(&intent.id).await? {
        return Ok(None);
    }
    let now = state.clock.now();
    let expired_mute = matches!(&intent.action, Action::Mute(m) if m.expires_at <= now);
    let (status, outcome) = if expired_mute {
        // Over already: record it, but do not send Discord a timeout in the past.
        (IntentStatus::Done, OUTCOME_SUCCESS)
    } else if intent.action.is_idempotent() {
        let ctx = ActionContext {
            token_name: intent.token_name.clone(),
            reason: intent.reason.clone(),
        };
        if let Err(err) = send(&*state.enforcer, &ctx, &intent.action).await {
            tracing::warn!(intent = %intent.id, %err, "could not reconcile an upstream action; will retry");
            return Ok(None);
        }
        (IntentStatus::Done, OUTCOME_SUCCESS)
    } else {
        (IntentStatus::Uncertain, "UNCERTAIN")
    };
    if status == IntentStatus::Done {
        record(&mut *tx, &intent.action).await?;
    }
    if !tx.resolve_intent(&intent.id, status, now).await? {
        return Ok(None);
    }
    let mut event = AuditEvent::cli(
        now,
        Some(intent.action.guild_id()),
        intent.action.name(),
        None,
    );
    event.actor_source = ActorSource::Token;
    event.token_id = Some(intent.token_id.clone());
    event.token_name = Some(intent.token_name.clone());
    event.request_id = Some(intent.request_id.clone());
    event.outcome = outcome.to_owned();
    event.method = Some("RECONCILE".to_owned());
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(Some(status))
}

/// Finishes the intents a crash left pending (those written before `started_at`): an
/// idempotent action is sent again and recorded once; a purge, which must not run twice,
/// is marked uncertain. Returns how many were settled.
pub async fn reconcile(state: &AppState, started_at: i64) -> Result<usize, ApiError> {
    let pending = state.store.pending_intents(started_at).await.map_err(|e| {
        tracing::error!(%e, "cannot read pending upstream intents");
        ApiError::internal()
    })?;
    let mut settled = 0;
    for intent in pending {
        match settle(state, &intent).await {
            Ok(Some(status)) => {
                settled += 1;
                tracing::info!(intent = %intent.id, status = status.as_str(), "reconciled an upstream action left by a crash");
            }
            Ok(None) => {}
            Err(err) => {
                tracing::error!(intent = %intent.id, %err, "could not record a reconciled action")
            }
        }
    }
    Ok(settled)
}

/// Discord has no timed bans: when a ban's time is up, guildgate lifts it there and marks
/// it lifted. Returns how many were lifted; failures are left for the next sweep.
pub async fn lift_expired_bans(state: &AppState) -> usize {
    let now = state.clock.now();
    let bans = match state.store.expired_bans(now, 100).await {
        Ok(bans) => bans,
        Err(err) => {
            tracing::warn!(%err, "cannot read expired bans");
            return 0;
        }
    };
    let mut lifted = 0;
    for ban in bans {
        let ctx = ActionContext {
            token_name: "ban expiry".to_owned(),
            reason: Some("timed ban ended".to_owned()),
        };
        if let Err(err) = state
            .enforcer
            .unban(&ctx, &ban.guild_id, &ban.user_id)
            .await
        {
            tracing::warn!(ban = %ban.id, %err, "could not lift an expired ban upstream; will retry");
            continue;
        }
        let result: Result<(), guildgate_storage::StoreError> = async {
            let mut tx = state.store.begin().await?;
            tx.lift_expired_ban(&ban.id, now).await?;
            let mut event =
                AuditEvent::cli(now, Some(&ban.guild_id), "unban_user", Some(&ban.user_id));
            event.method = Some("EXPIRY".to_owned());
            tx.append_audit(&event).await?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => lifted += 1,
            Err(err) => {
                tracing::warn!(ban = %ban.id, %err, "could not record an expired ban as lifted")
            }
        }
    }
    lifted
}
