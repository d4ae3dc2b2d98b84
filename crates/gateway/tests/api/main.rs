//! The merchant API end to end: a real paygate on a real database (SQLite and PostgreSQL), talking
//! to the in-process simulators over HTTP. Every scenario runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod auth;
mod balance;
mod checkout;
mod checkout_apps;
mod checkout_combined;
mod close;
mod combined;
mod events;
mod idempotency;
mod input;
mod limits;
mod onepass;
mod ops;
mod refunds;
mod scoping;
mod splits;
mod upstream;
mod v1;
