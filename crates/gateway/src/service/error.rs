//! What can go wrong while handling an order, independent of HTTP. `api::error` maps each variant
//! to a status and a stable code; nothing here knows about either.

use crate::domain::{Channel, OrderMethod, OrderStatus, Timestamp};
use crate::store::StoreError;

/// Which upstream call an upstream error came from, so the API can name it (`wechat_create_failed`,
/// `alipay_close_failed`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamOp {
    Create,
    Close,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The site may not use this method, or paygate has no account configured for it.
    #[error("payment method {0} is not configured for this site")]
    PaymentNotConfigured(OrderMethod),
    /// An Alipay order's field holds `&` or `=`, which Alipay's signed fields cannot carry
    /// unambiguously (it signs `k=v&k=v` over raw values).
    #[error(
        "{field} must not contain '&' or '=' for Alipay orders: Alipay signs its fields as k=v&k=v over raw values"
    )]
    UnsignableForAlipay { field: &'static str },
    /// The signed request's nonce was already used: a replay, of which nothing was done. (Order
    /// creation uses its nonce up in the order's own transaction, so it finds this out here
    /// rather than in the API's signature check.)
    #[error("nonce was already used")]
    NonceReused,
    /// The site already has an order with this `out_trade_no`, created from different content.
    #[error("out_trade_no is already used by an order with different content")]
    OutTradeNoConflict,
    /// No order of this site (or with this token) exists.
    #[error("order not found")]
    NotFound,
    /// Closing an order the payer has already paid.
    #[error("the order is already {}", .0.as_str())]
    AlreadyPaid(OrderStatus),
    /// Closing an order in a status that cannot be closed (failed).
    #[error("an order that is {} cannot be closed", .0.as_str())]
    NotClosable(OrderStatus),
    /// A checkout asked to pay an order that can no longer be paid (paid, closed, expired).
    #[error("the order can no longer be paid (it is {})", .0.as_str())]
    NotPayable(OrderStatus),
    /// Alipay has not seen the order yet (the payer has not opened it) and would still accept
    /// payment until it expires, so it cannot be closed now.
    #[error("the channel has not seen this order yet; it stays payable until it expires")]
    NotYetClosable { expires_at: Timestamp },
    /// The channel answered and said no. Nothing was created (or closed) upstream.
    #[error("{} refused the {op:?} call: {code}: {message}", channel.as_str())]
    UpstreamRefused {
        op: UpstreamOp,
        channel: Channel,
        code: String,
        message: String,
    },
    /// No answer, or one that could not be understood: the upstream call may or may not have taken
    /// effect. Not a refusal — the same request may be retried and will find out.
    #[error("{} did not answer clearly: {message}", channel.as_str())]
    UpstreamUnknown { channel: Channel, message: String },
    /// No refund of this site has this `out_refund_no`.
    #[error("refund not found")]
    RefundNotFound,
    /// Refunding an order that was never paid (one refunded in full has nothing left to refund:
    /// `RefundExceedsPaid`).
    #[error("an order that is {} cannot be refunded", .0.as_str())]
    NotRefundable(OrderStatus),
    /// The refund would take the order's refunds that are not `failed` past what was paid.
    #[error("the refund exceeds what is left to refund: {refundable} fen")]
    RefundExceedsPaid { refundable: i64 },
    /// The site already has a refund with this `out_refund_no`, asked with different content (or
    /// for another order).
    #[error("out_refund_no is already used by a refund with different content")]
    OutRefundNoConflict,
    /// The channel no longer takes refunds of this order: its refund window after payment ended.
    #[error("{}'s refund window for this order ended at {}", channel.as_str(), ended_at.to_rfc3339())]
    RefundWindowPassed {
        channel: Channel,
        ended_at: Timestamp,
    },
    /// No split of this site has this `out_split_no`.
    #[error("split not found")]
    SplitNotFound,
    /// Splitting an order that is not paid, or was not made for profit sharing.
    #[error("the order cannot be split: {0}")]
    NotSplittable(&'static str),
    /// The split would take the order's splits and refunds that are not `failed` past what was
    /// paid.
    #[error("the split exceeds what is left to split: {splittable} fen")]
    SplitExceedsPaid { splittable: i64 },
    /// The split would take the order's splits past what the channel lets the merchant split
    /// away (WeChat Pay: 30% of the payment for a direct merchant).
    #[error("the split exceeds the channel's ratio limit: {left} fen may still be split")]
    SplitRatioExceeded { left: i64 },
    /// The site already has a split with this `out_split_no`, asked with different content (or
    /// for another order).
    #[error("out_split_no is already used by a split with different content")]
    OutSplitNoConflict,
    /// The receivers are of the other channel than the order's.
    #[error("the receivers' type is not one of the order's channel ({})", .0.as_str())]
    SplitReceiversOfAnotherChannel(Channel),
    /// The order could not be expressed for the channel (a bug or a configuration mismatch).
    #[error("channel: {0}")]
    Channel(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
