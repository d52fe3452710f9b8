//! The comms clients' WebSocket (`GET /ws`). A client authenticates with its first
//! message, `{"type":"join","token":"gcli_..."}`, and is on the roster until it leaves.
//! It receives the shard configuration and its effective nets (stored assignments plus
//! what the role rules give its roles) whenever they change, every shard event, ACARS
//! overlays and a control message when it is disconnected; it sends push-to-talk
//! start/stop and ready-check answers. Audio is not carried here.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use guildgate_core::limits::BucketRequest;
use guildgate_core::shard::signing::{ClientIdentity, SignedTokenError};
use guildgate_core::shard::{
    CLIENT_REVOCATION, ClientMessage, ClientMessageError, NetRef, ShardConfig,
};
use guildgate_http::{MessageError, RequestContext};
use guildgate_storage::StoredEvent;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::handlers::embed::public_bucket;
use crate::handlers::events::event_body;
use crate::handlers::nets::net_json;
use crate::handlers::status::public_net_body;
use crate::handlers::{Current, load};
use crate::hub::{Control, Operator};
use crate::state::ShardState;
use crate::write::emit;

const JOIN_WITHIN: Duration = Duration::from_secs(10);
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Close code for a refused join or a disconnect by the owner (policy violation).
const CLOSE_POLICY: u16 = 1008;

pub async fn client_socket(
    State(state): State<ShardState>,
    Extension(ctx): Extension<Arc<RequestContext>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, MessageError> {
    ctx.take(
        &state.limiter,
        &[BucketRequest {
            name: "ip",
            key: public_bucket(ctx.client_ip),
            rate: state.settings.public_per_ip,
        }],
    )
    .await?;
    let upgrade = upgrade.map_err(|_| {
        MessageError::bad_request(
            "This endpoint is a WebSocket: connect with an Upgrade: websocket request",
        )
    })?;
    Ok(upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(state, socket)))
}

async fn run(state: ShardState, mut socket: WebSocket) {
    let joined = match tokio::time::timeout(JOIN_WITHIN, await_join(&state, &mut socket)).await {
        Ok(Ok(joined)) => joined,
        Ok(Err(message)) => return refuse(socket, &message).await,
        Err(_) => {
            return refuse(
                socket,
                "Send {\"type\":\"join\",\"token\":\"gcli_...\"} within 10 seconds",
            )
            .await;
        }
    };
    let Joined {
        identity,
        transport,
        shard,
        mut events,
    } = joined;
    let guild_id = identity.guild_id.clone();
    let operator = Operator {
        user_id: identity.user_id.clone(),
        display_name: identity.display_name.clone(),
        role_ids: identity.role_ids.clone(),
        transport,
        transmitting: None,
        connected_at: state.clock.now(),
    };
    let (connection, mut control) = state.hub.connect(&guild_id, operator.clone());
    // From here the connection is registered; `Client`'s drop takes it off the roster on
    // every way out, a panic or a cancelled task included.
    let mut client = Client {
        state: state.clone(),
        identity,
        connection,
        nets: shard
            .config
            .effective_nets(&operator.user_id, &operator.role_ids),
        config: shard.config,
    };
    client
        .record(vec![("user.joined", client.presence(&operator))])
        .await;
    let greeting = client.greeting(&operator);
    let every = Duration::from_secs(state.settings.keep_alive_secs);
    let mut keep_alive = tokio::time::interval(every);
    keep_alive.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut open = send(&mut socket, greeting).await
        && send(
            &mut socket,
            json!({ "type": "voice.ready", "audio": false }),
        )
        .await;
    while open {
        tokio::select! {
            message = socket.recv() => {
                last_heard = tokio::time::Instant::now();
                open = match message {
                    Some(Ok(Message::Text(text))) => {
                        let reply = client.handle(text.as_str()).await;
                        match reply {
                            Some(reply) => send(&mut socket, reply).await,
                            None => true,
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        send(&mut socket, error("Messages are JSON text frames")).await
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => false,
                };
            }
            event = events.recv() => {
                open = match event {
                    Ok(event) => client.forward(&mut socket, &event).await,
                    Err(RecvError::Lagged(_)) => client.resync(&mut socket).await,
                    Err(RecvError::Closed) => {
                        events = state.hub.subscribe(&guild_id);
                        true
                    }
                };
            }
            Some(Control::Disconnect { reason }) = control.recv() => {
                let _ = send(&mut socket, json!({
                    "type": "control", "action": "disconnect", "reason": reason,
                })).await;
                close(&mut socket, "disconnected by the shard owner").await;
                open = false;
            }
            _ = keep_alive.tick() => {
                // A client quiet for three keep-alives is gone (its network vanished
                // without a close): it leaves the roster instead of lingering.
                if last_heard.elapsed() > every * 3 {
                    close(&mut socket, "no message for three keep-alive intervals").await;
                    open = false;
                } else {
                    open = send(&mut socket, json!({ "type": "ping" })).await
                        && socket.send(Message::Ping(Default::default())).await.is_ok();
                }
            }
        }
    }
}

async fn close(socket: &mut WebSocket, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_POLICY,
            reason: reason.into(),
        })))
        .await;
}

