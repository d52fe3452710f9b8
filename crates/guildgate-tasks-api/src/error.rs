//! The tasks surface's errors: the shared `{"error": "<message>"}` error.

pub use guildgate_http::{Answer, MessageError as TasksError};
