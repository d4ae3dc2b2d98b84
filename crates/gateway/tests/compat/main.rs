//! The other protocols' APIs end to end, each driven by a client written from the protocol's own
//! documents (`shared/COMPAT.md`), not from paygate's signing code: a paygate on a real database
//! (SQLite and PostgreSQL) talking to the in-process simulators, with the outbox delivering
//! notifications to a receiver that checks them as those clients do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod epay;
mod epay_client;
mod harness;
mod jeepay;
mod jeepay_client;
mod limits;
mod weidoufu;
mod weidoufu_client;
mod weidoufu_ledger;
