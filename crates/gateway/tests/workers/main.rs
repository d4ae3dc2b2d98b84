//! The worker loop against a real store, on SQLite and PostgreSQL.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod harness;
mod run;
