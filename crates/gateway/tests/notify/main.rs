//! Merchant notifications end to end (delivery, retries, resend): a real paygate store and API
//! on SQLite and PostgreSQL, the `Deliverer` run by `workers::run`, and a local axum receiver in the
//! site's place. Every scenario runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod harness;

mod api;
mod delivery;
mod retries;
mod safety;
