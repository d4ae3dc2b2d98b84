//! Channel-neutral orders (`method: "any"`) end to end: a real paygate on SQLite and PostgreSQL,
//! pay attempts made upstream in the in-process simulators, paid there, and their real signed
//! callbacks, the check job, closing and refunds going through the attempts. Every scenario runs on
//! both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "../compensation/harness.rs"]
#[allow(dead_code)]
mod compensation;

#[path = "../callbacks/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod attacks;
mod attempts;
mod check;
mod close;
mod create;
mod harness;
mod payments;
mod races;
