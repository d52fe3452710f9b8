//! The dashboard over HTTP on loopback, composed with the guild API the way `serve`
//! composes them, on a temporary SQLite database and a clock the test moves.

mod common;
mod keys;
mod leaks;
mod security;
mod session;
mod tokens;
