//! What a channel's callback says, in one vocabulary for both channels: beside create, query and
//! close, the fourth thing a channel does is tell paygate news on its own. Each channel verifies
//! and decodes its notifications into these types (its `callback` module); `crate::callbacks`
//! is only the HTTP adapter around them.

use axum::http::{HeaderMap, StatusCode};

/// A verified callback.
#[derive(Debug)]
pub enum Callback {
    /// News about an order, by its upstream order number.
    Trade(TradeNews),
    /// News about several orders at once (a combined order's sub-orders), one for each.
    Trades(Vec<TradeNews>),
    /// News about a refund, by its upstream refund number.
    Refund(RefundNews),
    /// A receiver of one of paygate's splits was paid (WeChat Pay tells the receiver, and the
    /// operator is the receiver of its fee): by paygate's upstream split number. Only a reason to
    /// ask the channel about the split now; what the channel answers ends it.
    Split { upstream_split_no: String },
    /// Verified, about something paygate does not act on (refund notifications, a buyer who has
    /// not paid yet, events of products paygate does not use). Acknowledged, so the channel stops
    /// retrying.
    Ignored,
}

/// News about one order, as the channel signed it. What it means for the order is read with
/// [`Channels::read_news`](super::Channels::read_news) once paygate has found the order: some of
/// it depends on what paygate knows (Alipay's `TRADE_CLOSED` of a paid trade is a refund).
#[derive(Debug)]
pub struct TradeNews {
    pub(super) out_trade_no: String,
    pub(super) payload: NewsPayload,
}

/// The channel's own notification, kept whole until the order is known.
#[derive(Debug)]
pub(super) enum NewsPayload {
    Wechat(Box<wechatpay::Transaction>),
    /// A sub-merchant's order, as the service provider is told of it.
    WechatPartner(Box<wechatpay::PartnerTransaction>),
    /// One sub-order of a combined order, with the combined order's own fields.
    WechatCombined(Box<super::wechat::combine::CombinedNews>),
    Alipay(Box<::alipay::Notification>),
}

impl TradeNews {
    /// The upstream order number the news is about (not trusted to be one of paygate's).
    #[must_use]
    pub fn out_trade_no(&self) -> &str {
        &self.out_trade_no
    }

    /// Whether the news must be confirmed by a query before it is applied.
    #[must_use]
    pub fn confirm(&self) -> Confirm {
        match self.payload {
            // The resource is encrypted and signed as a whole: it says what it says.
            NewsPayload::Wechat(_)
            | NewsPayload::WechatPartner(_)
            | NewsPayload::WechatCombined(_) => Confirm::PaidWhileClosed,
            // Alipay signs raw `k=v&k=v` text, whose values may re-split into other fields.
            NewsPayload::Alipay(_) => Confirm::Changes,
        }
    }
}

/// News about one refund, as the channel signed it. What it means is read with
/// [`Channels::read_refund_news`](super::Channels::read_refund_news) once paygate has found the
/// refund and its order: it must name their merchant, numbers and amounts.
#[derive(Debug)]
pub struct RefundNews {
    pub(super) out_refund_no: String,
    pub(super) payload: RefundNewsPayload,
}

/// The channel's own refund notification, kept whole until the refund is known.
#[derive(Debug)]
pub(super) enum RefundNewsPayload {
    Wechat(Box<wechatpay::RefundNotice>),
}

impl RefundNews {
    /// The upstream refund number the news is about (not trusted to be one of paygate's).
    #[must_use]
    pub fn out_refund_no(&self) -> &str {
        &self.out_refund_no
    }
}

/// Which verified news is confirmed with a query before it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Anything that would change the order (Alipay: a verified notification proves only that
    /// Alipay signed a text `k=v&k=v…` whose raw values may re-split into other fields).
    Changes,
    /// Only a payment of an order paygate has closed (WeChat Pay: the callback's resource is
    /// encrypted and signed as a whole, so it says what it says).
    PaidWhileClosed,
}

/// Why verified news cannot be applied to the order it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsRefusal {
    /// It is about another merchant or app than the order's: an anomaly (the detail says what).
    Mismatch(String),
    /// It lacks what a payment must carry (a transaction id, an amount).
    Malformed(String),
}

/// Why a callback was not accepted before any order was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Addressed to an account (path segment) paygate does not have, or the channel is not
    /// configured.
    NotOurs,
    /// The signature (or timestamp, key id, signing type, named app) did not verify. `detail`
    /// names what failed, never a secret; `claimed_order` is the order number the body claims,
    /// when it can be read without decrypting anything (it is not trusted, only used to check
    /// that order with the channel sooner).
    Unverified {
        detail: String,
        claimed_order: Option<String>,
    },
    /// Signed by the channel, but paygate cannot decrypt it (its APIv3 key is wrong).
    Undecryptable { detail: String },
    /// Not a well-formed notification.
    Invalid(String),
    /// paygate could not check it (its own configuration or a transport failure).
    Error(String),
}

/// What the channel is answered: the HTTP status, and whether it is told "received".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub accepted: bool,
    /// For a refusal: what the channel is told (never a secret, nothing that helps a forger).
    pub message: &'static str,
}

/// A reply in the channel's own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyBody {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

/// The headers and body of a callback, as received.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The path segment naming the account (WeChat Pay's mchid, Alipay's app id).
    pub account: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}
