//! What a channel says of a split, in one vocabulary for both channels. Each channel's split
//! module maps its own states onto it, share by share in the split's order.

use crate::domain::{ReceiverResult, Timestamp};

/// What became of one share, as the channel said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareOutcome {
    pub result: ReceiverResult,
    pub channel_detail_id: Option<String>,
    pub fail_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitState {
    /// The channel has the split and has not finished every share.
    Processing { channel_split_id: Option<String> },
    /// Every share is final (`Succeeded` or `Failed`), in the split's order.
    Finished {
        channel_split_id: Option<String>,
        shares: Vec<ShareOutcome>,
        at: Option<Timestamp>,
    },
    /// No split was made under this number. Sending it (again) is safe: the number makes the
    /// channel treat a repeat as the same split.
    NotFound,
}
