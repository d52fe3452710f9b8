//! The tasks surface driven over HTTP on loopback, against a real SQLite database.

mod common;

mod auth;
mod content;
mod limits;
mod roles;
mod walk;
