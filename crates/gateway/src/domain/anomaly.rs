//! Anomalies: what paygate refused from a channel, kept for a human to look at.

use super::{Channel, OrderId, Timestamp};

/// Something a human should look at: recorded in `anomalies`, counted in
/// `paygate_anomalies_total{kind,channel}` and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyKind {
    /// The channel reports a payment of another amount than the order's.
    AmountMismatch,
    /// A verified callback about an order of another merchant, app or channel.
    MerchantMismatch,
    /// A callback that failed verification (signature, timestamp, key id, decryption).
    CallbackUnverified,
    /// A verified callback about an order paygate does not have.
    UnknownOrder,
    /// A paid order reported paid again under another transaction id.
    TransactionMismatch,
    /// The channel reports a payment of an order paygate has closed: money received for an order
    /// the site was told is closed. Never applied (closed is final); a human settles it.
    PaidWhileClosed,
    /// A verified notification says paid and the channel's own answer to a query does not: the
    /// notification's signed text was re-cut into other fields, or the channel is confused.
    UnconfirmedPayment,
    /// The channel reports a refund ended otherwise than paygate recorded it (succeeded, for one
    /// paygate failed and whose amount it freed). Never applied (an ended refund is final, and the
    /// site was told); a human settles it.
    RefundOutcomeMismatch,
    /// A channel-neutral order, already paid through one app's upstream order, is reported paid
    /// through another (the payer paid twice before the other was closed). Never applied; a human
    /// refunds one.
    SecondPayment,
}

impl AnomalyKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AmountMismatch => "amount_mismatch",
            Self::MerchantMismatch => "merchant_mismatch",
            Self::CallbackUnverified => "callback_unverified",
            Self::UnknownOrder => "unknown_order",
            Self::TransactionMismatch => "transaction_mismatch",
            Self::PaidWhileClosed => "paid_while_closed",
            Self::UnconfirmedPayment => "unconfirmed_payment",
            Self::RefundOutcomeMismatch => "refund_outcome_mismatch",
            Self::SecondPayment => "second_payment",
        }
    }
}

/// A recorded anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    pub id: i64,
    /// [`AnomalyKind::as_str`] of what was recorded; kept as text, so that rows of a kind this
    /// build no longer has still read back.
    pub kind: String,
    pub channel: Channel,
    pub order_id: Option<OrderId>,
    /// `None` for rows written before anomalies were counted.
    pub dedupe_key: Option<String>,
    pub detail: String,
    /// When it first happened.
    pub at: Timestamp,
    /// How many times it happened.
    pub occurrences: i64,
    /// When it last happened.
    pub last_at: Timestamp,
}
