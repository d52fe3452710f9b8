//! The HTTP layer the key-authenticated surfaces share (the tasks API and the shard Owner
//! API): their one error type with its `{"error": "<message>"}` body, and the middleware
//! that gives every call a request id, the client's address, rate-limit headers and an
//! audit row. Each surface keeps only its own table, keys and handlers.

mod bearer;
mod context;
mod error;
mod metrics_text;
mod table;

pub use bearer::bearer_credentials;
pub use context::{
    CallRecord, KeyIdentity, RequestContext, Surface, WrongMethod, client_ip, surface_middleware,
};
pub use error::{Answer, MessageError, Outcome};
pub use metrics_text::metrics_response;
pub use table::{RouteRow, table_method, table_router};
