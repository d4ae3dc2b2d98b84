//! weidoufu (open.weidoufu.com): JSON pay requests signed with uppercase MD5 and a `secret_key`.

pub mod answer;
mod error;
mod fields;
mod ledger;
mod request;
mod sign;

pub use error::RequestError;
pub use ledger::LedgerEntry;
pub use request::{
    MiniappRequest, MobileRequest, NativeRequest, Order, OutOrderNo, PayType, Payer, access_key,
};
pub use sign::{sign, verify};
