//! The channel layer against the real simulators, over HTTP with the real protocols: every
//! channel × method is created, its pay parameters verified, queried, paid, closed.

// Scenario helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is
// right everywhere in this crate.
#![allow(clippy::unwrap_used)]

mod alipay;
mod errors;
mod refunds;
mod support;
mod wechat;
