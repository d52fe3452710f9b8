//! Reading JSON bodies with messages that say which field is wrong. The body is read as
//! JSON whatever its content type (scripts often forget the header); an empty body is `{}`.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use guildgate_core::shard::{NetRef, NumberParam};
use guildgate_http::MessageError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn parse(bytes: &Bytes) -> Result<Self, MessageError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        if guildgate_core::nul::json_has_nul(bytes) {
            return Err(MessageError::bad_request(guildgate_core::nul::NUL_REFUSED));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(MessageError::bad_request(
                "The request body must be a JSON object",
            )),
            Err(err) => Err(MessageError::bad_request(format!(
                "The request body is not valid JSON: {err}"
            ))),
        }
    }

    /// Refuses a field outside `fields`: an option misspelled or not supported (a `dryRun`,
    /// say) must not go unnoticed while the call goes ahead without it.
    pub fn only(&self, what: &str, fields: &[&str]) -> Result<(), MessageError> {
        match self.0.keys().find(|k| !fields.contains(&k.as_str())) {
            Some(unknown) => Err(MessageError::bad_request(format!(
                "Unknown {what} field '{unknown}'. Fields: {}",
                fields.join(", ")
            ))),
            None => Ok(()),
        }
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub fn str(&self, field: &str) -> Result<Option<&str>, MessageError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(MessageError::bad_request(format!(
                "{field} must be a string"
            ))),
        }
    }

    pub fn required_str(&self, field: &str) -> Result<&str, MessageError> {
        self.str(field)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| MessageError::bad_request(format!("{field} is required")))
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, MessageError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(MessageError::bad_request(format!(
                "{field} must be true or false"
            ))),
        }
    }

    /// `netUid` (preferred) or `netId`; one is required.
    pub fn net_ref(&self) -> Result<NetRef, MessageError> {
        net_ref_of(&self.0)
    }

    pub fn string_list(&self, field: &str) -> Result<Option<Vec<String>>, MessageError> {
        string_list(&self.0, field)
    }
}

pub fn net_ref_of(item: &Map<String, Value>) -> Result<NetRef, MessageError> {
    if let Some(uid) = item.get("netUid").filter(|v| !v.is_null()) {
        let uid = uid
            .as_str()
            .ok_or_else(|| MessageError::bad_request("netUid must be a string"))?;
        return NetRef::parse(uid).map_err(|r| MessageError::bad_request(r.message));
    }
    match item.get("netId").filter(|v| !v.is_null()) {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(NetRef::Slot)
            .ok_or_else(|| MessageError::bad_request("netId must be a positive integer")),
        Some(Value::String(s)) => {
            NetRef::parse(s).map_err(|r| MessageError::bad_request(r.message))
        }
        Some(_) => Err(MessageError::bad_request(
            "netId must be a positive integer",
        )),
        None => Err(MessageError::bad_request("netUid (or netId) is required")),
    }
}

pub fn string_list(
    item: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, MessageError> {
    match item.get(field).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                _ => Err(MessageError::bad_request(format!(
                    "{field} must be a list of strings"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(MessageError::bad_request(format!(
            "{field} must be a list of strings"
        ))),
    }
}

/// A Discord id field, sent as a string or a number; `None` when absent.
pub fn discord_id(item: &Map<String, Value>, field: &str) -> Result<Option<String>, MessageError> {
    match item.get(field).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::String(s)) => snowflake(field, s.trim()).map(Some),
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(MessageError::bad_request(format!(
            "{field} must be a Discord id"
        ))),
    }
}

/// 1 to 20 digits.
pub fn snowflake(field: &str, value: &str) -> Result<String, MessageError> {
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(MessageError::bad_request(format!(
            "{field} must be a Discord id (digits), got '{value}'"
        )))
    }
}

/// A whole-number query parameter as `param` (from the route table) says: its default when
/// absent, refused with a message naming the range when not a number within it.
pub fn query_number(value: Option<&str>, param: &NumberParam) -> Result<u32, MessageError> {
    let NumberParam {
        name,
        default,
        min,
        max,
    } = *param;
    match value {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                MessageError::bad_request(format!("{name} must be a number from {min} to {max}"))
            }),
    }
}

/// Query parameters read into `T`, refused in this surface's `{"error": ...}` shape: axum's
/// own `Query` refuses a repeated or malformed parameter in plain text.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = MessageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, MessageError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(params)| Self(params))
            .map_err(|rejection| MessageError::bad_request(rejection.body_text()))
    }
}
