//! What the API answers about an order, per route family.

use serde::Serialize;
use utoipa::ToSchema;

use crate::channels::PayParams;
use crate::domain::{
    Attach, NotifyUrl, Order, OutTradeNo, Refund, RefundReason, RefundStatus, Timestamp,
};
use crate::service::{OrderView, RefundView};

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
    /// `wechat` or `alipay`; `any` for a channel-neutral order until it is paid.
    #[schema(example = "wechat")]
    pub channel: &'static str,
    /// The method it was created with or, for a channel-neutral order, `any` until it is paid and
    /// then the method it was paid by.
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
    /// Where the payer's browser goes once paid, when the order names one.
    pub return_url: Option<String>,
    /// Made for profit sharing (`POST /v1/orders/{out_trade_no}/splits`).
    pub profit_sharing: bool,
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
    /// Fen that reached the payer: the sum of the `succeeded` refunds. The order is `refunded` once
    /// this is `amount_total`; a partly refunded order stays `paid`.
    #[schema(example = 0)]
    pub refunded_amount: i64,
    /// Every refund of the order, oldest first, whatever its status.
    pub refunds: Vec<V1Refund>,
}

impl V1Order {
    /// The order as `/v1` shows it, with its refunds (oldest first).
    #[must_use]
    pub fn new(v: OrderView, refunds: &[Refund]) -> Self {
        let o = v.order;
        let refunded_amount = refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Succeeded)
            .map(|r| r.amount.as_i64())
            .sum();
        let refunds = refunds
            .iter()
            .map(|r| V1Refund::new(r, &o.out_trade_no))
            .collect();
        Self {
            out_trade_no: o.out_trade_no.as_str().to_owned(),
            channel: o.order_method().channel_name(),
            method: o.order_method().method_name(),
            status: o.status.as_str(),
            amount_total: o.amount.as_i64(),
            currency: o.currency.as_str(),
            description: o.description.as_str().to_owned(),
            attach: o.attach.as_ref().map(|a: &Attach| a.as_str().to_owned()),
            notify_url: o
                .notify_url
                .as_ref()
                .map(|u: &NotifyUrl| u.as_str().to_owned()),
            return_url: o.return_url.as_ref().map(|u| u.as_str().to_owned()),
            profit_sharing: o.profit_sharing,
            checkout_url: v.checkout_url,
            created_at: o.created_at.to_rfc3339(),
            expires_at: o.expires_at.to_rfc3339(),
            paid_at: o.paid_at.map(Timestamp::to_rfc3339),
            closed_at: o.closed_at.map(Timestamp::to_rfc3339),
            transaction_id: o.upstream.transaction_id,
            trade_no: o.upstream.trade_no,
            pay_params: v.pay_params,
            refunded_amount,
            refunds,
        }
    }
}

/// A refund as `/v1` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Refund {
    #[schema(example = "refund_20240101_001")]
    pub out_refund_no: String,
    /// The order it gives money back from.
    #[schema(example = "order_20240101_001")]
    pub out_trade_no: String,
    /// Fen.
    #[schema(example = 1000)]
    pub amount: i64,
    /// `processing` until the channel says how it ended (WeChat Pay mostly says so later, Alipay
    /// at once); then `succeeded` (the money reached the payer), `failed` (the channel refused or
    /// closed it: nothing was given back, and the amount can be refunded again) or `abnormal` (the
    /// channel took it but could not reach the payer's account; the operator settles it, and its
    /// amount stays taken until then).
    #[schema(example = "succeeded")]
    pub status: &'static str,
    pub reason: Option<String>,
    /// The channel's own refund id (WeChat Pay `refund_id`, Alipay `trade_no`), once known.
    pub channel_refund_id: Option<String>,
    #[schema(example = "2024-01-30T08:15:00Z")]
    pub created_at: String,
    /// When the money reached the payer; `null` unless `succeeded`.
    pub succeeded_at: Option<String>,
    /// Why a `failed` refund failed: the channel's code and message, or `closed by the channel`;
    /// `null` for any other status.
    pub failure_reason: Option<String>,
}

impl V1Refund {
    #[must_use]
    pub fn new(r: &Refund, out_trade_no: &OutTradeNo) -> Self {
        Self {
            out_refund_no: r.out_refund_no.as_str().to_owned(),
            out_trade_no: out_trade_no.as_str().to_owned(),
            amount: r.amount.as_i64(),
            status: r.status.as_str(),
            reason: r
                .reason
                .as_ref()
                .map(|x: &RefundReason| x.as_str().to_owned()),
            channel_refund_id: r.channel_refund_id.clone(),
            created_at: r.created_at.to_rfc3339(),
            succeeded_at: r.succeeded_at.map(Timestamp::to_rfc3339),
            failure_reason: match r.status {
                RefundStatus::Failed => r.upstream_error.clone(),
                RefundStatus::Processing | RefundStatus::Succeeded | RefundStatus::Abnormal => None,
            },
        }
    }
}

impl From<RefundView> for V1Refund {
    fn from(v: RefundView) -> Self {
        Self::new(&v.refund, &v.out_trade_no)
    }
}
