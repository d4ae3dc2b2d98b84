//! Settlements (`alipay.trade.order.settle`): splitting a paid trade among bound receivers, and
//! reading each split's state back.

use channel_core::Fen;
use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;

use super::AccountType;
use crate::client::Extra;
use crate::serde_util::{china_time_option, yuan};
use crate::{Client, Error};

/// `alipay.trade.order.settle`. Retrying with the same `out_request_no` and the same splits is
/// idempotent at Alipay; it is how an unknown outcome (a timeout, `ACQ.SYSTEM_ERROR`,
/// `ACQ.TRADE_SETTLE_ERROR`) is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettleRequest {
    /// The merchant's number for this settlement (32 characters at most).
    pub out_request_no: String,
    /// Alipay's trade number; settlement does not take `out_trade_no`.
    pub trade_no: String,
    #[serde(rename = "royalty_parameters")]
    pub splits: Vec<RoyaltySplit>,
    /// Whether this is the trade's last settlement: what stays frozen is released to the
    /// merchant once it is done.
    #[serde(rename = "extend_params", serialize_with = "finish_params")]
    pub royalty_finish: bool,
}

/// One split (Alipay's `OpenApiRoyaltyDetailInfoPojo`), always by amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoyaltySplit {
    pub royalty_type: RoyaltyType,
    /// The paying account (`userId`), when not the trade's seller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trans_out: Option<String>,
    pub trans_in_type: AccountType,
    pub trans_in: String,
    #[serde(with = "yuan")]
    pub amount: Fen,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

impl RoyaltySplit {
    /// A plain transfer from the seller to a bound receiver.
    #[must_use]
    pub fn transfer(trans_in_type: AccountType, trans_in: impl Into<String>, amount: Fen) -> Self {
        Self {
            royalty_type: RoyaltyType::Transfer,
            trans_out: None,
            trans_in_type,
            trans_in: trans_in.into(),
            amount,
            desc: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoyaltyType {
    /// 分账: from the seller to the receiver.
    Transfer,
    /// 补差: the receiver makes up a discount to the seller.
    Replenish,
}

fn finish_params<S: Serializer>(finish: &bool, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Params {
        royalty_finish: &'static str,
    }
    Params {
        royalty_finish: if *finish { "true" } else { "false" },
    }
    .serialize(s)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettleResponse {
    pub trade_no: String,
    /// Alipay's number for the settlement; older answers lack it.
    pub settle_no: Option<String>,
}

/// Which settlement `alipay.trade.order.settle.query` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleQuery {
    SettleNo(String),
    Request {
        trade_no: String,
        out_request_no: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettleQueryResponse {
    pub out_request_no: Option<String>,
    /// When Alipay accepted the settlement.
    #[serde(default, with = "china_time_option")]
    pub operation_dt: Option<OffsetDateTime>,
    #[serde(rename = "royalty_detail_list", default)]
    pub details: Vec<RoyaltyDetail>,
}

/// One movement of a settlement and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoyaltyDetail {
    pub operation_type: RoyaltyOperation,
    #[serde(default, with = "china_time_option")]
    pub execute_dt: Option<OffsetDateTime>,
    pub trans_out: Option<String>,
    /// Kept as text: Alipay also names accounts kinds this client never sends
    /// (`secondMerchantID`, `cardAliasNo`).
    pub trans_out_type: Option<String>,
    pub trans_in: Option<String>,
    pub trans_in_type: Option<String>,
    #[serde(with = "yuan")]
    pub amount: Fen,
    pub state: RoyaltyState,
    /// Why it failed, when it did.
    pub error_code: Option<String>,
    pub error_desc: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoyaltyOperation {
    Transfer,
    TransferRefund,
    Replenish,
    ReplenishRefund,
}

/// A split's state; `Processing` is the only one that still changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoyaltyState {
    Success,
    Fail,
    Processing,
}

impl RoyaltyState {
    #[must_use]
    pub fn is_final(self) -> bool {
        match self {
            Self::Success | Self::Fail => true,
            Self::Processing => false,
        }
    }
}

impl Client {
    /// `alipay.trade.order.settle`, synchronous mode.
    ///
    /// # Errors
    /// See [`Error`]; splitting more than is left of the trade is [`Error::Upstream`] with
    /// `ACQ.ALLOC_AMOUNT_VALIDATE_ERROR`, a receiver not bound `ACQ.ROYALTY_RECEIVER_INVALID`,
    /// reusing an `out_request_no` for other splits `ACQ.DISCORDANT_REPEAT_REQUEST`.
    pub async fn settle(&self, req: &SettleRequest) -> Result<SettleResponse, Error> {
        self.call("alipay.trade.order.settle", req, Extra::default())
            .await
    }

    /// `alipay.trade.order.settle.query`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn query_settle(&self, query: &SettleQuery) -> Result<SettleQueryResponse, Error> {
        let biz = match query {
            SettleQuery::SettleNo(no) => serde_json::json!({ "settle_no": no }),
            SettleQuery::Request {
                trade_no,
                out_request_no,
            } => serde_json::json!({ "trade_no": trade_no, "out_request_no": out_request_no }),
        };
        self.call("alipay.trade.order.settle.query", &biz, Extra::default())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settlement_is_written_as_alipay_reads_it() {
        let mut split = RoyaltySplit::transfer(AccountType::UserId, "2088101126708402", Fen(10));
        split.desc = Some("平台服务费".into());
        let req = SettleRequest {
            out_request_no: "s1".into(),
            trade_no: "2014030411001007850000672009".into(),
            splits: vec![split],
            royalty_finish: true,
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({
                "out_request_no": "s1",
                "trade_no": "2014030411001007850000672009",
                "royalty_parameters": [{
                    "royalty_type": "transfer",
                    "trans_in_type": "userId",
                    "trans_in": "2088101126708402",
                    "amount": "0.10",
                    "desc": "平台服务费",
                }],
                "extend_params": { "royalty_finish": "true" },
            })
        );
    }

    #[test]
    fn a_query_answer_reads_each_split() {
        let raw = r#"{"code":"10000","msg":"Success","out_request_no":"s1","operation_dt":"2021-07-06 14:02:03","royalty_detail_list":[{"operation_type":"transfer","execute_dt":"2021-07-06 14:02:04","trans_out":"2088111111111111","trans_out_type":"userId","trans_in":"2088101126708402","trans_in_type":"userId","amount":"0.10","state":"SUCCESS"},{"operation_type":"transfer","trans_in":"x@example.com","trans_in_type":"loginName","amount":"1.00","state":"FAIL","error_code":"PAYEE_NOT_EXIST","error_desc":"收款账号不存在"}]}"#;
        let r: SettleQueryResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(r.details.len(), 2);
        assert_eq!(r.details[0].amount, Fen(10));
        assert_eq!(r.details[0].state, RoyaltyState::Success);
        assert_eq!(r.details[1].state, RoyaltyState::Fail);
        assert_eq!(r.details[1].error_code.as_deref(), Some("PAYEE_NOT_EXIST"));
        assert!(r.details.iter().all(|d| d.state.is_final()));
    }
}
