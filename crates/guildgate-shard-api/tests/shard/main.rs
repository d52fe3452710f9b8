//! The shard Owner API driven over HTTP on loopback, against a real SQLite database.

mod common;

mod archive;
mod embed;
mod events;
mod keys;
mod live;
mod presets;
mod scopes;
mod temporary;
mod uri_links;
mod walk;
mod webhooks;
