//! What the simulator remembers of profit sharing; held in [`super::super::state::WechatState`].

use serde::{Deserialize, Serialize};

use crate::wechat::state::RequestDigest;

/// A receiver the merchant added; keyed by [`receiver_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receiver {
    pub receiver_type: String,
    pub account: String,
    pub relation_type: String,
    pub custom_relation: Option<String>,
    /// As sent: encrypted.
    pub name: Option<String>,
}

/// The money of one order paid with `settle_info.profit_sharing`; keyed by the order's key. An
/// order without one cannot be split.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Split to receivers, not counting receivers whose result closed, fen.
    pub split: i64,
    /// Given back by merchant receivers, fen.
    pub returned: i64,
    /// The rest went to the merchant: nothing more can be split.
    pub unfrozen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitState {
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "FINISHED")]
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiverResult {
    #[serde(rename = "PENDING")]
    Pending,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "CLOSED")]
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitPart {
    pub receiver_type: String,
    pub account: String,
    pub amount: i64,
    pub description: String,
    pub result: ReceiverResult,
    pub fail_reason: Option<String>,
    pub detail_id: String,
    pub finish_time: Option<String>,
    /// Fen given back from this part (merchant receivers only).
    pub returned: i64,
}

/// A split (or an unfreeze); keyed by [`split_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Split {
    pub order_key: String,
    /// The merchant that split: the direct merchant, or the service provider.
    pub mchid: String,
    /// The sub-merchant a service provider split for.
    #[serde(default)]
    pub sub_mchid: Option<String>,
    pub transaction_id: String,
    pub out_order_no: String,
    pub order_id: String,
    pub state: SplitState,
    pub parts: Vec<SplitPart>,
    pub unfreeze_unsplit: bool,
    pub create_time: String,
    pub created_unix: i64,
    pub request: RequestDigest,
}

/// A return from a merchant receiver; keyed by [`return_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Return {
    /// The sub-merchant a service provider returned for.
    #[serde(default)]
    pub sub_mchid: Option<String>,
    pub order_id: String,
    pub out_order_no: String,
    pub out_return_no: String,
    pub return_id: String,
    pub return_mchid: String,
    pub amount: i64,
    pub description: String,
    pub create_time: String,
    pub request: RequestDigest,
}

/// Whose receivers, splits and returns: a direct merchant's (`mchid`), or a sub-merchant's under
/// its service provider (`sp_mchid|sub_mchid`). The keys below take it as their `mchid`.
pub fn owner(mchid: &str, sub_mchid: Option<&str>) -> String {
    match sub_mchid {
        None => mchid.to_owned(),
        Some(sub) => format!("{mchid}|{sub}"),
    }
}

impl Split {
    pub fn owner(&self) -> String {
        owner(&self.mchid, self.sub_mchid.as_deref())
    }

    /// The merchant whose money is split: what an unfreeze gives back goes to it.
    pub fn payee(&self) -> &str {
        self.sub_mchid.as_deref().unwrap_or(&self.mchid)
    }
}

pub fn receiver_key(mchid: &str, receiver_type: &str, account: &str) -> String {
    format!("{mchid}|{receiver_type}|{account}")
}

pub fn split_key(mchid: &str, out_order_no: &str) -> String {
    format!("{mchid}|{out_order_no}")
}

pub fn return_key(mchid: &str, out_return_no: &str) -> String {
    format!("{mchid}|{out_return_no}")
}