struct Joined {
    identity: ClientIdentity,
    transport: String,
    shard: Current,
    /// Subscribed before the configuration was read: nothing committed in between is
    /// missed.
    events: tokio::sync::broadcast::Receiver<Arc<StoredEvent>>,
}

async fn await_join(state: &ShardState, socket: &mut WebSocket) -> Result<Joined, String> {
    loop {
        let text = match socket.recv().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return Err("The first message must be a join".to_owned()),
        };
        let (token, transport) = match ClientMessage::parse(text.as_str()) {
            Ok(ClientMessage::Join { token, transport }) => (token, transport),
            Err(
                why @ (ClientMessageError::NotJson
                | ClientMessageError::Invalid { kind: "join", .. }),
            ) => {
                return Err(why.to_string());
            }
            _ => {
                return Err(
                    "The first message must be {\"type\":\"join\",\"token\":\"gcli_...\"}".into(),
                );
            }
        };
        let identity = state
            .client_tokens
            .verify(&token, state.clock.now())
            .map_err(|why| match why {
                SignedTokenError::Expired => {
                    "Client token has expired; ask the owner for a new one"
                }
                _ => "Invalid client token",
            })?;
        if revoked(state, &identity).await? {
            return Err("This client token has been revoked; ask the owner for a new one".into());
        }
        let events = state.hub.subscribe(&identity.guild_id);
        let shard = load(state, &identity.guild_id)
            .await
            .map_err(|err| err.message)?;
        return Ok(Joined {
            identity,
            transport,
            shard,
            events,
        });
    }
}

/// Whether the owner revoked the user's tokens issued up to this one's issue time.
async fn revoked(state: &ShardState, identity: &ClientIdentity) -> Result<bool, String> {
    let doc = state
        .store
        .shard_doc(&identity.guild_id, CLIENT_REVOCATION, &identity.user_id)
        .await
        .map_err(|_| "The shard is unavailable; try again".to_owned())?;
    Ok(doc.is_some_and(|doc| {
        serde_json::from_str::<Value>(&doc.body)
            .ok()
            .and_then(|body| body["revokedUpTo"].as_i64())
            .is_none_or(|up_to| identity.issued_at <= up_to)
    }))
}

async fn refuse(mut socket: WebSocket, message: &str) {
    let _ = send(&mut socket, error(message)).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_POLICY,
            reason: "join refused".into(),
        })))
        .await;
}

fn error(message: &str) -> Value {
    json!({ "type": "error", "error": message })
}

/// False when the client is gone.
async fn send(socket: &mut WebSocket, message: Value) -> bool {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .is_ok()
}

/// The configuration a client needs (its own nets come separately; role rules stay with
/// the owner). Shard events, which name users, reach every client as they are.
fn client_config(config: &ShardConfig) -> Value {
    json!({
        "operationOpen": config.operation_open,
        "features": config.feature_map(),
        "publicNet": public_net_body(&config.public_net),
        "nets": config.nets.iter().map(net_json).collect::<Vec<_>>(),
    })
}

struct Client {
    state: ShardState,
    identity: ClientIdentity,
    connection: u64,
    config: ShardConfig,
    /// The effective net uids last sent.
    nets: BTreeSet<String>,
}

impl Client {
    fn guild_id(&self) -> &str {
        &self.identity.guild_id
    }

    fn presence(&self, operator: &Operator) -> Value {
        json!({
            "userId": operator.user_id, "displayName": operator.display_name,
            "transport": operator.transport,
        })
    }

    fn assignments(&self) -> Value {
        let (ids, uids) = self.config.ids_and_uids(&self.nets);
        json!({ "type": "assignments", "netUids": uids, "netIds": ids })
    }

    fn greeting(&self, operator: &Operator) -> Value {
        let roster: Vec<Value> = self
            .state
            .hub
            .operators(self.guild_id())
            .iter()
            .map(|op| self.presence(op))
            .collect();
        let mut greeting = json!({
            "type": "joined", "guildId": self.guild_id(), "userId": operator.user_id,
            "displayName": operator.display_name, "config": client_config(&self.config),
            "roster": roster,
        });
        let assignments = self.assignments();
        greeting["netUids"] = assignments["netUids"].clone();
        greeting["netIds"] = assignments["netIds"].clone();
        greeting
    }

