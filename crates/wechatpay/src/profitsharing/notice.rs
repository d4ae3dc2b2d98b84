//! What a profit-sharing notification carries: one receiver's movement of money, sent to that
//! receiver (WeChat Pay notifies receivers that asked for it, not the merchant that split).
//!
//! `PROFITSHARING.SUCCESS` when a split paid the receiver, `PROFITSHARING.RETURN` when money
//! went back from it; the resource fields are WeChat Pay's "分账动账通知" (as documented for
//! merchants and service providers alike).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::receivers::ReceiverType;

/// The resource of a `PROFITSHARING.*` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfitSharingNotice {
    /// The merchant that split, for a direct merchant's split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<String>,
    /// The service provider that split for its sub-merchant, and that sub-merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_mchid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub transaction_id: String,
    /// WeChat Pay's number of the split (or of the return).
    pub order_id: String,
    /// The splitting merchant's number of the split (or of the return).
    pub out_order_no: String,
    pub receiver: ProfitSharingNoticeReceiver,
    #[serde(with = "crate::timefmt")]
    pub success_time: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfitSharingNoticeReceiver {
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    pub account: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
}
