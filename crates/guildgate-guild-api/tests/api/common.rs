//! A real guildgate guild surface on a loopback port, over a temporary SQLite database,
//! with a clock the test moves by hand.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use guildgate_core::audit::ActorSource;
use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{Clock, ManualClock, parse_rfc3339};
use guildgate_core::crypto::SecretKey;
use guildgate_core::ids::new_ulid;
use guildgate_core::limits::LimitsConfig;
use guildgate_core::model::{
    GameServer, Guild, GuildTier, Member, REAUTH_WINDOW_MILLIS, ReauthWindow, Ticket, TokenRecord,
};
use guildgate_core::net::TrustedProxies;
use guildgate_core::token::GUILD_TOKEN;
use guildgate_guild_api::{AppState, Enforcer, GuildApiConfig, RecordOnly};
use guildgate_storage::{Durability, RevokeScope, Store};
use reqwest::Method;
use serde_json::{Value, json};

pub const GUILD: &str = "100000000000000000";
pub const OTHER_GUILD: &str = "200000000000000000";
pub const OWNER: &str = "583912000000000001";
pub const MOD: &str = "583912000000000002";
pub const TARGET: &str = "583912000000000000";

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub key: SecretKey,
    /// The scratch database (SQLite in the temporary directory, or PostgreSQL).
    pub db_url: String,
    pub http: reqwest::Client,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

pub struct Minted {
    pub id: String,
    pub secret: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the documented envelope and returns the error object.
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "status of {}", self.body);
        let err = &self.body["error"];
        assert_eq!(err["code"], code, "code of {}", self.body);
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(err["retryable"].is_boolean());
        let request_id = err["request_id"].as_str().expect("request_id");
        assert!(
            request_id.starts_with("req_") && request_id.len() == 30,
            "{request_id}"
        );
        assert_eq!(self.header("x-request-id"), Some(request_id));
        err
    }
}

pub struct Options {
    pub limits: LimitsConfig,
    pub trusted_proxies: TrustedProxies,
    pub enforcer: Arc<dyn Enforcer>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: LimitsConfig::default(),
            trusted_proxies: TrustedProxies::default(),
            enforcer: Arc::new(RecordOnly),
        }
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = guildgate_storage::testing::scratch_database_url(dir.path())
            .await
            .unwrap();
        let store = guildgate_storage::open(&db_url, Durability::Full)
            .await
            .unwrap();
        let clock = ManualClock::starting_at(parse_rfc3339("2026-05-12T20:00:00Z").unwrap());
        let key = SecretKey::generate();
        let config = GuildApiConfig {
            dashboard_base_url: "https://guildgate.test".into(),
            trusted_proxies: options.trusted_proxies,
            limits: options.limits,
            ..GuildApiConfig::default()
        };
        let state = AppState::new(
            store.clone(),
            Arc::new(clock.clone()),
            &key,
            config,
            options.enforcer,
        );
        let app =
            guildgate_guild_api::router(state.clone()).fallback(guildgate_guild_api::not_found);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let app = TestApp {
            base: format!("http://{addr}"),
            clock,
            store,
            key,
            db_url,
            http: reqwest::Client::new(),
            state,
            _dir: dir,
        };
        app.seed_guild(GUILD, GuildTier::Pro).await;
        app.seed_guild(OTHER_GUILD, GuildTier::Pro).await;
        app
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn seed_guild(&self, id: &str, tier: GuildTier) {
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_guild(&Guild {
            id: id.into(),
            name: "Test guild".into(),
            owner_id: OWNER.into(),
            tier,
            mcp_enabled: true,
            created_at: self.now(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        self.set_member(id, OWNER, &CapabilitySet::all().to_list())
            .await;
    }

    pub async fn set_member(&self, guild: &str, user: &str, caps: &str) {
        let mut tx = self.store.begin().await.unwrap();
        tx.upsert_member(&Member {
            guild_id: guild.into(),
            user_id: user.into(),
            capabilities: CapabilitySet::parse_list("c", caps).unwrap(),
            added_at: self.now(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// Mints the way the admin CLI does: a fresh secret, only its keyed hash stored.
    pub async fn mint_with(
        &self,
        guild: &str,
        user: &str,
        caps: &str,
        edit: impl FnOnce(&mut TokenRecord),
    ) -> Minted {
        let secret = GUILD_TOKEN.generate();
        let mut record = TokenRecord {
            id: new_ulid(),
            guild_id: guild.into(),
            user_id: user.into(),
            name: "CI deploy bot".into(),
            capabilities: CapabilitySet::parse_list("c", caps).unwrap(),
            allowed_cidrs: vec![],
            allow_self_reauth: false,
            created_at: self.now(),
            expires_at: None,
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
            source: "cli".into(),
            replaced_by: None,
        };
        edit(&mut record);
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_token(&record, &self.key.secret_hasher().hash(secret.expose()))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        Minted {
            id: record.id,
            secret: secret.expose().to_owned(),
        }
    }

    pub async fn mint(&self, caps: &str) -> Minted {
        self.mint_with(GUILD, OWNER, caps, |_| {}).await
    }

    pub async fn open_window(&self, token_id: &str) {
        let mut tx = self.store.begin().await.unwrap();
        tx.open_window(&ReauthWindow {
            window_id: new_ulid(),
            token_id: token_id.into(),
            opened_at: self.now(),
            expires_at: self.now() + REAUTH_WINDOW_MILLIS,
            opened_by: ActorSource::Cli,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn revoke(&self, scope: RevokeScope<'_>) {
        let mut tx = self.store.begin().await.unwrap();
        tx.revoke_tokens(scope, self.now(), "test").await.unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn ticket(&self) -> String {
        let ticket = Ticket {
            id: new_ulid(),
            guild_id: GUILD.into(),
            opened_by: TARGET.into(),
            subject: "help".into(),
            status: "open".into(),
            claimed_by: None,
            claimed_at: None,
            created_at: self.now(),
        };
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_ticket(&ticket).await.unwrap();
        tx.commit().await.unwrap();
        ticket.id
    }

    pub async fn server(&self) -> String {
        let server = GameServer {
            id: new_ulid(),
            guild_id: GUILD.into(),
            name: "eu-1".into(),
            host: "127.0.0.1".into(),
            port: 27015,
            created_at: self.now(),
        };
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_server(&server, &self.key.sealer().seal(b"hunter2-rcon"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        server.id
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(json!({ "_raw": text }))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::DELETE, path, Some(token), Some(body), &[])
            .await
    }

    /// Audit rows of the guild, newest first, read through the storage interface.
    pub async fn audit_rows(&self) -> Vec<guildgate_core::model::AuditRow> {
        // Reads and refusals are written by the batched writer; a call's row is queued
        // before its answer is sent, so once the writer is flushed every row is in.
        self.state.audit_sink().flush().await;
        {
            let page = self
                .store
                .audit(
                    GUILD,
                    &Default::default(),
                    &guildgate_core::model::PageRequest {
                        limit: 100,
                        before: None,
                    },
                )
                .await
                .unwrap();
            page.data
        }
    }
}

pub fn g(path: &str) -> String {
    format!("/api/public/v1/guilds/{GUILD}{path}")
}

pub fn strike_body(sentinel: &str) -> Value {
    json!({
        "user_id": TARGET,
        "player_name": "PlayerName",
        "in_game_id": "76561198000000001",
        "reason": "spam",
        "category": "rule-violation",
        "severity": "minor",
        "_confirmation": sentinel,
    })
}

pub fn strike_sentinel() -> String {
    format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR")
}
