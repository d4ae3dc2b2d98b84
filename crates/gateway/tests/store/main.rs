//! Every storage behaviour, each scenario run on SQLite and on PostgreSQL.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod migrations;
mod nonces;
mod orders;
mod sites;
mod transitions;
