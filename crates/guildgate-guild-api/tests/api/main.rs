//! The guild surface driven over HTTP on loopback, against a real SQLite database.

mod common;

mod auth;
mod destructive;
mod device;
mod errors;
mod idempotency;
mod limits;
mod quickstart;
mod reads;
mod timing;
