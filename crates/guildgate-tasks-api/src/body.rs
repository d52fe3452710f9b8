//! JSON bodies read as objects, and the field readers that give the reference's exact
//! messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use crate::error::TasksError;
use crate::state::TasksState;

/// A JSON object body (an empty body reads as `{}`), with its bytes for an idempotency
/// fingerprint (hashed only when the call carries an `Idempotency-Key`).
pub struct JsonBody {
    pub fields: Map<String, Value>,
    pub raw: Bytes,
}

impl FromRequest<TasksState> for JsonBody {
    type Rejection = TasksError;

    async fn from_request(req: Request, state: &TasksState) -> Result<Self, TasksError> {
        let limit = state.config.body_limit;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                // 400, not 413: Arca's reference answers no other status for a bad body.
                TasksError::bad_request(format!(
                    "Request body is larger than the limit of {limit} bytes"
                ))
            } else {
                TasksError::bad_request("Request body could not be read")
            }
        })?;
        if guildgate_core::nul::json_has_nul(&bytes) {
            return Err(TasksError::bad_request(guildgate_core::nul::NUL_REFUSED));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self {
                fields: Map::new(),
                raw: bytes,
            });
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(fields)) => Ok(Self { fields, raw: bytes }),
            Ok(_) => Err(TasksError::bad_request(
                "Request body must be a JSON object",
            )),
            Err(_) => Err(TasksError::bad_request("Invalid JSON body")),
        }
    }
}

fn as_id(value: &Value) -> Option<i64> {
    match value {
        // A float with no fraction (`1.0`, `1e0`) names the same id: JSON has one number
        // type, and some encoders write every number as a float.
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 9.0e15)
                    .map(|f| f as i64)
            })
            .filter(|v| *v > 0),
        Value::String(s) => s.trim().parse::<i64>().ok().filter(|v| *v > 0),
        _ => None,
    }
}

/// A path id; `invalid` is the message for anything but a positive integer.
pub fn path_id(raw: &str, invalid: &str) -> Result<i64, TasksError> {
    raw.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| TasksError::bad_request(invalid))
}

impl JsonBody {
    fn present(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// A numeric id given as a number or a numeric string.
    pub fn id(&self, name: &str, invalid: &str) -> Result<Option<i64>, TasksError> {
        match self.present(name) {
            None => Ok(None),
            Some(value) => as_id(value)
                .map(Some)
                .ok_or_else(|| TasksError::bad_request(invalid)),
        }
    }

    pub fn required_id(&self, name: &str, invalid: &str) -> Result<i64, TasksError> {
        self.id(name, invalid)?
            .ok_or_else(|| TasksError::bad_request(format!("{name} is required")))
    }

    /// A string, trimmed; `None` when absent or null.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, TasksError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().chars().count() > max => Err(
                TasksError::bad_request(format!("{name} must be at most {max} characters")),
            ),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(TasksError::bad_request(format!("{name} must be a string"))),
        }
    }

    /// A required, non-blank string: `<name> is required` otherwise.
    pub fn required_text(&self, name: &str, max: usize) -> Result<String, TasksError> {
        self.text(name, max)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TasksError::bad_request(format!("{name} is required")))
    }

    /// A list of numeric ids.
    pub fn ids(&self, name: &str) -> Result<Option<Vec<i64>>, TasksError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(as_id)
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| {
                    TasksError::bad_request(format!("{name} must be an array of numeric IDs"))
                }),
            Some(_) => Err(TasksError::bad_request(format!(
                "{name} must be an array of numeric IDs"
            ))),
        }
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.present(name)
    }
}
