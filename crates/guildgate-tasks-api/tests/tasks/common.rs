//! A real tasks surface on a loopback port over a temporary SQLite database.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use guildgate_core::clock::{ManualClock, parse_rfc3339};
use guildgate_core::crypto::SecretKey;
use guildgate_core::ids::new_ulid;
use guildgate_core::limits::Rate;
use guildgate_core::tasks::{Role, Scope, ScopeSet, TASKS_KEY, TasksKey};
use guildgate_storage::{AuditSink, Durability, Store};
use guildgate_tasks_api::{TasksConfig, TasksState};
use reqwest::Method;
use serde_json::{Value, json};

pub const ALL_SCOPES: &str = "users:read,workspaces:read,workspaces:write,folders:read,folders:write,lists:read,lists:write,tasks:read,tasks:write,comments:read,comments:write";

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub key: SecretKey,
    pub http: reqwest::Client,
    /// The seeded workspace and its owner.
    pub workspace: i64,
    pub owner: i64,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts `{"error": message}` with `status`.
    pub fn expect(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body, json!({ "error": message }));
        assert!(
            self.header("x-request-id")
                .is_some_and(|id| id.starts_with("req_"))
        );
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(TasksConfig::default()).await
    }

    pub async fn start_with_rate(rate: Rate) -> Self {
        Self::start_with(TasksConfig {
            per_key: rate,
            ..TasksConfig::default()
        })
        .await
    }

    pub async fn start_with(config: TasksConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = guildgate_storage::testing::scratch_database_url(dir.path())
            .await
            .unwrap();
        let store = guildgate_storage::open(&url, Durability::Full)
            .await
            .unwrap();
        let clock = ManualClock::starting_at(parse_rfc3339("2026-03-18T12:00:00Z").unwrap());
        let key = SecretKey::generate();
        let audit = AuditSink::spawn(store.clone());
        let state = TasksState::new(store.clone(), Arc::new(clock.clone()), &key, audit, config);
        let app = guildgate_tasks_api::router(state).fallback(guildgate_tasks_api::not_found);
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
        let mut app = TestApp {
            base: format!("http://{addr}/api/v1"),
            clock,
            store,
            key,
            http: reqwest::Client::new(),
            workspace: 0,
            owner: 0,
            _dir: dir,
        };
        app.owner = app.user("ana@example.com").await;
        let mut tx = app.store.begin().await.unwrap();
        app.workspace = tx
            .insert_workspace("Ops Team", "ops-team", app.owner, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        app
    }

    pub async fn user(&self, email: &str) -> i64 {
        let mut tx = self.store.begin().await.unwrap();
        let id = tx
            .insert_task_user(email, email.split('@').next().unwrap(), 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn member(&self, workspace: i64, email: &str, role: Role) -> i64 {
        let id = self.user(email).await;
        let mut tx = self.store.begin().await.unwrap();
        tx.upsert_workspace_member(workspace, id, role, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn other_workspace(&self) -> i64 {
        let stranger = self
            .user(&format!("{}@elsewhere.example", new_ulid().to_lowercase()))
            .await;
        let mut tx = self.store.begin().await.unwrap();
        let id = tx
            .insert_workspace("Elsewhere", &new_ulid().to_lowercase(), stranger, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Mints as `guildgate admin tasks-key mint` does.
    pub async fn mint_for(&self, user: i64, scopes: &str, expires_at: Option<i64>) -> String {
        let secret = TASKS_KEY.generate();
        let key = TasksKey {
            id: new_ulid(),
            user_id: user,
            label: "nightly report".into(),
            scopes: ScopeSet::parse_list(scopes).unwrap(),
            created_at: 0,
            expires_at,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_tasks_key(&key, &self.key.secret_hasher().hash(secret.expose()))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        secret.expose().to_owned()
    }

    pub async fn mint(&self, scopes: &str) -> String {
        self.mint_for(self.owner, scopes, None).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
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

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(
            Method::GET,
            path,
            &[("authorization", &format!("Bearer {key}"))],
            None,
        )
        .await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            Method::POST,
            path,
            &[("authorization", &format!("Bearer {key}"))],
            Some(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            Method::PATCH,
            path,
            &[("authorization", &format!("Bearer {key}"))],
            Some(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Reply {
        self.send(
            Method::DELETE,
            path,
            &[("authorization", &format!("Bearer {key}"))],
            None,
        )
        .await
    }

    /// A folder and a list in the seeded workspace; returns the list id.
    pub async fn list(&self, key: &str) -> i64 {
        let folder = self
            .post(
                "/folders",
                key,
                json!({ "workspace_id": self.workspace, "name": "Infra" }),
            )
            .await;
        assert_eq!(folder.status, 201, "{}", folder.body);
        let list = self
            .post("/lists", key, json!({ "workspace_id": self.workspace, "folder_id": folder.body["id"], "name": "Backlog" }))
            .await;
        assert_eq!(list.status, 201, "{}", list.body);
        list.body["id"].as_i64().unwrap()
    }
}

pub fn scope_names() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}
