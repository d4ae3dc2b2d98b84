//! Compensation and expiry end to end: a real paygate store (SQLite and PostgreSQL), the in-process
//! simulators, and the `check_order` and `check_refund` jobs run by the real worker loop (or, for the schedule, stepped
//! with a chosen clock). Every scenario runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod acceptance;
mod combined;
mod expiry;
mod harness;
mod refunds;
mod schedule;