    /// Events are recorded like any other (SSE, webhooks); a failure is logged, since the
    /// client's own action already happened.
    async fn record(&self, events: Vec<(&'static str, Value)>) {
        if let Err(err) = emit(&self.state, self.guild_id(), None, events).await {
            tracing::warn!(error = %err.message, "could not record a client event");
        }
    }

    async fn handle(&mut self, text: &str) -> Option<Value> {
        let message = match ClientMessage::parse(text) {
            Ok(message) => message,
            Err(why) => return Some(error(&why.to_string())),
        };
        let now = self.state.clock.now();
        match message {
            ClientMessage::PttStart(reference) => {
                let uid = match self.net_on(&reference) {
                    Ok(uid) => uid,
                    Err(why) => return Some(error(&why)),
                };
                // Already transmitting there (a repeated key press): nothing new happened.
                let ended =
                    self.state
                        .hub
                        .start_transmit(self.guild_id(), self.connection, &uid, now)?;
                let mut events = Vec::new();
                if let Some(ended) = ended {
                    events.push(("ptt.stop", self.ptt_stop(&ended.net_uid, ended.duration_ms)));
                }
                let net_id = self.config.net_by_uid(&uid).map(|n| n.id);
                events.push((
                    "ptt.start",
                    json!({
                        "userId": self.identity.user_id, "displayName": self.identity.display_name,
                        "netUid": uid, "netId": net_id,
                    }),
                ));
                self.record(events).await;
                None
            }
            ClientMessage::PttStop => {
                let ended = self
                    .state
                    .hub
                    .stop_transmit(self.guild_id(), self.connection, now)?;
                self.record(vec![(
                    "ptt.stop",
                    self.ptt_stop(&ended.net_uid, ended.duration_ms),
                )])
                .await;
                None
            }
            ClientMessage::ReadyCheckResponse { session_id, answer } => {
                let answered = crate::ready::respond(
                    &self.state,
                    self.guild_id(),
                    &session_id,
                    &self.identity.user_id,
                    answer,
                )
                .await;
                answered.err().map(|why| error(&why))
            }
            ClientMessage::Ping => Some(json!({ "type": "pong" })),
            ClientMessage::Pong => None,
            ClientMessage::Join { .. } => Some(error("Already joined")),
        }
    }

    fn ptt_stop(&self, net_uid: &str, duration_ms: u64) -> Value {
        json!({
            "userId": self.identity.user_id, "displayName": self.identity.display_name,
            "netUid": net_uid, "netId": self.config.net_by_uid(net_uid).map(|n| n.id),
            "durationMs": duration_ms,
        })
    }

    /// The net a push-to-talk names, when the client is on it.
    fn net_on(&self, reference: &NetRef) -> Result<String, String> {
        let net = self.config.net(reference).map_err(|r| r.message)?;
        if !self.nets.contains(&net.uid) {
            return Err(format!("You are not on net {}", net.name));
        }
        Ok(net.uid.clone())
    }

    /// Passes a shard event on; configuration and assignment changes also refresh what
    /// the client holds.
    async fn forward(&mut self, socket: &mut WebSocket, event: &StoredEvent) -> bool {
        let refresh = matches!(
            event.kind.as_str(),
            "config.changed" | "assignments.changed" | "operation.opened" | "operation.closed"
        );
        if refresh
            && !self
                .refresh(socket, event.kind != "assignments.changed")
                .await
        {
            return false;
        }
        if event.kind == "acars.sent"
            && let Ok(data) = serde_json::from_str::<Value>(&event.data)
        {
            let mut overlay = data;
            overlay["type"] = json!("acars");
            if !send(socket, overlay).await {
                return false;
            }
        }
        send(
            socket,
            json!({ "type": "event", "event": event_body(event) }),
        )
        .await
    }

    /// Reloads the configuration and sends it (when asked) and the effective nets (when
    /// they changed).
    async fn refresh(&mut self, socket: &mut WebSocket, send_config: bool) -> bool {
        let shard = match load(&self.state, self.guild_id()).await {
            Ok(shard) => shard,
            Err(err) => {
                tracing::warn!(error = %err.message, "could not reload a shard for its clients");
                return true;
            }
        };
        self.config = shard.config;
        if send_config
            && !send(
                socket,
                json!({ "type": "config", "config": client_config(&self.config) }),
            )
            .await
        {
            return false;
        }
        let nets = self
            .config
            .effective_nets(&self.identity.user_id, &self.identity.role_ids);
        if nets == self.nets {
            return true;
        }
        let now = self.state.clock.now();
        if let Some(ended) =
            self.state
                .hub
                .stop_transmit_outside(self.guild_id(), self.connection, &nets, now)
        {
            let stop = self.ptt_stop(&ended.net_uid, ended.duration_ms);
            self.record(vec![("ptt.stop", stop)]).await;
        }
        self.nets = nets;
        send(socket, self.assignments()).await
    }

    /// After missing events: everything again.
    async fn resync(&mut self, socket: &mut WebSocket) -> bool {
        self.nets.clear();
        self.refresh(socket, true).await
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let now = self.state.clock.now();
        let Some((operator, ended)) =
            self.state
                .hub
                .disconnect(self.guild_id(), self.connection, now)
        else {
            return;
        };
        let mut events = Vec::new();
        if let Some(ended) = ended {
            events.push(("ptt.stop", self.ptt_stop(&ended.net_uid, ended.duration_ms)));
        }
        events.push(("user.left", self.presence(&operator)));
        // Recording is async; the runtime may be gone when the server is shutting down.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (state, guild) = (self.state.clone(), self.guild_id().to_owned());
            runtime.spawn(async move {
                if let Err(err) = emit(&state, &guild, None, events).await {
                    tracing::warn!(error = %err.message, "could not record a client leaving");
                }
            });
        }
    }
}
