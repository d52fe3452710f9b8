//! Upstream intents: a Discord action is written down, and committed, before it is sent.
//! If the process dies between Discord accepting the action and guildgate recording it, the
//! next start finds the intent still pending and reconciles: it applies the action again
//! (every Discord moderation call is idempotent except a purge) and records it once.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::model::{Ban, Mute, Purge};

/// The action, with everything needed to apply and record it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Ban(Ban),
    Unban {
        guild_id: String,
        user_id: String,
        by: String,
        at: Millis,
    },
    Mute(Mute),
    LiftMute {
        guild_id: String,
        user_id: String,
        by: String,
        at: Millis,
    },
    Purge(Purge),
}

impl Action {
    pub fn guild_id(&self) -> &str {
        match self {
            Action::Ban(b) => &b.guild_id,
            Action::Mute(m) => &m.guild_id,
            Action::Purge(p) => &p.guild_id,
            Action::Unban { guild_id, .. } | Action::LiftMute { guild_id, .. } => guild_id,
        }
    }

    /// Safe to send again when it is unknown whether the first attempt landed.
    pub fn is_idempotent(&self) -> bool {
        !matches!(self, Action::Purge(_))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Ban(_) => "ban_user",
            Action::Unban { .. } => "unban_user",
            Action::Mute(_) => "mute_user",
            Action::LiftMute { .. } => "lift_mute",
            Action::Purge(_) => "mass_purge",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentStatus {
    Pending,
    Done,
    Failed,
    /// A purge whose fate is unknown: it is not sent twice.
    Uncertain,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::Pending => "pending",
            IntentStatus::Done => "done",
            IntentStatus::Failed => "failed",
            IntentStatus::Uncertain => "uncertain",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub id: String,
    pub action: Action,
    /// For the upstream's audit log, and guildgate's, when reconciled.
    pub token_id: String,
    pub token_name: String,
    pub reason: Option<String>,
    pub request_id: String,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_json() {
        let ban = Ban {
            id: "01J".into(),
            guild_id: "1".into(),
            user_id: "2".into(),
            reason: Some("raid".into()),
            duration_minutes: Some(60),
            delete_message_seconds: 0,
            issued_by: "3".into(),
            issued_at: 1_700_000_000_000,
            expires_at: Some(1_700_003_600_000),
        };
        let action = Action::Ban(ban);
        let text = serde_json::to_string(&action).unwrap();
        assert_eq!(serde_json::from_str::<Action>(&text).unwrap(), action);
        assert!(action.is_idempotent());
    }
}
