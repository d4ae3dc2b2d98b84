//! Every storage behaviour, each scenario run on SQLite and on PostgreSQL.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod accounts;
mod files;
mod jobs;
mod ledger;
mod migrations;
mod mode;
mod nonces;
mod notifications;
mod orders;
mod outbox;
mod pool;
mod reconciliation;
mod refunds;
mod sites;
mod splits;
mod transitions;
