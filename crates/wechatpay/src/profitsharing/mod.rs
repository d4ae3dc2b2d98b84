//! Profit sharing (分账) for a direct merchant: receivers are added first, then a paid order whose
//! payment asked for `settle_info.profit_sharing` is split among them, the rest unfrozen to the
//! merchant, and a split to a merchant can be returned.
//!
//! A service provider does the same for a sub-merchant's order: the request types carry
//! `sub_mchid` (and `sub_appid`), the queries have `partner` variants taking it, and
//! [`crate::Client::query_sub_merchant_max_ratio`] says how much it may split away.
//!
//! WeChat Pay settles splits asynchronously: a split answers `PROCESSING` and is followed with
//! [`crate::Client::query_profit_sharing`] until `FINISHED`, each receiver then `SUCCESS` or
//! `CLOSED`.

mod notice;
mod orders;
mod receivers;
mod returns;
mod sensitive;

pub use notice::{ProfitSharingNotice, ProfitSharingNoticeReceiver};
pub use orders::{
    NewSplit, NewUnfreeze, ReceiverResult, Split, SplitReceiver, SplitReceiverResult, SplitState,
    SubMerchantRatio, UnsplitAmount,
};
pub use receivers::{NewReceiver, Receiver, ReceiverType, RelationType, RemovedReceiver};
pub use returns::{NewSplitReturn, ReturnResult, SplitReturn};
