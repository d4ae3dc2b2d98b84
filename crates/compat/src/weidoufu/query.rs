//! `GET /pay/query`: an order's payment and notification status, by `mch_trade_no` or
//! `out_order_no` (doc.weidoufu.com/api/query.html).
//!
//! weidoufu's page takes the order number alone, with neither `access_key` nor `sign`: anyone
//! holding an order number could read the order. paygate requires both, the sign made as a pay
//! request's over the query's fields (all strings), so an order is answered only to its own site.
//!
//! The answer is the page's: `{code, message, status, data: {mch_trade_no, out_order_no, notify,
//! status}}`. The page's example also puts `message` inside `data`, so it is there too.

use serde::Serialize;
use serde_json::{Map, Value};

use super::RequestError;
use super::answer::{Answer, Placed};
use super::fields::Fields;
use super::request::OutOrderNo;

/// Which order is asked about. `mch_trade_no` counts when both are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    MchTradeNo(String),
    OutOrderNo(OutOrderNo),
}

/// A verified query's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    pub access_key: String,
    pub order: OrderRef,
}

impl QueryRequest {
    /// # Errors
    /// [`RequestError::Missing`] without `access_key` or without both order numbers;
    /// [`RequestError::BadOrderNo`] for an `out_order_no` that is none.
    pub fn parse(fields: &Map<String, Value>) -> Result<Self, RequestError> {
        let fields = Fields(fields);
        let access_key = fields.required_text("access_key", 32)?.to_owned();
        let order = match fields.text("mch_trade_no", 32)? {
            Some(no) => OrderRef::MchTradeNo(no.to_owned()),
            None => match fields.text("out_order_no", 32) {
                Ok(Some(no)) => OrderRef::OutOrderNo(OutOrderNo::parse(no)?),
                Ok(None) => return Err(RequestError::Missing("mch_trade_no")),
                Err(_) => return Err(RequestError::BadOrderNo),
            },
        };
        Ok(Self { access_key, order })
    }
}

/// Where the payment stands (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayStatus {
    /// 1: not paid yet.
    Waiting,
    /// 2: paid (also once refunded: the payment happened).
    Paid,
    /// 3: closed or failed without payment.
    Failed,
}

/// Where the notification of the payment stands (`notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyStatus {
    /// 1: not acknowledged yet (or nothing to tell yet).
    Waiting,
    /// 2: acknowledged by the merchant.
    Delivered,
    /// 3: every retry failed.
    Failed,
}

/// `data` of a query answer; on a failure only the numbers asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryData {
    pub mch_trade_no: String,
    pub out_order_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

const FOUND: &str = "查询成功";

#[must_use]
pub fn query_success(
    placed: Placed<'_>,
    pay: PayStatus,
    notify: NotifyStatus,
) -> Answer<QueryData> {
    let pay = match pay {
        PayStatus::Waiting => 1,
        PayStatus::Paid => 2,
        PayStatus::Failed => 3,
    };
    let notify = match notify {
        NotifyStatus::Waiting => 1,
        NotifyStatus::Delivered => 2,
        NotifyStatus::Failed => 3,
    };
    Answer {
        code: 1,
        message: FOUND.to_owned(),
        status: Some("success"),
        data: QueryData {
            mch_trade_no: placed.mch_trade_no.to_owned(),
            out_order_no: placed.out_order_no.to_owned(),
            notify: Some(notify),
            status: Some(pay),
            message: Some(FOUND.to_owned()),
        },
    }
}

#[must_use]
pub fn query_failure(placed: Placed<'_>, message: &str) -> Answer<QueryData> {
    Answer {
        code: 0,
        message: message.to_owned(),
        status: Some("fail"),
        data: QueryData {
            mch_trade_no: placed.mch_trade_no.to_owned(),
            out_order_no: placed.out_order_no.to_owned(),
            notify: None,
            status: None,
            message: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test fields must be an object"),
        }
    }

    #[test]
    fn an_order_is_asked_for_by_either_number_the_platforms_first() {
        let both = fields(json!({
            "access_key": "AK", "mch_trade_no": "2024013000000000042",
            "out_order_no": "180901620895069445",
        }));
        assert_eq!(
            QueryRequest::parse(&both).unwrap().order,
            OrderRef::MchTradeNo("2024013000000000042".into())
        );
        let own = fields(json!({"access_key": "AK", "out_order_no": "180901620895069445"}));
        assert!(matches!(
            QueryRequest::parse(&own).unwrap().order,
            OrderRef::OutOrderNo(no) if no.as_str() == "180901620895069445"
        ));
    }

    #[test]
    fn a_query_without_a_key_or_a_number_is_refused() {
        let keyless = fields(json!({"out_order_no": "180901620895069445"}));
        assert_eq!(
            QueryRequest::parse(&keyless),
            Err(RequestError::Missing("access_key"))
        );
        let numberless = fields(json!({"access_key": "AK", "mch_trade_no": ""}));
        assert_eq!(
            QueryRequest::parse(&numberless),
            Err(RequestError::Missing("mch_trade_no"))
        );
        let short = fields(json!({"access_key": "AK", "out_order_no": "123"}));
        assert_eq!(QueryRequest::parse(&short), Err(RequestError::BadOrderNo));
    }

    #[test]
    fn answers_have_the_pages_shape() {
        let placed = Placed {
            mch_trade_no: "2024013000000000042",
            out_order_no: "180901620895069445",
        };
        let found = query_success(placed, PayStatus::Paid, NotifyStatus::Delivered);
        assert_eq!(
            serde_json::to_value(found).unwrap(),
            json!({
                "code": 1, "message": "查询成功", "status": "success",
                "data": {
                    "mch_trade_no": "2024013000000000042", "out_order_no": "180901620895069445",
                    "notify": 2, "status": 2, "message": "查询成功",
                },
            })
        );
        let missing = query_failure(placed, "订单不存在");
        assert_eq!(
            serde_json::to_value(missing).unwrap(),
            json!({
                "code": 0, "message": "订单不存在", "status": "fail",
                "data": {
                    "mch_trade_no": "2024013000000000042", "out_order_no": "180901620895069445",
                },
            })
        );
    }
}
