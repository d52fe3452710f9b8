//! A database for the benchmark: one pro guild, its owner, tokens with an open re-auth
//! window, a ticket; and, for the memory case, many tokens and audit rows.

use guildgate_core::audit::{ActorSource, AuditEvent};
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{Clock, DAY, SystemClock};
use guildgate_core::crypto::SecretHasher;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::{Guild, GuildTier, Member, ReauthWindow, TokenRecord};
use guildgate_core::token::GUILD_TOKEN;
use guildgate_storage::{SqliteStore, Store};

pub const GUILD: &str = "100000000000000000";
pub const OWNER: &str = "583912000000000001";
pub const TARGET: &str = "583912000000000000";

fn token(name: String, now: i64) -> TokenRecord {
    TokenRecord {
        id: new_ulid(),
        guild_id: GUILD.into(),
        user_id: OWNER.into(),
        name,
        capabilities: CapabilitySet::all(),
        allowed_cidrs: vec![],
        allow_self_reauth: false,
        created_at: now,
        expires_at: None,
        revoked_at: None,
        revoked_reason: None,
        last_used_at: None,
        last_used_ip: None,
        source: "cli".into(),
        replaced_by: None,
    }
}

/// The guild, its owner and `tokens` tokens (each with a day-long re-auth window, so the
/// destructive write is measured, not refused). Returns the secrets.
pub async fn guild_with_tokens(
    store: &dyn Store,
    hasher: &SecretHasher,
    tokens: usize,
) -> Vec<String> {
    let now = SystemClock.now();
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&Guild {
        id: GUILD.into(),
        name: "bench".into(),
        owner_id: OWNER.into(),
        tier: GuildTier::Pro,
        mcp_enabled: false,
        created_at: now,
    })
    .await
    .unwrap();
    tx.upsert_member(&Member {
        guild_id: GUILD.into(),
        user_id: OWNER.into(),
        capabilities: CapabilitySet::all(),
        added_at: now,
    })
    .await
    .unwrap();
    let mut secrets = Vec::with_capacity(tokens);
    for i in 0..tokens {
        let secret = GUILD_TOKEN.generate();
        let record = token(format!("bench {i}"), now);
        tx.insert_token(&record, &hasher.hash(secret.expose()))
            .await
            .unwrap();
        tx.open_window(&ReauthWindow {
            window_id: new_ulid(),
            token_id: record.id.clone(),
            opened_at: now,
            expires_at: now + DAY,
            opened_by: ActorSource::Cli,
        })
        .await
        .unwrap();
        secrets.push(secret.expose().to_owned());
    }
    tx.commit().await.unwrap();
    secrets
}

/// `rows` audit rows of reads, written in transactions of 10,000.
pub async fn audit_rows(store: &SqliteStore, rows: usize) {
    let now = SystemClock.now();
    let mut left = rows;
    while left > 0 {
        let batch: Vec<AuditEvent> = (0..left.min(10_000))
            .map(|i| {
                let mut event = AuditEvent::cli(now - i as i64, Some(GUILD), "list_strikes", None);
                event.actor_source = ActorSource::Token;
                event.method = Some("GET".into());
                event.path = Some(format!("/api/public/v1/guilds/{GUILD}/strikes"));
                event.status = Some(200);
                event.request_id = Some(guildgate_core::ids::new_request_id());
                event.ip = Some("127.0.0.1".into());
                event
            })
            .collect();
        store.append_audit(&batch).await.unwrap();
        left -= batch.len();
    }
}
