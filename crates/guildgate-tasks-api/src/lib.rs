//! The tasks API (`/api/v1`, Arca-compatible): `arca_` keys sent as `Authorization: Bearer`
//! or `X-API-Key`, scopes fixed at creation, workspace roles, and the `{"error": "..."}`
//! body its clients expect. Built on the same core as the guild surface: key hashing,
//! rate limits, request ids, audit and idempotency.

mod body;
mod caller;
mod context;
mod error;
mod handlers;
pub mod openapi;
mod router;
mod state;

pub use router::{not_found, router};
pub use state::{TasksConfig, TasksState};
