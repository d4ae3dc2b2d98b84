//! Types shared by several API areas: amounts, payers, scenes, trade references, trade states,
//! transactions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The amount of an order. `total` is in fen; currency defaults to CNY at WeChat Pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmount {
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl OrderAmount {
    #[must_use]
    pub fn cny(total_fen: i64) -> Self {
        Self {
            total: total_fen,
            currency: Some("CNY".into()),
        }
    }
}

/// Which order a query or refund is for: WeChat Pay's `transaction_id` or the merchant's
/// `out_trade_no`. (Closing takes the `out_trade_no` alone: WeChat Pay closes by nothing else.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeRef {
    TransactionId(String),
    OutTradeNo(String),
}

impl TradeRef {
    /// The last two path segments of the query URL: `id/{transaction_id}` or
    /// `out-trade-no/{out_trade_no}`.
    pub(crate) fn path_segments(&self) -> [&str; 2] {
        match self {
            Self::TransactionId(id) => ["id", id],
            Self::OutTradeNo(no) => ["out-trade-no", no],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleInfo {
    pub profit_sharing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    pub payer_client_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_info: Option<serde_json::Value>,
    /// Required for H5 orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<H5Info>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5Info {
    /// `iOS`, `Android` or `Wap`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_name: Option<String>,
}

/// `trade_state`. Exhaustive on purpose: a state WeChat Pay adds later fails decoding
/// ([`crate::Error::Decode`]) instead of being filed under a wrong one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Success,
    Refund,
    Notpay,
    Closed,
    Revoked,
    Userpaying,
    Payerror,
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeType {
    Jsapi,
    Native,
    App,
    Micropay,
    Mweb,
    Facepay,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// An order as queried, or as a TRANSACTION.SUCCESS callback carries it: the same fields for a
/// direct merchant ([`Transaction`]) and for a service provider's sub-merchant
/// ([`PartnerTransaction`]). `M` holds whose order it is (its fields sit at the top level of the
/// JSON, and read through to the transaction: `t.appid`, `t.sp_mchid`); `P` is the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>, P: Deserialize<'de>"))]
pub struct TransactionFor<M, P> {
    #[serde(flatten)]
    pub merchant: M,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<TradeType>,
    pub trade_state: TradeState,
    #[serde(default)]
    pub trade_state_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<P>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
}

/// A direct merchant's order as queried, or as a TRANSACTION.SUCCESS callback carries it.
pub type Transaction = TransactionFor<TransactionMerchant, Payer>;

/// Whose order a [`Transaction`] is: the direct merchant's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMerchant {
    pub appid: String,
    pub mchid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerPayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_openid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_openid: Option<String>,
}

/// A service provider's sub-merchant order as queried or called back.
pub type PartnerTransaction = TransactionFor<PartnerTransactionMerchant, PartnerPayer>;

/// Whose order a [`PartnerTransaction`] is: the service provider's and its sub-merchant's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerTransactionMerchant {
    pub sp_appid: String,
    pub sp_mchid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
    pub sub_mchid: String,
}

/// JSAPI / mini-program / App order answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Prepay {
    pub prepay_id: String,
}

/// Native (QR code) order answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NativePrepay {
    pub code_url: String,
}

/// H5 order answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct H5Prepay {
    pub h5_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trade_state_wechat_has_not_documented_is_a_decode_error() {
        let known: TradeState = serde_json::from_str("\"USERPAYING\"").unwrap();
        assert_eq!(known, TradeState::Userpaying);
        assert!(serde_json::from_str::<TradeState>("\"PARTIALLY_PAID\"").is_err());
    }

    #[test]
    fn decodes_a_documented_transaction() {
        let t: Transaction = serde_json::from_str(
            r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"1217752501201407033233368018",
            "transaction_id":"1217752501201407033233368018","trade_type":"MICROPAY","trade_state":"SUCCESS",
            "trade_state_desc":"支付成功","bank_type":"CMC","attach":"自定义数据","success_time":"2018-06-08T10:34:56+08:00",
            "payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":90,"currency":"CNY","payer_currency":"CNY"},
            "promotion_detail":[]}"#,
        )
        .unwrap();
        assert_eq!(t.trade_state, TradeState::Success);
        assert_eq!(t.amount.unwrap().payer_total, Some(90));
        assert_eq!(t.success_time.unwrap().unix_timestamp(), 1_528_425_296);
    }
}
