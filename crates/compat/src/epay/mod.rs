//! 易支付 (EPay) V1, the MD5 protocol that shops, AI-API relays (new-api via go-epay) and proxy panels
//! (v2board, Xboard) speak: `submit.php` (the payer's browser is sent to pay), `mapi.php` (JSON),
//! `api.php?act=order|refund`, and the GET notification with its signed query, which the payer's
//! `return_url` gets too.
//!
//! Clients disagree on details (money as `10`, `10.5` or `10.00`; empty values signed or not), so
//! requests are verified over the raw strings as received and only then parsed.

mod answer;
mod error;
mod money;
mod notice;
mod request;
mod sign;

pub use answer::{OrderAnswer, PayAnswer, PayTarget, RefundAnswer};
pub use error::EpayError;
pub use money::{money_for_notice, money_two_decimals, parse_money};
pub use notice::{PaidOrder, notice, return_url};
pub use request::{
    Device, Fields, OrderQuery, OrderRef, PayEntry, PayRequest, PayType, RefundRequest, ip_is_valid,
};
pub use sign::{sign, sign_string, verify};
