//! Domain types: the nouns of the gateway. Values from outside (amounts, order numbers, URLs, keys…)
//! are parsed once into one of these, and the rest of the gateway can only hold valid ones (private
//! fields, `parse` constructors, one error type). The entities built from them live here too, with
//! their statuses: sites (`site`), orders (`order`, `status`), notification events and their
//! delivery attempts (`notification`), refunds and their statuses (`refund`), the double-entry
//! ledger of the sites' money with the operator's fee (`ledger`), background jobs and
//! what they are about (`job`), anomalies (`anomaly`), and console users with their passwords,
//! sessions and audit log (`user`, `password`, `session`, `audit`). How they are stored is
//! `store`'s business.

mod amount;
mod anomaly;
mod api_nonce;
mod audit;
mod checkout_token;
mod combined;
mod compat;
mod error;
mod expire;
mod job;
mod ledger;
mod mode;
mod notification;
mod notify_url;
mod order;
mod out_trade_no;
mod password;
mod pay_attempt;
mod pay_method;
mod payer;
mod reconciliation;
mod refund;
mod return_url;
mod session;
mod site;
mod split;
mod split_plan;
mod statement;
mod status;
mod sub_merchant;
mod text;
mod time;
mod token;
mod totp;
mod upstream_order_no;
mod user;

pub use amount::{Amount, Currency, YuanError};
pub use anomaly::{Anomaly, AnomalyKind, AnomalyNote};
pub use api_nonce::ApiNonce;
pub use audit::{ActedBy, Actor, AuditAction, AuditEntry};
pub use checkout_token::CheckoutToken;
pub use combined::{
    CombinedOrder, CombinedRequest, NewCombinedOrder, PayerStatus, SUB_ORDERS_MAX, SUB_ORDERS_MIN,
    SubOrderRequest,
};
pub use compat::{
    CompatKey, CompatSecret, Origin, Protocol, compat_trade_no, order_of_compat_trade_no,
};
pub use error::DomainError;
pub use expire::ExpireMinutes;
pub use job::{Job, JobKind, JobSubject};
pub use ledger::{Account, Balance, Cause, Entry, FeeSchedule, Movement, MovementKind};
pub use mode::Mode;
pub(crate) use notification::new_event_id;
pub use notification::{Attempt, EventType, NotificationEvent, NotificationStatus};
pub use notify_url::NotifyUrl;
pub use order::{Fingerprint, NewOrder, Order, OrderEvent, OrderId, OrderRequest, UpstreamFields};
pub use out_trade_no::OutTradeNo;
pub use password::{Password, PasswordHash};
pub use pay_attempt::{PayAttempt, PayAttemptId};
pub use pay_method::{Channel, Method, OrderMethod, PayMethod};
pub use payer::{BuyerId, Openid, Payer, parse_client_ip};
pub use reconciliation::{
    BillDay, BillTotals, Discrepancy, DiscrepancyKind, FundsTotals, OurPayment, OurRefund,
    Reconciliation, ReconciliationStatus, Resolution,
};
pub use refund::{
    NewRefund, OutRefundNo, Refund, RefundReason, RefundRequest, RefundStatus, RefundWindows,
    UpstreamRefundNo,
};
pub use return_url::ReturnUrl;
pub use session::{Session, SessionToken, new_csrf_token};
pub use site::{AccessKey, SecretKey, Site, SiteId, SiteName, SiteStatus};
pub use split::{
    NewSplit, OutSplitNo, ReceiverAccount, ReceiverName, ReceiverResult, ReceiverType, Split,
    SplitDescription, SplitRatio, SplitReceiver, SplitReceivers, SplitRequest, SplitShare,
    SplitStatus, UpstreamSplitNo,
};
pub use split_plan::{PlannedFee, PlannedSplit, SiteReceiver, SplitPlan, SplitPurpose};
pub use statement::{Statement, StatementPayment, StatementRefund, StatementTotals};
pub use status::OrderStatus;
pub use sub_merchant::{
    AlipayMerchant, AlipaySellerId, AppAuthToken, SubMchid, WechatAppId, WechatSubMerchant,
};
pub use text::{Attach, Description};
pub use time::Timestamp;
pub(crate) use token::is_token;
pub use totp::TotpSecret;
pub use upstream_order_no::UpstreamOrderNo;
pub use user::{Email, Role, Scope, User, UserId};
