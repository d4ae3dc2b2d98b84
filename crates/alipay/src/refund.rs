//! Refunds and refund queries. Alipay refunds synchronously: a `10000` answer means done.

use channel_core::Fen;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use time::OffsetDateTime;

use crate::client::Extra;
use crate::order::TradeRef;
use crate::serde_util::{china_time_option, yuan};
use crate::{Client, Error};

/// `alipay.trade.refund`. Retrying with the same `out_request_no` is idempotent at Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub trade: TradeRef,
    /// The merchant's refund number; one per partial refund.
    pub out_request_no: String,
    pub refund_amount: Fen,
    pub refund_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundResponse {
    pub trade_no: String,
    pub out_trade_no: String,
    /// Whether this call moved money; `false` on an idempotent repeat of an earlier refund.
    #[serde(deserialize_with = "yes_no")]
    pub fund_change: bool,
    /// Total refunded on the trade so far, this refund included.
    #[serde(with = "yuan")]
    pub refund_fee: Fen,
    #[serde(default, with = "china_time_option")]
    pub gmt_refund_pay: Option<OffsetDateTime>,
}

/// `alipay.trade.fastpay.refund.query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryRequest {
    pub trade: TradeRef,
    pub out_request_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundQueryResponse {
    pub trade_no: Option<String>,
    pub out_trade_no: Option<String>,
    pub out_request_no: Option<String>,
    #[serde(default, deserialize_with = "yuan::option::deserialize")]
    pub refund_amount: Option<Fen>,
    #[serde(default, deserialize_with = "yuan::option::deserialize")]
    pub total_amount: Option<Fen>,
    #[serde(default)]
    pub refund_status: RefundStatus,
    #[serde(default, with = "china_time_option")]
    pub gmt_refund_pay: Option<OffsetDateTime>,
}

/// Alipay reports only success: "no `refund_status`" means the refund was not received or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundStatus {
    /// `REFUND_SUCCESS`.
    Success,
    /// The field was absent: no such refund, or it failed.
    #[default]
    NotSucceeded,
}

impl<'de> Deserialize<'de> for RefundStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)?.as_deref() {
            Some("REFUND_SUCCESS") => Ok(Self::Success),
            None | Some("") => Ok(Self::NotSucceeded),
            Some(other) => Err(serde::de::Error::custom(format!(
                "unknown refund_status {other:?}"
            ))),
        }
    }
}

fn yes_no<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match String::deserialize(d)?.as_str() {
        "Y" => Ok(true),
        "N" => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "expected Y or N, got {other:?}"
        ))),
    }
}

impl Client {
    /// `alipay.trade.refund`.
    ///
    /// # Errors
    /// See [`Error`]; refunding more than was paid is [`Error::Upstream`] with
    /// `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL` (Alipay's "refund amount exceeds"), reusing an
    /// `out_request_no` for another amount `ACQ.DISCORDANT_REPEAT_REQUEST`.
    pub async fn refund(&self, req: &RefundRequest) -> Result<RefundResponse, Error> {
        let (k, v) = req.trade.field();
        let mut biz = json!({
            k: v,
            "out_request_no": req.out_request_no,
            "refund_amount": req.refund_amount.to_yuan_string(),
        });
        if let (Some(reason), Some(map)) = (&req.refund_reason, biz.as_object_mut()) {
            map.insert("refund_reason".to_owned(), json!(reason));
        }
        self.call("alipay.trade.refund", &biz, Extra::default())
            .await
    }

    /// `alipay.trade.fastpay.refund.query`.
    ///
    /// # Errors
    /// See [`Error`]. An unknown refund is not an error: [`RefundStatus::NotSucceeded`].
    pub async fn query_refund(
        &self,
        req: &RefundQueryRequest,
    ) -> Result<RefundQueryResponse, Error> {
        let (k, v) = req.trade.field();
        let biz = json!({ k: v, "out_request_no": req.out_request_no });
        self.call("alipay.trade.fastpay.refund.query", &biz, Extra::default())
            .await
    }
}
