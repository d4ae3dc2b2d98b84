//! Jeepay (`jeequan/jeepay`), the open-source Chinese payment gateway: the merchant API a site
//! written for Jeepay speaks, so it can move to paygate by changing the base URL, `mchNo`, `appId`
//! and the app secret.
//!
//! - [`sign`]: MD5 over the `k=v&` entries sorted without case, then `key=SECRET`, uppercase;
//! - requests ([`UnifiedOrder`], [`PayQuery`], [`PayClose`], [`RefundOrder`], [`RefundQuery`]) read
//!   from [`crate::Params`] into an [`Unverified`] value whose signature the gateway checks with the
//!   app's secret;
//! - answers ([`ok_with_sign`], [`fail`]) with the `data` of each endpoint;
//! - a pay order's notification ([`PayNotice`]).
//!
//! Where paygate departs from Jeepay, on purpose: a number must be a plain integer (Jeepay would
//! truncate `1.5` fen to one); only `cny` is taken; a request's own fields are all checked before
//! its signature (Jeepay checks the signature before the way, `channelExtra` and order numbers),
//! which tells an unsigned caller nothing about any merchant.

mod answer;
mod data;
mod error;
mod notice;
mod order;
mod refund;
mod request;
pub mod sign;
mod state;
mod way;

pub use answer::{AnswerData, FieldValue, Fields, fail, ok_with_sign};
pub use data::{
    CURRENCY, PayData, PayDataType, PayOrderClosed, PayOrderCreated, PayOrderView, RefundCreated,
    RefundView,
};
pub use error::{CUSTOM_FAIL, JeepayError, PARAMS_ERROR, SYSTEM_ERROR};
pub use notice::PayNotice;
pub use order::{PayClose, PayOrderRef, PayQuery, UnifiedOrder};
pub use refund::{RefundOrder, RefundOrderRef, RefundQuery};
pub use request::{Head, Unverified, Verified};
pub use state::{PayState, RefundState};
pub use way::{ChannelExtra, WayCode};
