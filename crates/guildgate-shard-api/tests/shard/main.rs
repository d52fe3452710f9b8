//! The shard Owner API driven over HTTP on loopback, against a real SQLite database.

mod common;

mod archive;
mod embed;
mod events;
mod keys;
mod live;
mod temporary;
mod walk;
mod webhooks;
