#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use guildgate_core::capability::CapabilitySet;
use guildgate_core::clock::{Clock, ManualClock, parse_rfc3339};
use guildgate_core::crypto::SecretKey;
use guildgate_core::model::{Guild, GuildTier, Member};
use guildgate_dashboard::{DashboardConfig, DashboardState};
use guildgate_guild_api::{AppState, GuildApiConfig, RecordOnly};
use guildgate_owner::{Actor, Owner, create_user};
pub use guildgate_storage::{Durability, Store, TaskReads, TaskWrites};
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;

pub const GUILD: &str = "100000000000000000";
pub const OTHER_GUILD: &str = "200000000000000000";
pub const OWNER: &str = "583912000000000001";
pub const OTHER_OWNER: &str = "583912000000000009";
pub const TARGET: &str = "583912000000000000";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Dash {
    pub base: String,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub key: SecretKey,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The value of the first `<input ... name="NAME" value="...">`-style attribute pair.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn csrf(&self) -> String {
        self.input_value("csrf").expect("page has a CSRF field")
    }

    /// Every `data-NAME="..."` value on the page, in order.
    pub fn data(&self, name: &str) -> Vec<String> {
        let marker = format!("data-{name}=\"");
        self.body
            .match_indices(&marker)
            .map(|(at, _)| {
                let start = at + marker.len();
                let end = self.body[start..].find('"').unwrap() + start;
                self.body[start..end].to_owned()
            })
            .collect()
    }

    pub fn secret(&self) -> String {
        let marker = "id=\"token-secret\" readonly value=\"";
        let start = self.body.find(marker).expect("secret shown") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

/// A client with its own cookie jar, like one browser.
pub struct Browser<'a> {
    pub dash: &'a Dash,
    pub cookies: BTreeMap<String, String>,
    /// Extra headers sent with every request (Origin, Sec-Fetch-Site, X-Forwarded-For).
    pub extra: Vec<(&'static str, String)>,
}

impl Dash {
    pub async fn start() -> Self {
        Self::start_with(DashboardConfig::default()).await
    }

    pub async fn start_with(config: DashboardConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = guildgate_storage::testing::scratch_database_url(dir.path())
            .await
            .unwrap();
        let store = guildgate_storage::open(&db, Durability::Full)
            .await
            .unwrap();
        let clock = ManualClock::starting_at(parse_rfc3339("2026-05-12T20:00:00Z").unwrap());
        let key = SecretKey::generate();
        let guild_api = AppState::new(
            store.clone(),
            Arc::new(clock.clone()),
            &key,
            GuildApiConfig {
                dashboard_base_url: "http://dashboard.test".into(),
                ..GuildApiConfig::default()
            },
            Arc::new(RecordOnly),
        );
        let dashboard = DashboardState::new(
            store.clone(),
            key.secret_hasher(),
            Arc::new(clock.clone()),
            config,
            guild_api.audit_sink().clone(),
        );
        let app = guildgate_guild_api::router(guild_api.clone())
            .merge(guildgate_dashboard::router(dashboard.clone()))
            .fallback(guildgate_guild_api::not_found);
        let app = guildgate_dashboard::with_session_calls(app, dashboard);
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
        let dash = Dash {
            base: format!("http://{addr}"),
            clock,
            store,
            key,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
        };
        dash.seed_guild(GUILD, "Night Owls", OWNER).await;
        dash.seed_guild(OTHER_GUILD, "Someone Else's", OTHER_OWNER)
            .await;
        dash.account(OWNER, None).await;
        dash
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn owner(&self) -> (Arc<dyn Store>, guildgate_core::crypto::SecretHasher) {
        (self.store.clone(), self.key.secret_hasher())
    }

    pub async fn account(&self, user: &str, email: Option<&str>) {
        let hasher = self.key.secret_hasher();
        let owner = Owner {
            store: self.store.as_ref(),
            hasher: &hasher,
        };
        create_user(
            owner,
            &Actor::cli(self.now()),
            user,
            PASSWORD,
            email.map(str::to_owned),
        )
        .await
        .unwrap();
    }

    async fn seed_guild(&self, id: &str, name: &str, owner: &str) {
        let mut tx = self.store.begin().await.unwrap();
        tx.insert_guild(&Guild {
            id: id.into(),
            name: name.into(),
            owner_id: owner.into(),
            tier: GuildTier::Pro,
            mcp_enabled: true,
            created_at: self.now(),
        })
        .await
        .unwrap();
        tx.upsert_member(&Member {
            guild_id: id.into(),
            user_id: owner.into(),
            capabilities: CapabilitySet::all(),
            added_at: self.now(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            dash: self,
            cookies: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    /// A browser already signed in as the guild's owner.
    pub async fn signed_in(&self) -> Browser<'_> {
        let mut browser = self.browser();
        let page = browser.login(OWNER, PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);
        browser
    }

    pub async fn token_count(&self) -> usize {
        self.store.tokens_of_guild(GUILD).await.unwrap().len()
    }

    /// A guild API call with a Bearer token.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> Page {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            req = req.json(&body);
        }
        to_page(req.send().await.unwrap()).await
    }
}

async fn to_page(resp: reqwest::Response) -> Page {
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, page: &Page) {
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        json: Option<Value>,
    ) -> Page {
        let mut req = self
            .dash
            .http
            .request(method, format!("{}{path}", self.dash.base));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (name, value) in &self.extra {
            req = req.header(*name, value);
        }
        if let Some(fields) = form {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        if let Some(json) = json {
            req = req.json(&json);
        }
        let page = to_page(req.send().await.unwrap()).await;
        self.remember(&page);
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(reqwest::Method::POST, path, Some(fields), None)
            .await
    }

    pub async fn post_json(&mut self, path: &str, body: Value) -> Page {
        self.send(reqwest::Method::POST, path, None, Some(body))
            .await
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/dashboard/login").await;
        let csrf = form.csrf();
        self.post(
            "/dashboard/login",
            &[
                ("csrf", &csrf),
                ("next", "/dashboard"),
                ("discord_id", user),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn settings(&mut self, query: &str) -> Page {
        self.get(&format!("/dashboard/{GUILD}/settings/api-mcp?{query}"))
            .await
    }

    /// Creates a token through the form and returns `(id, secret)`.
    pub async fn create_token(
        &mut self,
        name: &str,
        caps: &[&str],
        extra: &[(&str, &str)],
    ) -> (String, String) {
        let csrf = self.settings("tab=tokens").await.csrf();
        let mut fields = vec![("csrf", csrf.as_str()), ("name", name), ("expiry", "90")];
        fields.extend(caps.iter().map(|c| ("capabilities", *c)));
        fields.extend_from_slice(extra);
        let page = self
            .post(&format!("/dashboard/{GUILD}/tokens"), &fields)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let id_marker = "id=\"token-id\">";
        let start = page.body.find(id_marker).unwrap() + id_marker.len();
        let id = page.body[start..start + 26].to_owned();
        (id, page.secret())
    }
}

pub fn strike_body() -> Value {
    serde_json::json!({
        "user_id": TARGET,
        "reason": "spam",
        "category": "rule-violation",
        "severity": "minor",
        "_confirmation": format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR"),
    })
}

pub fn strikes_path() -> String {
    format!("/api/public/v1/guilds/{GUILD}/strikes")
}
