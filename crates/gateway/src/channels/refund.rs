//! What a channel says of a refund, in one vocabulary for both channels. Each channel's
//! transformers map their own refund states onto it.

use crate::domain::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    /// The channel has the refund and has not finished it (WeChat Pay `PROCESSING`).
    Processing { channel_refund_id: Option<String> },
    /// The money reached the payer.
    Succeeded {
        channel_refund_id: Option<String>,
        at: Option<Timestamp>,
    },
    /// The channel closed the refund: nothing was given back (WeChat Pay `CLOSED`).
    Closed,
    /// The channel took the refund but the money could not reach the payer (WeChat Pay
    /// `ABNORMAL`): only the operator can settle it.
    Abnormal { channel_refund_id: Option<String> },
    /// No refund was made under this number. Sending it (again) is safe: the number makes the
    /// channel treat a repeat as the same refund.
    NotFound,
}
