//! Channel callbacks end to end: a real paygate on SQLite and PostgreSQL, paid in the in-process
//! simulators, whose real signed callbacks reach paygate over HTTP; plus forged, replayed, stale
//! and mismatching callbacks, and `OrderService::apply_upstream` on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod alipay;
mod alipay_merchant;
mod apply;
mod combined;
mod flood;
mod helpers;
mod recut;
mod sub_merchant;
mod wechat;
