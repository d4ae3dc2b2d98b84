//! WeChat Pay API v3 client.
//!
//! Every request is signed with the merchant's key; every 2xx answer and every notification is
//! verified with the WeChat Pay public key or platform certificate named by `Wechatpay-Serial`
//! before anything in it is read. The crate knows nothing of the gateway that uses it.
//!
//! The vocabulary matches the Alipay client where the meaning is the same: [`Client`],
//! [`Config`], [`Error`] with `Transport`/`Upstream`/`Signature`/`Decode`/`Config` (and
//! `is_outcome_unknown`, `upstream_code`), [`TradeRef`], `query_order`, `close_order`, `refund`,
//! `query_refund`, `verify_notification` into a [`Notification`]. Creating an order keeps WeChat
//! Pay's own kinds (`create_{native,jsapi,app,h5}_order`); service-provider and combined orders
//! follow the same pattern (`query_partner_order`, `close_partner_order`, `query_combine_order`,
//! `close_combine_order`).
//!
//! ```no_run
//! # async fn demo() -> wechatpay::Result<()> {
//! use wechatpay::{ApiV3Key, Client, Config, NewOrder, OrderAmount, TradeRef, Verification, WechatpayPublicKey};
//! let key = channel_core::RsaPrivateKey::from_pem("…merchant key PEM…").map_err(|e| wechatpay::Error::Config(e.to_string()))?;
//! let verification = Verification::public_key(WechatpayPublicKey::from_pem("PUB_KEY_ID_…", "…PEM…")?);
//! let config = Config::new("1900000001", "MERCHANT_CERT_SERIAL", key, ApiV3Key::new("…32 bytes…")?, verification)?;
//! let client = Client::new(config)?;
//! let order = NewOrder::new("wx…", "T-shirt", "ORDER20240101001", "https://shop.example/notify", OrderAmount::cny(2990));
//! let qr = client.create_native_order(&order).await?;
//! let trade = client.query_order(&TradeRef::OutTradeNo(order.out_trade_no)).await?;
//! # let _ = (qr, trade); Ok(()) }
//! ```

pub mod aead;
pub mod auth;
pub mod bill_download;
pub mod bill_file;
pub mod bills;
pub mod callback;
pub mod certificates;
mod client;
pub mod combine;
pub mod config;
pub mod error;
pub mod invoke;
pub mod model;
pub mod partner;
pub mod profitsharing;
pub mod refunds;
pub mod timefmt;
pub mod transactions;
pub mod verify;

#[cfg(test)]
mod test_vectors;

pub use bill_download::BillDownload;
pub use bill_file::{
    BillFileError, BillProblem, BillRefundStatus, FundDirection, FundFlowBillReader, FundFlowRow,
    FundFlowSummary, TradeBillReader, TradeBillRefund, TradeBillRow, TradeBillStatus,
    TradeBillSummary,
};
pub use bills::{BillLocation, FundAccountType, TarType, TradeBillType};
pub use callback::{
    Notification, NotificationEvent, RefundNotice, RefundNoticeAmount, verify_notification,
};
pub use certificates::EncryptedResource;
pub use client::Client;
pub use combine::{
    CombineAmount, CombineCloseSubOrder, CombineNewOrder, CombineSubAmount, CombineSubOrder,
    CombineSubTransaction, CombineTransaction,
};
pub use config::{ApiV3Key, Clock, Config, DEFAULT_BASE_URL, Verification, WechatpayPublicKey};
pub use error::{Error, Result, SignatureFailure};
pub use invoke::{AppPayParams, JsapiPayParams};
pub use model::{
    H5Info, H5Prepay, NativePrepay, OrderAmount, PartnerPayer, PartnerTransaction,
    PartnerTransactionMerchant, Payer, Prepay, SceneInfo, SettleInfo, TradeRef, TradeState,
    TradeType, Transaction, TransactionAmount, TransactionFor, TransactionMerchant,
};
pub use partner::{PartnerMerchant, PartnerNewOrder, PartnerPayerId};
pub use profitsharing::{
    NewReceiver, NewSplit, NewSplitReturn, NewUnfreeze, ProfitSharingNotice,
    ProfitSharingNoticeReceiver, Receiver, ReceiverResult, ReceiverType, RelationType,
    RemovedReceiver, ReturnResult, Split, SplitReceiver, SplitReceiverResult, SplitReturn,
    SplitState, SubMerchantRatio, UnsplitAmount,
};
pub use refunds::{NewRefund, Refund, RefundAmount, RefundRequestAmount, RefundStatus};
pub use transactions::{DirectMerchant, NewOrder, NewOrderFor};
pub use verify::{KeyRing, SignedHeaders};
