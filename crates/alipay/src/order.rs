//! The vocabulary of a trade: what is being paid, which trade is meant, and its status.

use channel_core::Fen;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::serde_util::{china_time_option, yuan};

/// What every way of paying shares: the merchant's order number, the amount and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub out_trade_no: String,
    #[serde(with = "yuan")]
    pub total_amount: Fen,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Absolute expiry. Alipay's `time_expire`, sent in China time.
    #[serde(skip_serializing_if = "Option::is_none", with = "china_time_option")]
    pub time_expire: Option<OffsetDateTime>,
    /// Relative expiry in Alipay's notation (`"90m"`, `"2h"`, `"1d"`, `"1c"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
    /// Returned verbatim in the notification (Alipay wants it URL-encoded by the merchant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passback_params: Option<String>,
    /// Overrides [`crate::Config::notify_url`] for this payment. A common parameter, not part of
    /// `biz_content`.
    #[serde(skip)]
    pub notify_url: Option<String>,
    /// Keeps the paid money frozen for royalty splits (`extend_params.royalty_freeze`) until a
    /// settlement with `royalty_finish` releases what is left; without it the money is the
    /// merchant's at once.
    #[serde(skip)]
    pub royalty_freeze: bool,
}

impl Order {
    #[must_use]
    pub fn new(
        out_trade_no: impl Into<String>,
        total_amount: Fen,
        subject: impl Into<String>,
    ) -> Self {
        Self {
            out_trade_no: out_trade_no.into(),
            total_amount,
            subject: subject.into(),
            body: None,
            time_expire: None,
            timeout_express: None,
            passback_params: None,
            notify_url: None,
            royalty_freeze: false,
        }
    }
}

/// Which trade a query, close or refund means: the merchant's number or Alipay's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TradeRef {
    #[serde(rename = "out_trade_no")]
    OutTradeNo(String),
    #[serde(rename = "trade_no")]
    TradeNo(String),
}

impl TradeRef {
    pub(crate) fn field(&self) -> (&'static str, &str) {
        match self {
            Self::OutTradeNo(no) => ("out_trade_no", no),
            Self::TradeNo(no) => ("trade_no", no),
        }
    }
}

/// The payer of a mini-program (JSAPI) payment, as the mini-program learned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buyer {
    /// The classic 2088… user id (`buyer_id`).
    UserId(String),
    /// The per-app OpenID that newer apps receive instead (`buyer_open_id`).
    OpenId(String),
}

/// `trade_status` of a trade, in queries and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeStatus {
    /// Created, not paid yet.
    WaitBuyerPay,
    /// Paid; refunds still possible.
    TradeSuccess,
    /// Paid and final: no refund possible any more.
    TradeFinished,
    /// Closed unpaid (expired or closed), or fully refunded.
    TradeClosed,
}

impl TradeStatus {
    /// Alipay's wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeFinished => "TRADE_FINISHED",
            Self::TradeClosed => "TRADE_CLOSED",
        }
    }

    /// Parses Alipay's wire name; `None` for a status this crate does not know.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::WaitBuyerPay,
            Self::TradeSuccess,
            Self::TradeFinished,
            Self::TradeClosed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// Whether the money reached the merchant.
    #[must_use]
    pub fn is_paid(self) -> bool {
        match self {
            Self::TradeSuccess | Self::TradeFinished => true,
            Self::WaitBuyerPay | Self::TradeClosed => false,
        }
    }
}

/// Builds `biz_content`: the order's fields plus the call's own.
pub(crate) fn biz_with(order: &Order, extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut biz = serde_json::to_value(order).unwrap_or_default();
    if let Some(map) = biz.as_object_mut() {
        if order.royalty_freeze {
            // Alipay's booleans in `extend_params` are the strings its SDKs send.
            map.insert(
                "extend_params".to_owned(),
                serde_json::json!({ "royalty_freeze": "true" }),
            );
        }
        for (k, v) in extra {
            map.insert((*k).to_owned(), v.clone());
        }
    }
    biz
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn order_serialises_amounts_as_yuan_and_time_in_china() {
        let mut order = Order::new("o-1", Fen(1), "A");
        order.time_expire = Some(datetime!(2024-01-01 00:00:00 UTC));
        order.notify_url = Some("https://x/n".to_owned());
        let biz = biz_with(&order, &[("product_code", "JSAPI_PAY".into())]);
        assert_eq!(
            serde_json::to_string(&biz).unwrap(),
            r#"{"out_trade_no":"o-1","product_code":"JSAPI_PAY","subject":"A","time_expire":"2024-01-01 08:00:00","total_amount":"0.01"}"#
        );
        let big = Order::new("o-2", Fen(99_999_999), "B");
        assert_eq!(
            serde_json::to_value(big).unwrap()["total_amount"],
            "999999.99"
        );
    }

    #[test]
    fn a_frozen_order_asks_for_royalty_freeze() {
        let mut order = Order::new("o-3", Fen(100), "C");
        assert!(biz_with(&order, &[]).get("extend_params").is_none());
        order.royalty_freeze = true;
        assert_eq!(
            biz_with(&order, &[])["extend_params"],
            serde_json::json!({ "royalty_freeze": "true" })
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "WAIT_BUYER_PAY",
            "TRADE_SUCCESS",
            "TRADE_FINISHED",
            "TRADE_CLOSED",
        ] {
            let t = TradeStatus::parse(s).unwrap();
            assert_eq!(t.as_str(), s);
            assert_eq!(serde_json::from_value::<TradeStatus>(s.into()).unwrap(), t);
        }
        assert_eq!(TradeStatus::parse("TRADE_PENDING"), None);
    }
}
