//! Refunds: `POST /v3/refund/domestic/refunds`, `GET /v3/refund/domestic/refunds/{out_refund_no}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::Client;
use crate::error::Result;
use crate::model::TradeRef;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequestAmount {
    /// Amount to refund, fen.
    pub refund: i64,
    /// The original order's total, fen.
    pub total: i64,
    pub currency: String,
}

impl RefundRequestAmount {
    #[must_use]
    pub fn cny(refund_fen: i64, total_fen: i64) -> Self {
        Self {
            refund: refund_fen,
            total: total_fen,
            currency: "CNY".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRefund {
    /// Only for a service provider refunding a sub-merchant's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    #[serde(flatten)]
    pub trade: TradeRef,
    pub out_refund_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    pub amount: RefundRequestAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_detail: Option<serde_json::Value>,
}

impl NewRefund {
    #[must_use]
    pub fn new(trade: TradeRef, out_refund_no: &str, amount: RefundRequestAmount) -> Self {
        Self {
            sub_mchid: None,
            trade,
            out_refund_no: out_refund_no.to_owned(),
            reason: None,
            notify_url: None,
            funds_account: None,
            amount,
            goods_detail: None,
        }
    }
}

/// Refund `status` / `refund_status`. Exhaustive: an undocumented status is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Success,
    Closed,
    Processing,
    Abnormal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_refund: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_refund: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_fee: Option<i64>,
}

/// A refund as created or queried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub transaction_id: String,
    #[serde(default)]
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_time: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<OffsetDateTime>,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    pub amount: RefundAmount,
}

impl Client {
    /// `POST /v3/refund/domestic/refunds`. The answer's status is usually `PROCESSING`; the result
    /// comes by REFUND.* callback or [`Client::query_refund`].
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` (for example `NOT_ENOUGH`, `INVALID_REQUEST`) when refused.
    pub async fn refund(&self, refund: &NewRefund) -> Result<Refund> {
        let url = self.url(&["v3", "refund", "domestic", "refunds"], &[])?;
        self.post(url, refund).await
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}` (`?sub_mchid=` for a service provider).
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `RESOURCE_NOT_EXISTS` for an unknown refund.
    pub async fn query_refund(
        &self,
        out_refund_no: &str,
        sub_mchid: Option<&str>,
    ) -> Result<Refund> {
        let query: Vec<(&str, &str)> = sub_mchid.map(|s| ("sub_mchid", s)).into_iter().collect();
        let url = self.url(
            &["v3", "refund", "domestic", "refunds", out_refund_no],
            &query,
        )?;
        self.get(url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_names_its_order_by_exactly_one_id() {
        let r = NewRefund::new(
            TradeRef::OutTradeNo("1217752501201407033233368018".into()),
            "R1",
            RefundRequestAmount::cny(50, 100),
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"out_trade_no":"1217752501201407033233368018","out_refund_no":"R1",
                "amount":{"refund":50,"total":100,"currency":"CNY"}})
        );
    }
}
