//! Server-side trade calls: QR (precreate), mini-program (create), query, close.

use channel_core::Fen;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::client::Extra;
use crate::order::{Buyer, Order, TradeRef, TradeStatus, biz_with};
use crate::serde_util::{china_time_option, yuan};
use crate::{Client, Error};

/// `alipay.trade.precreate`: the QR code for the buyer to scan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrecreateResponse {
    pub out_trade_no: String,
    /// The URL to render as a QR code.
    pub qr_code: String,
}

/// `alipay.trade.create` for a mini-program (`JSAPI_PAY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub order: Order,
    pub buyer: Buyer,
    /// The mini-program's app id when it differs from the paying app (`op_app_id`).
    pub op_app_id: Option<String>,
}

/// The `trade_no` the mini-program passes to `my.tradePay`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreateResponse {
    pub out_trade_no: String,
    pub trade_no: String,
}

/// `alipay.trade.query`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueryResponse {
    pub trade_no: String,
    pub out_trade_no: String,
    pub trade_status: TradeStatus,
    #[serde(with = "yuan")]
    pub total_amount: Fen,
    #[serde(default, deserialize_with = "yuan::option::deserialize")]
    pub receipt_amount: Option<Fen>,
    #[serde(default, deserialize_with = "yuan::option::deserialize")]
    pub buyer_pay_amount: Option<Fen>,
    pub buyer_user_id: Option<String>,
    pub buyer_open_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    /// When the buyer paid.
    #[serde(default, with = "china_time_option")]
    pub send_pay_date: Option<OffsetDateTime>,
}

/// `alipay.trade.close`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CloseResponse {
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
}

impl Client {
    /// `alipay.trade.precreate`: a QR-code payment (当面付 scan).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn precreate(&self, order: &Order) -> Result<PrecreateResponse, Error> {
        let extra = Extra {
            notify_url: order.notify_url.as_deref(),
            return_url: None,
        };
        self.call("alipay.trade.precreate", &biz_with(order, &[]), extra)
            .await
    }

    /// `alipay.trade.create` with `product_code=JSAPI_PAY`: a mini-program payment.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(&self, req: &CreateRequest) -> Result<CreateResponse, Error> {
        let mut extra = vec![("product_code", json!("JSAPI_PAY"))];
        match &req.buyer {
            Buyer::UserId(id) => extra.push(("buyer_id", json!(id))),
            Buyer::OpenId(id) => extra.push(("buyer_open_id", json!(id))),
        }
        if let Some(op) = &req.op_app_id {
            extra.push(("op_app_id", json!(op)));
        }
        let call = Extra {
            notify_url: req.order.notify_url.as_deref(),
            return_url: None,
        };
        self.call("alipay.trade.create", &biz_with(&req.order, &extra), call)
            .await
    }

    /// `alipay.trade.query`.
    ///
    /// # Errors
    /// See [`Error`]; an unknown trade is [`Error::Upstream`] with `ACQ.TRADE_NOT_EXIST`.
    pub async fn query_order(&self, trade: &TradeRef) -> Result<QueryResponse, Error> {
        let (k, v) = trade.field();
        self.call("alipay.trade.query", &json!({ k: v }), Extra::default())
            .await
    }

    /// `alipay.trade.close`: closes an unpaid trade.
    ///
    /// # Errors
    /// See [`Error`]; a paid trade is [`Error::Upstream`] with `ACQ.TRADE_STATUS_ERROR`.
    pub async fn close_order(&self, trade: &TradeRef) -> Result<CloseResponse, Error> {
        let (k, v) = trade.field();
        self.call("alipay.trade.close", &json!({ k: v }), Extra::default())
            .await
    }
}
