//! A scripted stand-in for guildgate's HTTP side: it answers from a queue and records every
//! request, so the tests can count attempts and read the headers the client sent.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use guildgate_mcp::SleepFn;
use serde_json::{Value, json};

pub const GUILD: &str = "100000000000000000";
pub const TOKEN_ID: &str = "01HZX9K2M4N6P8Q0R2S4T6V8W0";
pub const TOKEN: &str = "arkpat_test_not_a_real_secret";

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        retry_after: None,
        body,
    }
}

/// The server's envelope.
pub fn envelope(status: u16, code: &str, retryable: bool, details: Option<Value>) -> Reply {
    let mut error = json!({
        "code": code,
        "message": format!("{code} from the fake"),
        "retryable": retryable,
        "request_id": "req_01FAKE",
    });
    if let Some(details) = details {
        error["details"] = details;
    }
    reply(status, json!({ "error": error }))
}

#[derive(Clone, Default)]
pub struct Fake {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    /// Every request but the identity look-up.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path != "/api/api-tokens/current")
            .cloned()
            .collect()
    }

    pub fn all_seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(State(fake): State<Fake>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    fake.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    if path == "/api/api-tokens/current" {
        return axum::Json(json!({
            "id": TOKEN_ID, "name": "fake", "guild_id": GUILD,
            "capabilities": ["strikes.read"], "expires_at": null, "source": "cli",
        }))
        .into_response();
    }
    let reply = fake
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| reply(500, json!({"note": "the script ran out"})));
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        axum::Json(reply.body),
    )
        .into_response();
    if let Some(secs) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    response
}

/// Serves `fake` on a loopback port; returns its base URL.
pub async fn serve(fake: Fake) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(answer).with_state(fake);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A sleep that records what it was asked to wait and returns at once.
pub fn recording_sleep() -> (SleepFn, Arc<Mutex<Vec<Duration>>>) {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let record = slept.clone();
    let sleep: SleepFn = Arc::new(move |d| {
        record.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (sleep, slept)
}
