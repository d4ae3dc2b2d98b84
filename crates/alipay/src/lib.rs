//! Alipay OpenAPI client (RSA2, public-key mode).
//!
//! Knows nothing of the gateway: it signs requests, verifies every answer against the exact text
//! Alipay signed, and turns Alipay's yuan strings and China-time timestamps into `Fen` and
//! instants. Certificate mode (app/Alipay/root certificate serial numbers) is not implemented.
//!
//! The vocabulary matches the WeChat Pay client where the meaning is the same: [`Client`],
//! [`Config`], [`Error`] with `Transport`/`Upstream`/`Signature`/`Decode`/`Config` (and
//! `is_outcome_unknown`, `upstream_code`), [`TradeRef`], `query_order`, `close_order`, `refund`,
//! `query_refund`, `verify_notification` into a [`Notification`]. Paying keeps Alipay's own
//! methods (`precreate`, `create`, `wap_pay`, `page_pay`, `app_pay`): they differ in kind.
//!
//! Royalty (分账) keeps Alipay's vocabulary too: receivers are bound
//! (`bind_royalty_receivers`, `unbind_royalty_receivers`, `query_royalty_receivers`), a trade
//! opened with [`Order::royalty_freeze`] is split by `settle` and read back by `query_settle`.
//!
//! ```no_run
//! # async fn demo() -> alipay::Result<()> {
//! use alipay::{Client, Config, Fen, Order, TradeRef};
//! let config = Config::new("2021000000000001", "…app private key…", "…Alipay public key…")
//!     .with_notify_url("https://shop.example/alipay/notify");
//! let client = Client::new(config)?;
//! let qr = client.precreate(&Order::new("ORDER20240101001", Fen(2990), "T-shirt")).await?;
//! let trade = client.query_order(&TradeRef::OutTradeNo(qr.out_trade_no)).await?;
//! # let _ = trade; Ok(()) }
//! ```

mod bill;
pub mod china_time;
mod client;
mod config;
mod error;
mod notify;
mod order;
mod page;
mod raw;
mod refund;
mod royalty;
mod serde_util;
pub mod sign;
mod trade;

pub use bill::{
    AccountBill, AccountBillRow, AccountBillRows, AccountBillSummary, AccountBillTotal,
    AccountBillTotals, AccountEntryKind, AccountSummaryRow, BillError, BillHeading, BillPeriod,
    BillType, BillUrlResponse, LineProblem, TradeBill, TradeBillKind, TradeBillRow, TradeBillRows,
    TradeBillSummary, TradeBillTotal, TradeBillTotals, TradeSummaryRow,
};
pub use channel_core::Fen;
pub use client::{Client, verify_response};
pub use config::{Config, DEFAULT_GATEWAY_URL};
pub use error::{Error, Result, SignatureFailure};
pub use notify::{NOTIFICATION_ACK, Notification};
pub use order::{Buyer, Order, TradeRef, TradeStatus};
pub use page::{PagePayRequest, PaymentPage, WapPayRequest};
pub use refund::{
    RefundQueryRequest, RefundQueryResponse, RefundRequest, RefundResponse, RefundStatus,
};
pub use royalty::{
    AccountType, Receiver, RelationPage, RelationQuery, RelationRequest, RelationResult,
    RelationResultCode, RoyaltyDetail, RoyaltyOperation, RoyaltySplit, RoyaltyState, RoyaltyType,
    SettleQuery, SettleQueryResponse, SettleRequest, SettleResponse,
};
pub use trade::{CloseResponse, CreateRequest, CreateResponse, PrecreateResponse, QueryResponse};

#[cfg(test)]
mod tests;
