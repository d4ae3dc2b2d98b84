//! Round trips between the `alipay` client and the Alipay simulator, started in-process.
//!
//! The simulator is an independent implementation of Alipay's server side, so these tests catch a
//! client that agrees only with itself. Each test starts its own simulator on a free port.

mod bill;
mod errors;
mod helpers;
mod isv;
mod notify;
mod pages;
mod pay;
mod refund;
mod royalty;
