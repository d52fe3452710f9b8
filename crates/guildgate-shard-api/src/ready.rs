//! Ready-check sessions: started from a template, they ask every connected operator to
//! answer ready or declined; who has not answered when the session's time is up counts
//! as afk. One session at a time per guild, held in this process (templates are stored).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use guildgate_core::clock::{Millis, to_rfc3339};
use guildgate_core::ids::new_ulid;
pub use guildgate_core::shard::ReadyAnswer;
use serde_json::{Value, json};

use crate::state::ShardState;
use crate::write::emit;

/// Finished sessions kept per guild for `/ready-checks/status/{id}`.
const RECENT_KEPT: usize = 20;

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub template_id: String,
    pub name: String,
    pub message: Option<String>,
    pub initiator_name: Option<String>,
    pub started_at: Millis,
    pub expires_at: Millis,
    pub completed_at: Option<Millis>,
    /// User id -> (display name, answer; `None` while pending).
    pub answers: BTreeMap<String, (String, Option<ReadyAnswer>)>,
}

impl Session {
    pub fn summary(&self) -> Value {
        let count = |answer: Option<ReadyAnswer>| {
            self.answers
                .values()
                .filter(|(_, given)| *given == answer)
                .count()
        };
        let (ready, total) = (count(Some(ReadyAnswer::Ready)), self.answers.len());
        json!({
            "total": total, "pending": count(None), "ready": ready,
            "declined": count(Some(ReadyAnswer::Declined)), "afk": count(Some(ReadyAnswer::Afk)),
            "allReady": total > 0 && ready == total,
        })
    }

    pub fn to_json(&self) -> Value {
        let responses: Vec<Value> = self
            .answers
            .iter()
            .map(|(user, (name, answer))| {
                json!({
                    "userId": user, "displayName": name,
                    "response": answer.map_or("pending", ReadyAnswer::as_str),
                })
            })
            .collect();
        json!({
            "id": self.id, "sessionId": self.id, "templateId": self.template_id,
            "name": self.name, "message": self.message, "initiatorName": self.initiator_name,
            "status": if self.completed_at.is_some() { "completed" } else { "active" },
            "startedAt": to_rfc3339(self.started_at), "expiresAt": to_rfc3339(self.expires_at),
            "completedAt": self.completed_at.map(to_rfc3339),
            "responses": responses, "summary": self.summary(),
        })
    }

    fn all_answered(&self) -> bool {
        self.answers.values().all(|(_, answer)| answer.is_some())
    }
}

#[derive(Default)]
struct GuildChecks {
    active: Option<Session>,
    recent: VecDeque<Session>,
}

#[derive(Default)]
pub struct ReadyChecks {
    guilds: Mutex<HashMap<String, GuildChecks>>,
}

impl ReadyChecks {
    fn with<T>(&self, guild_id: &str, f: impl FnOnce(&mut GuildChecks) -> T) -> T {
        let mut guilds = self.guilds.lock().unwrap_or_else(|p| p.into_inner());
        f(guilds.entry(guild_id.to_owned()).or_default())
    }

    /// The active session, else the latest finished one.
    pub fn latest(&self, guild_id: &str) -> Option<Session> {
        self.with(guild_id, |checks| {
            checks
                .active
                .clone()
                .or_else(|| checks.recent.back().cloned())
        })
    }

    pub fn find(&self, guild_id: &str, session_id: &str) -> Option<Session> {
        self.with(guild_id, |checks| {
            checks
                .active
                .iter()
                .chain(checks.recent.iter())
                .find(|s| s.id == session_id)
                .cloned()
        })
    }

    /// Drops a session that never got going (its start could not be recorded).
    pub fn abandon(&self, guild_id: &str, session_id: &str) {
        self.with(guild_id, |checks| {
            if checks.active.as_ref().is_some_and(|s| s.id == session_id) {
                checks.active = None;
            }
        });
    }

