//! Royalty (分账): binding receivers to the app, splitting a paid trade among them, and reading
//! how each split ended. A trade to be split is opened with [`crate::Order::royalty_freeze`].

mod relation;
mod settle;

use serde::{Deserialize, Serialize};

pub use relation::{
    Receiver, RelationPage, RelationQuery, RelationRequest, RelationResult, RelationResultCode,
};
pub use settle::{
    RoyaltyDetail, RoyaltyOperation, RoyaltySplit, RoyaltyState, RoyaltyType, SettleQuery,
    SettleQueryResponse, SettleRequest, SettleResponse,
};

/// How an Alipay account is named: a receiver when binding, a split's `trans_in_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountType {
    /// The 2088… user id.
    #[serde(rename = "userId")]
    UserId,
    /// The login (a phone number or an email).
    #[serde(rename = "loginName")]
    LoginName,
    /// The per-app OpenID newer apps receive instead of the user id.
    #[serde(rename = "openId")]
    OpenId,
}
