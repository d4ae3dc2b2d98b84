//! weidoufu (open.weidoufu.com): JSON pay requests signed with uppercase MD5 and a `secret_key`,
//! JSON answers `{code, message, data}`, and a JSON notification signed with HMAC-SHA256.
//!
//! Evidence (COMPAT §2): the mini-program page (seed 001), the H5 (`mobile`), app and micropay
//! pages, and one client, `hudingwen/MyDotnet`, which calls `/pay/native` and handles the
//! notification. weidoufu's signature and notification pages were never found, so the request
//! signing of fields other than the client's six, the native answer and the whole notification
//! rest on that one client; each module says what it chose where evidence is thin.
//!
//! A handler for a pay request goes:
//! 1. [`access_key`] to find the merchant and its secret key;
//! 2. [`verify`] the sign over the received object (refusing with [`RequestError::BadSign`]);
//! 3. [`MiniappRequest::parse`], [`NativeRequest::parse`] or [`MobileRequest::parse`];
//! 4. answer with [`answer`]'s success or failure shapes, the failure's `message` being the
//!    [`RequestError`]'s text.
//!
//! A query ([`QueryRequest`]) goes the same way, its sign made over the URL's query fields.

pub mod answer;
mod error;
mod fields;
mod ledger;
mod notice;
mod query;
mod request;
mod sign;

pub use error::RequestError;
pub use ledger::LedgerEntry;
pub use notice::{PaidOrder, TradeType, notice_sign, paid_notice};
pub use query::{
    NotifyStatus, OrderRef, PayStatus, QueryData, QueryRequest, query_failure, query_success,
};
pub use request::{
    MiniappRequest, MobileRequest, NativeRequest, Order, OutOrderNo, PayType, Payer, access_key,
};
pub use sign::{sign, verify};
