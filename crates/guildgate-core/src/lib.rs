//! The rules of guildgate with no HTTP and no SQL in them: token formats and hashing,
//! capabilities, the policy table, sentinels, rate limits, the error-code table, audit
//! events and the domain model. Every API surface and the storage layer build on this.

pub mod account;
pub mod audit;
pub mod bodies;
pub mod capability;
pub mod clock;
pub mod crypto;
pub mod device;
pub mod error;
pub mod guard;
pub mod ids;
pub mod intent;
pub mod issuance;
pub mod limiter;
pub mod limits;
pub mod model;
pub mod net;
pub mod nul;
pub mod policy;
pub mod redact;
pub mod scopes;
pub mod sentinel;
pub mod shard;
pub mod tasks;
pub mod token;
pub mod tools;

pub use error::{ApiError, ErrorCode};