    fn finish(&self, guild_id: &str, session_id: &str, now: Millis) -> Option<Session> {
        self.with(guild_id, |checks| {
            if checks.active.as_ref().is_none_or(|s| s.id != session_id) {
                return None;
            }
            let mut session = checks.active.take()?;
            for (_, answer) in session.answers.values_mut() {
                answer.get_or_insert(ReadyAnswer::Afk);
            }
            session.completed_at = Some(now);
            if checks.recent.len() == RECENT_KEPT {
                checks.recent.pop_front();
            }
            checks.recent.push_back(session.clone());
            Some(session)
        })
    }
}

/// What starting a session needs.
pub struct Start {
    pub template_id: String,
    pub name: String,
    pub message: Option<String>,
    pub initiator_name: Option<String>,
    pub duration_secs: u64,
    /// User id -> display name of everyone asked.
    pub operators: BTreeMap<String, String>,
}

/// Opens a session unless one is running; its completion is scheduled here.
pub fn open(state: &ShardState, guild_id: &str, start: Start) -> Result<Session, String> {
    let now = state.clock.now();
    let duration_ms = i64::try_from(start.duration_secs * 1000).unwrap_or(i64::MAX);
    let session = Session {
        id: format!("rcs_{}", new_ulid().to_lowercase()),
        template_id: start.template_id,
        name: start.name,
        message: start.message,
        initiator_name: start.initiator_name,
        started_at: now,
        expires_at: now.saturating_add(duration_ms),
        completed_at: None,
        answers: start
            .operators
            .into_iter()
            .map(|(user, name)| (user, (name, None)))
            .collect(),
    };
    state.ready_checks.with(guild_id, |checks| {
        if let Some(active) = &checks.active {
            return Err(format!(
                "A ready check is already running ({}); wait for it to complete",
                active.id
            ));
        }
        checks.active = Some(session.clone());
        Ok(())
    })?;
    let (state, guild, id) = (state.clone(), guild_id.to_owned(), session.id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(start.duration_secs)).await;
        complete(&state, &guild, &id).await;
    });
    Ok(session)
}

/// Records one operator's answer; the session completes once everyone has answered.
pub async fn respond(
    state: &ShardState,
    guild_id: &str,
    session_id: &str,
    user_id: &str,
    answer: ReadyAnswer,
) -> Result<(), String> {
    let (summary, done) = state.ready_checks.with(guild_id, |checks| {
        let session = checks
            .active
            .as_mut()
            .filter(|s| s.id == session_id)
            .ok_or_else(|| format!("Ready check {session_id} is not running"))?;
        let (_, given) = session
            .answers
            .get_mut(user_id)
            .ok_or("You were not connected when this ready check started")?;
        *given = Some(answer);
        Ok::<_, String>((session.summary(), session.all_answered()))
    })?;
    let event = json!({
        "sessionId": session_id, "userId": user_id, "response": answer.as_str(),
        "summary": summary,
    });
    if let Err(err) = emit(state, guild_id, None, vec![("ready-check.response", event)]).await {
        tracing::warn!(error = %err.message, "could not record a ready-check answer");
    }
    if done {
        complete(state, guild_id, session_id).await;
    }
    Ok(())
}

/// Ends the session (once: the timer and the last answer may both get here).
async fn complete(state: &ShardState, guild_id: &str, session_id: &str) {
    let Some(session) = state
        .ready_checks
        .finish(guild_id, session_id, state.clock.now())
    else {
        return;
    };
    let event = json!({
        "sessionId": session.id, "templateId": session.template_id, "name": session.name,
        "summary": session.summary(), "session": session.to_json(),
    });
    if let Err(err) = emit(
        state,
        guild_id,
        None,
        vec![("ready-check.completed", event)],
    )
    .await
    {
        tracing::warn!(error = %err.message, "could not record a ready-check completion");
    }
}
