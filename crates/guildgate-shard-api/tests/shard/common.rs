//! A real shard surface on a loopback port over a temporary SQLite database, with a clock
//! the test moves, which can be stopped and started again on the same database.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use guildgate_core::clock::{Clock, ManualClock, SystemClock};
use guildgate_core::crypto::SecretKey;
use guildgate_core::model::{Guild, GuildTier};
use guildgate_core::shard::{ScopeSet, ShardTier};
use guildgate_owner::{Actor, Owner};
use guildgate_shard_api::{ShardSettings, ShardState};
use guildgate_storage::{AuditSink, Durability, Store};
use reqwest::Method;
use serde_json::{Value, json};

pub const GUILD: &str = "111111111111111111";
pub const OTHER_GUILD: &str = "999999999999999999";
pub const ALL_SCOPES: &str = "read:status,read:roster,read:roster:roles,read:assignments,read:events,read:metrics,read:audit,write:assignments,write:nets,write:archive,write:operation,manage:features,write:rules,write:presets,write:acars,write:clients";

pub struct Shard {
    pub base: String,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    /// The scratch database (SQLite in `dir`, or PostgreSQL when the run asks for it).
    pub url: String,
    pub key: SecretKey,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    workers: tokio::task::JoinHandle<()>,
    pub dir: Arc<tempfile::TempDir>,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts `{"error": message}` with `status` and a request id.
    pub fn expect_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body, json!({ "error": message }));
        let id = self.headers.get("x-request-id").unwrap().to_str().unwrap();
        assert!(id.starts_with("req_"), "{id}");
    }

    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body
    }
}

impl Shard {
    pub async fn start() -> Self {
        Self::start_with(ShardSettings::default()).await
    }

    /// A shard whose clock starts at the real time (webhook verifiers check timestamps).
    pub async fn start_with(settings: ShardSettings) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let url = guildgate_storage::testing::scratch_database_url(dir.path())
            .await
            .unwrap();
        let clock = ManualClock::starting_at(SystemClock.now());
        let shard = Self::boot(dir, url, clock, SecretKey::generate(), settings).await;
        let mut tx = shard.store.begin().await.unwrap();
        for (id, name) in [(GUILD, "Test Wing"), (OTHER_GUILD, "Elsewhere")] {
            tx.insert_guild(&Guild {
                id: id.into(),
                name: name.into(),
                owner_id: "222222222222222222".into(),
                tier: GuildTier::Pro,
                mcp_enabled: false,
                created_at: 0,
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        shard
    }

    async fn boot(
        dir: Arc<tempfile::TempDir>,
        url: String,
        clock: ManualClock,
        key: SecretKey,
        settings: ShardSettings,
    ) -> Self {
        let store = guildgate_storage::open(&url, Durability::Full)
            .await
            .unwrap();
        let audit = AuditSink::spawn(store.clone());
        let state = ShardState::new(
            store.clone(),
            Arc::new(clock.clone()),
            &key,
            audit,
            settings,
        );
        let workers = {
            let state = state.clone();
            tokio::spawn(async move { guildgate_shard_api::run_workers(state).await })
        };
        let app = guildgate_shard_api::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Shard {
            base: format!("http://{addr}"),
            clock,
            store,
            url,
            key,
            http: reqwest::Client::new(),
            server,
            workers,
            dir,
        }
    }

    /// A second instance: another server with its own workers and live hub, on the same
    /// database, key and clock (several instances behind one load balancer).
    pub async fn twin(&self, settings: ShardSettings) -> Self {
        Self::boot(
            self.dir.clone(),
            self.url.clone(),
            self.clock.clone(),
            self.key.clone(),
            settings,
        )
        .await
    }

    /// Stops this server (and its workers) and starts another on the same database.
    pub async fn restart(self, settings: ShardSettings) -> Self {
        self.server.abort();
        self.workers.abort();
        let (dir, url, clock, key) = (
            self.dir.clone(),
            self.url.clone(),
            self.clock.clone(),
            self.key.clone(),
        );
        self.store.close().await;
        Self::boot(dir, url, clock, key, settings).await
    }

    pub async fn mint_in(&self, guild: &str, scopes: &str) -> String {
        let hasher = self.key.secret_hasher();
        let owner = Owner {
            store: self.store.as_ref(),
            hasher: &hasher,
        };
        let scopes = ScopeSet::parse_list(scopes).unwrap();
        let (_, secret) =
            guildgate_owner::mint_shard_key(owner, &Actor::cli(0), guild, "ops bot", scopes)
                .await
                .unwrap();
        secret.expose().to_owned()
    }

    pub async fn mint(&self, scopes: &str) -> String {
        self.mint_in(GUILD, scopes).await
    }

    pub async fn set_tier(&self, tier: ShardTier) {
        let hasher = self.key.secret_hasher();
        let owner = Owner {
            store: self.store.as_ref(),
            hasher: &hasher,
        };
        guildgate_owner::set_shard_tier(owner, &Actor::cli(0), GUILD, tier)
            .await
            .unwrap();
    }

    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(json!({ "_raw": text }));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, key, None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, key, Some(body)).await
    }

    /// Creates a net and returns (netId, netUid).
    pub async fn net(&self, key: &str, name: &str) -> (u64, String) {
        let reply = self
            .post("/api/v1/nets", key, json!({ "name": name }))
            .await;
        let body = reply.ok();
        (
            body["netId"].as_u64().unwrap(),
            body["netUid"].as_str().unwrap().to_owned(),
        )
    }
}

/// Polls `check` every 20 ms for up to 5 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..250 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A comms client on the shard's WebSocket.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The `joined` greeting.
    pub joined: Value,
}

impl Shard {
    /// A `gcli_` client token for a user of GUILD with these role ids, valid for a day.
    pub fn client_token(&self, user: &str, name: &str, roles: &[&str]) -> String {
        self.client_token_until(user, name, roles, self.clock.now() + 86_400_000)
    }

    pub fn client_token_until(&self, user: &str, name: &str, roles: &[&str], until: i64) -> String {
        use guildgate_core::shard::signing::{ClientIdentity, ClientTokens};
        ClientTokens::new(self.key.client_token_key()).issue(
            &ClientIdentity {
                guild_id: GUILD.into(),
                user_id: user.into(),
                display_name: name.into(),
                role_ids: roles.iter().map(|r| (*r).to_owned()).collect(),
                issued_at: self.clock.now(),
            },
            until,
        )
    }

    /// Opens `/ws` and sends `join`; returns the socket before any answer is read.
    pub async fn open_socket(&self, join: Value) -> Socket {
        let url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut socket = Socket {
            stream,
            joined: Value::Null,
        };
        socket.send(join).await;
        socket
    }

    /// Connects and joins as this user; fails unless the shard greets it.
    pub async fn connect(&self, user: &str, name: &str, roles: &[&str]) -> Socket {
        let token = self.client_token(user, name, roles);
        let mut socket = self
            .open_socket(json!({ "type": "join", "token": token, "transport": "desktop" }))
            .await;
        let joined = socket.next_of("joined").await;
        socket.next_of("voice.ready").await;
        socket.joined = joined;
        socket
    }
}

impl Socket {
    pub async fn send(&mut self, message: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(
                message.to_string(),
            ))
            .await
            .unwrap();
    }

    /// The next JSON message, or `None` once the server closed the connection.
    pub async fn next(&mut self) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(5), self.stream.next())
                    .await
                    .expect("no message from the shard within 5 s");
            match message {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Skips messages until one of this type (for `event`, of this event type).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let message = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {kind}"));
            if message["type"] == kind || message["event"]["type"] == kind {
                return message;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
