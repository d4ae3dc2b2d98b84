//! What the API answers about an order, per route family.

use serde::Serialize;
use utoipa::ToSchema;

use crate::channels::PayParams;
use crate::domain::{Attach, NotifyUrl, Order, Timestamp};
use crate::service::OrderView;

/// Seed 000's answer to `POST /pay/wechat/native`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NativeCreated {
    #[schema(example = "order_20240101_001")]
    pub out_trade_no: String,
    /// Show as a QR code; the payer scans it with WeChat.
    #[schema(example = "weixin://wxpay/bizpayurl?pr=abc1234")]
    pub code_url: Option<String>,
    /// Always `null` here: WeChat Pay's Native order answers only `code_url`, without a
    /// `prepay_id` (the field is kept for 1Pass compatibility).
    pub prepay_id: Option<String>,
    /// `pending` on success; a retried request for an order that moved on answers its status.
    #[schema(example = "pending")]
    pub status: &'static str,
    #[schema(example = "http://127.0.0.1:8080/pay/wechat/checkout?token=ck_…")]
    pub checkout_url: String,
}

impl From<OrderView> for NativeCreated {
    fn from(v: OrderView) -> Self {
        Self {
            out_trade_no: v.order.out_trade_no.as_str().to_owned(),
            code_url: v.order.upstream.code_url.clone(),
            prepay_id: v.order.upstream.prepay_id.clone(),
            status: v.order.status.as_str(),
            checkout_url: v.checkout_url,
        }
    }
}

/// What `GET /pay/wechat/status?token=` answers: enough for a checkout page to poll.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenStatus {
    pub out_trade_no: String,
    /// `created`, `pending`, `paid`, `failed`, `closed` or `refunded`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Fen.
    #[schema(example = 2990)]
    pub amount_total: i64,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    pub description: String,
    #[schema(example = "2024-01-30T08:15:00Z")]
    pub expires_at: String,
    pub paid_at: Option<String>,
}

impl From<&Order> for TokenStatus {
    fn from(o: &Order) -> Self {
        Self {
            out_trade_no: o.out_trade_no.as_str().to_owned(),
            status: o.status.as_str(),
            amount_total: o.amount.as_i64(),
            currency: o.currency.as_str(),
            description: o.description.as_str().to_owned(),
            expires_at: o.expires_at.to_rfc3339(),
            paid_at: o.paid_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// An order as `/v1` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Order {
    pub out_trade_no: String,
    #[schema(example = "wechat")]
    pub channel: &'static str,
    #[schema(example = "native")]
    pub method: &'static str,
    /// `created`, `pending`, `paid`, `failed`, `closed` or `refunded`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Fen.
    #[schema(example = 2990)]
    pub amount_total: i64,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: Option<String>,
    pub checkout_url: String,
    pub created_at: String,
    pub expires_at: String,
    pub paid_at: Option<String>,
    pub closed_at: Option<String>,
    /// WeChat Pay's payment id, once paid.
    pub transaction_id: Option<String>,
    /// Alipay's trade number, once known.
    pub trade_no: Option<String>,
    /// What the payer's side needs, while the order is `pending`; tagged by `type`:
    /// `wechat_native {code_url}`, `wechat_jsapi`/`wechat_miniapp {appId,timeStamp,nonceStr,package,signType,paySign}`,
    /// `wechat_h5 {h5_url}`, `wechat_app {appid,partnerid,prepayid,package,noncestr,timestamp,sign}`,
    /// `alipay_qr {qr_code}`, `alipay_jsapi`/`alipay_miniapp {trade_no}`, `alipay_wap`/`alipay_page {url}`,
    /// `alipay_app {order_string}`.
    #[schema(value_type = Option<Object>)]
    pub pay_params: Option<PayParams>,
}

impl From<OrderView> for V1Order {
    fn from(v: OrderView) -> Self {
        let o = v.order;
        Self {
            out_trade_no: o.out_trade_no.as_str().to_owned(),
            channel: o.pay_method.channel().as_str(),
            method: o.pay_method.method().as_str(),
            status: o.status.as_str(),
            amount_total: o.amount.as_i64(),
            currency: o.currency.as_str(),
            description: o.description.as_str().to_owned(),
            attach: o.attach.as_ref().map(|a: &Attach| a.as_str().to_owned()),
            notify_url: o
                .notify_url
                .as_ref()
                .map(|u: &NotifyUrl| u.as_str().to_owned()),
            checkout_url: v.checkout_url,
            created_at: o.created_at.to_rfc3339(),
            expires_at: o.expires_at.to_rfc3339(),
            paid_at: o.paid_at.map(Timestamp::to_rfc3339),
            closed_at: o.closed_at.map(Timestamp::to_rfc3339),
            transaction_id: o.upstream.transaction_id,
            trade_no: o.upstream.trade_no,
            pay_params: v.pay_params,
        }
    }
}
