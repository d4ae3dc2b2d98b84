//! Every storage behaviour, each scenario run on SQLite and on PostgreSQL.

mod support;

mod migrations;
mod nonces;
mod orders;
mod sites;
mod transitions;
