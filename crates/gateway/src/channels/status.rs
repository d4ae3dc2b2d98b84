//! What the channel says an order is, in one vocabulary for both channels. Each channel's
//! transformers map their own states onto it by exhaustive match.

use channel_core::Fen;

use crate::domain::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamStatus {
    /// The channel has the order; nobody has paid yet.
    NotPaid,
    /// The payer is paying (entering a password, the bank is processing): not final.
    Paying,
    Paid {
        /// WeChat Pay's `transaction_id`, Alipay's `trade_no`.
        transaction_id: String,
        paid_at: Option<Timestamp>,
        /// The order total the channel recorded (not what the payer paid after discounts), to be
        /// compared with paygate's own amount.
        amount: Fen,
    },
    /// The payment failed (WeChat `PAYERROR`); the payer may still retry.
    Failed,
    /// Closed unpaid: expired or closed, nothing can be paid any more.
    Closed,
    /// Paid, then refunded (WeChat: any refund; Alipay: refunded in full).
    Refunded,
    /// The channel has no such order. For Alipay QR, WAP, page and App payments this is normal
    /// until the payer scans or opens it: Alipay creates the trade only then.
    NotFound,
}

impl UpstreamStatus {
    /// Whether the channel reports the money as received (refunded orders were paid too).
    #[must_use]
    pub fn was_paid(&self) -> bool {
        match self {
            Self::Paid { .. } | Self::Refunded => true,
            Self::NotPaid | Self::Paying | Self::Failed | Self::Closed | Self::NotFound => false,
        }
    }
}

/// Unix time from the `time` crate's instant, in paygate's milliseconds.
pub(crate) fn timestamp_of(t: time::OffsetDateTime) -> Timestamp {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// paygate's expiry as the instant both channels take, in China time (whole seconds: WeChat Pay
/// refuses fractions, and truncating keeps a retried request byte-identical).
pub(crate) fn expiry_of(t: Timestamp) -> Result<time::OffsetDateTime, super::ChannelError> {
    let china = time::UtcOffset::from_hms(8, 0, 0)
        .map_err(|e| super::ChannelError::Invalid(format!("China offset: {e}")))?;
    time::OffsetDateTime::from_unix_timestamp(t.as_millis().div_euclid(1000))
        .map(|at| at.to_offset(china))
        .map_err(|e| super::ChannelError::Invalid(format!("expires_at out of range: {e}")))
}
