//! Anomalies: what paygate refused from a channel, kept for a human to look at.

use super::text::refuse_invisible;
use super::{Channel, DomainError, OrderId, Timestamp};

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
    /// A channel's bill and paygate disagree where no other kind says how: a payment paygate
    /// recorded that the channel does not have paid, or that its bill lacks; a refund of another
    /// amount; a trade of paygate's under another transaction. Never applied; a person settles it.
    BillMismatch,
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
            Self::BillMismatch => "bill_mismatch",
        }
    }
}

/// What a person wrote when they acknowledged an anomaly (what they checked, what they did): 1–500
/// characters once trimmed, without control or invisible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyNote(String);

impl AnomalyNote {
    pub const MAX_CHARS: usize = 500;

    /// # Errors
    /// `Missing` when empty, `Malformed` when too long or with control characters,
    /// `InvisibleCharacter`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DomainError::Missing { field: "note" });
        }
        if s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(DomainError::Malformed { field: "note" });
        }
        refuse_invisible("note", s)?;
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_some_visible_text_of_at_most_500_characters() {
        assert_eq!(
            AnomalyNote::parse("  退款已在商户平台处理 ")
                .unwrap()
                .as_str(),
            "退款已在商户平台处理"
        );
        assert!(AnomalyNote::parse(&"字".repeat(500)).is_ok());
        for bad in ["", "   ", "a\nb", "a\u{200b}b"] {
            assert!(AnomalyNote::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AnomalyNote::parse(&"字".repeat(501)).is_err());
    }
}
