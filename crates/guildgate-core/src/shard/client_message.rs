//! What a comms client sends on its WebSocket, decoded in one place: the socket handler
//! acts on a `ClientMessage` and never reads raw JSON itself, so the fuzz target covers
//! every text frame a client can send.

use serde_json::Value;

use super::NetRef;

/// The longest transport name a client may report (`desktop`, `mobile`, ...).
pub const TRANSPORT_MAX: usize = 32;

/// A client's answer to a ready check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyAnswer {
    Ready,
    Declined,
    Afk,
}

impl ReadyAnswer {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "ready" => Some(Self::Ready),
            "declined" => Some(Self::Declined),
            "afk" => Some(Self::Afk),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Declined => "declined",
            Self::Afk => "afk",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// The first message: the signed client token and how the client is connected
    /// (`websocket` when it does not say).
    Join {
        token: String,
        transport: String,
    },
    PttStart(NetRef),
    PttStop,
    ReadyCheckResponse {
        session_id: String,
        answer: ReadyAnswer,
    },
    Ping,
    Pong,
}

/// Why a text frame is not a message; `Display` is what the client is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessageError {
    NotJson,
    UnknownType(String),
    /// A known type with fields missing or wrong; `kind` is that type.
    Invalid {
        kind: &'static str,
        why: String,
    },
}

impl std::fmt::Display for ClientMessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotJson => f.write_str("Messages must be JSON objects"),
            Self::UnknownType(kind) => write!(
                f,
                "Unknown message type '{kind}'; send ptt.start, ptt.stop, ready-check.response or ping"
            ),
            Self::Invalid { why, .. } => f.write_str(why),
        }
    }
}

impl ClientMessage {
    pub fn parse(text: &str) -> Result<Self, ClientMessageError> {
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
            return Err(ClientMessageError::NotJson);
        };
        let field = |name: &str| message.get(name).unwrap_or(&Value::Null);
        let invalid = |kind: &'static str, why: &str| ClientMessageError::Invalid {
            kind,
            why: why.to_owned(),
        };
        match field("type").as_str().unwrap_or_default() {
            "join" => {
                let token = field("token")
                    .as_str()
                    .ok_or_else(|| invalid("join", "join needs the client token in token"))?;
                let transport = match field("transport") {
                    Value::Null => "websocket",
                    Value::String(t)
                        if (1..=TRANSPORT_MAX).contains(&t.len())
                            && !t.contains(char::is_control) =>
                    {
                        t
                    }
                    _ => {
                        return Err(invalid(
                            "join",
                            "transport must be a short name such as desktop",
                        ));
                    }
                };
                Ok(Self::Join {
                    token: token.to_owned(),
                    transport: transport.to_owned(),
                })
            }
            "ptt.start" => match (field("netUid"), field("netId")) {
                (Value::String(uid), _) => Ok(Self::PttStart(NetRef::Uid(uid.clone()))),
                (_, Value::Number(id)) => id
                    .as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .map(|slot| Self::PttStart(NetRef::Slot(slot)))
                    .ok_or_else(|| invalid("ptt.start", "netId must be a net's number")),
                _ => Err(invalid("ptt.start", "ptt.start needs netUid (or netId)")),
            },
            "ptt.stop" => Ok(Self::PttStop),
            "ready-check.response" => {
                let needs =
                    "ready-check.response needs sessionId and response (ready, declined or afk)";
                let (Some(session_id), Some(answer)) =
                    (field("sessionId").as_str(), field("response").as_str())
                else {
                    return Err(invalid("ready-check.response", needs));
                };
                let answer = ReadyAnswer::parse(answer).ok_or_else(|| {
                    invalid(
                        "ready-check.response",
                        "response must be ready, declined or afk",
                    )
                })?;
                Ok(Self::ReadyCheckResponse {
                    session_id: session_id.to_owned(),
                    answer,
                })
            }
            "ping" => Ok(Self::Ping),
            "pong" => Ok(Self::Pong),
            other => Err(ClientMessageError::UnknownType(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        ClientMessage::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn each_message_type_decodes() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"join","token":"gcli_x"}"#),
            Ok(ClientMessage::Join {
                token: "gcli_x".into(),
                transport: "websocket".into()
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ptt.start","netUid":"net_a","netId":3}"#),
            Ok(ClientMessage::PttStart(NetRef::Uid("net_a".into())))
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ptt.start","netId":3}"#),
            Ok(ClientMessage::PttStart(NetRef::Slot(3)))
        );
        assert_eq!(
            ClientMessage::parse(
                r#"{"type":"ready-check.response","sessionId":"s1","response":"afk"}"#
            ),
            Ok(ClientMessage::ReadyCheckResponse {
                session_id: "s1".into(),
                answer: ReadyAnswer::Afk
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ping"}"#),
            Ok(ClientMessage::Ping)
        );
    }

    #[test]
    fn wrong_messages_say_what_is_wrong() {
        assert_eq!(refusal("[1]"), "Messages must be JSON objects");
        assert_eq!(refusal("not json"), "Messages must be JSON objects");
        assert!(refusal(r#"{"type":"dance"}"#).starts_with("Unknown message type 'dance'"));
        assert_eq!(
            refusal(r#"{"type":"join"}"#),
            "join needs the client token in token"
        );
        assert_eq!(
            refusal(r#"{"type":"join","token":"t","transport":"a\u0007b"}"#),
            "transport must be a short name such as desktop"
        );
        assert_eq!(
            refusal(r#"{"type":"ptt.start","netId":4294967296}"#),
            "netId must be a net's number"
        );
        assert_eq!(
            refusal(r#"{"type":"ptt.start","netId":-1}"#),
            "netId must be a net's number"
        );
        assert_eq!(
            refusal(r#"{"type":"ready-check.response","sessionId":"s","response":"maybe"}"#),
            "response must be ready, declined or afk"
        );
    }
}
