//! `/pay/miniapp`, `/pay/native` and `/pay/mobile`: a JSON request verified over its fields as
//! received, made into an order through the same service as `/v1`, then answered with what the
//! payer's side needs, taken from the order's `pay_params`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use compat::weidoufu::PayType;
use compat::weidoufu::answer::{self, Jsapi, Placed, WeChatJsapi};
use serde_json::{Map, Value};

use super::order::PayRequest;
use super::{Ctx, Endpoint, Failure, body_object, json, store_trouble, text_of, verified};
use crate::channels::PayParams;
use crate::domain::{
    Amount, OrderStatus, ReceiverType, Site, SplitRatio, SplitReceiver, SplitReceivers,
    compat_trade_no,
};
use crate::service::{OrderView, ServiceError};

pub(super) async fn miniapp(State(ctx): State<Ctx>, body: Bytes) -> Response {
    place(&ctx, &body, Endpoint::Miniapp).await
}

pub(super) async fn native(State(ctx): State<Ctx>, body: Bytes) -> Response {
    place(&ctx, &body, Endpoint::Native).await
}

pub(super) async fn mobile(State(ctx): State<Ctx>, body: Bytes) -> Response {
    place(&ctx, &body, Endpoint::Mobile).await
}

async fn place(ctx: &Ctx, body: &Bytes, endpoint: Endpoint) -> Response {
    let fields = match body_object(body) {
        Ok(fields) => fields,
        Err(failure) => return failure.answer(endpoint, ""),
    };
    match start(ctx, &fields, endpoint).await {
        Ok(answer) => answer,
        Err(failure) => {
            // Repeated back only when it could be an order number, not whatever was sent.
            let out_order_no = Some(text_of(&fields, "out_order_no"))
                .filter(|no| no.len() <= 32)
                .unwrap_or_default();
            failure.answer(endpoint, out_order_no)
        }
    }
}

async fn start(
    ctx: &Ctx,
    fields: &Map<String, Value>,
    endpoint: Endpoint,
) -> Result<Response, Failure> {
    let (_, site) = verified(ctx, fields).await?;
    let request = PayRequest::parse(endpoint, fields)?;
    let order = request.order_request()?;
    let out_order_no = order.out_trade_no.as_str().to_owned();
    let ledger = ledger_receivers(ctx, &site, &request).await?;
    let view = ctx
        .orders
        .create_through(&site, order, request.origin(), ledger)
        .await
        .map_err(|e| refused(&e, &out_order_no))?;
    let mch_trade_no = compat_trade_no(view.order.id, view.order.created_at);
    match view.order.status {
        OrderStatus::Paid | OrderStatus::Refunded => {
            Err(Failure::client("订单已支付，请勿重复发起支付").about(mch_trade_no))
        }
        OrderStatus::Closed | OrderStatus::Failed => {
            Err(Failure::client("订单已关闭，请更换订单号重新发起支付").about(mch_trade_no))
        }
        OrderStatus::Created | OrderStatus::Pending => {
            let placed = Placed {
                mch_trade_no: &mch_trade_no,
                out_order_no: &out_order_no,
            };
            success(endpoint, placed, &view).map_err(|f| f.about(mch_trade_no.clone()))
        }
    }
}

/// The ledger's receivers as the operator set them up for the site, each with its share: paygate
/// splits the order to them once it is paid. A receiver the operator has not set up is refused
/// now, not after the payer paid: the channel needs its real name, which the ledger lacks.
async fn ledger_receivers(
    ctx: &Ctx,
    site: &Site,
    request: &PayRequest,
) -> Result<Vec<SplitReceiver>, Failure> {
    let entries = request.ledger();
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let kind = match request.pay_type() {
        PayType::WeChat => ReceiverType::WechatMerchant,
        PayType::Alipay => ReceiverType::AlipayUserId,
    };
    let set_up = ctx
        .sites
        .receivers(&site.id)
        .await
        .map_err(|e| store_trouble(&e))?;
    let receivers = entries
        .iter()
        .map(|entry| {
            let known = set_up
                .iter()
                .find(|r| r.kind == kind && r.account.as_str() == entry.sub_mch_no)
                .ok_or_else(|| {
                    Failure::client(format!(
                        "分账接收方 {} 未由平台登记，无法分账",
                        entry.sub_mch_no
                    ))
                })?;
            Ok(SplitReceiver {
                kind,
                account: known.account.clone(),
                amount: Amount::parse(entry.amount.0)
                    .map_err(|_| Failure::client("分账金额 amount 应为正整数（分）"))?,
                name: Some(known.name.clone()),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    // One split to them all: a receiver named twice is the request's mistake.
    let split = SplitReceivers::parse(receivers.clone())
        .map_err(|_| Failure::client("分账信息 ledger 中的接收方不能重复，且至多 50 个"))?;
    // WeChat Pay lets a direct merchant split at most 30% of a payment away: a larger ledger
    // could never be paid out, so the order is refused before the payer pays. A sub-merchant's
    // ratio is its own, which WeChat Pay says when the split is made.
    if kind == ReceiverType::WechatMerchant
        && site.wechat_sub_merchant.is_none()
        && let Ok(total) = Amount::parse(request.total_fee())
        && split.total() > SplitRatio::WECHAT_DIRECT.cap_of(total)
    {
        return Err(Failure::client(
            "微信支付分账金额合计不能超过订单金额的 30%",
        ));
    }
    Ok(receivers)
}

/// The endpoint's success answer, from what the channel gave the order.
fn success(endpoint: Endpoint, placed: Placed<'_>, view: &OrderView) -> Result<Response, Failure> {
    let params = view.pay_params.as_ref();
    match endpoint {
        Endpoint::Miniapp => {
            let jsapi = match params {
                Some(PayParams::WechatMiniapp(p)) => Jsapi::WeChat(WeChatJsapi {
                    app_id: p.app_id.clone(),
                    timestamp: p.time_stamp.clone(),
                    nonce_str: p.nonce_str.clone(),
                    package: p.package.clone(),
                    sign_type: p.sign_type.clone(),
                    pay_sign: p.pay_sign.clone(),
                }),
                Some(PayParams::AlipayMiniapp { trade_no }) => Jsapi::Alipay {
                    trade_no: trade_no.clone(),
                },
                other => return Err(mismatch(endpoint, other)),
            };
            Ok(json(&answer::miniapp_success(placed, jsapi)))
        }
        Endpoint::Native => {
            let code_url = match params {
                Some(PayParams::WechatNative { code_url }) => code_url,
                Some(PayParams::AlipayQr { qr_code }) => qr_code,
                other => return Err(mismatch(endpoint, other)),
            };
            Ok(json(&answer::native_success(placed, code_url, None)))
        }
        Endpoint::Mobile => {
            let todo_url = match params {
                // Channel-neutral: the checkout page, which pays in whatever app it is opened in
                // (also once a payer has opened it, and a retried request asks again).
                _ if view.order.neutral => &view.checkout_url,
                Some(PayParams::WechatH5 { h5_url }) => h5_url,
                Some(PayParams::AlipayWap { url }) => url,
                other => return Err(mismatch(endpoint, other)),
            };
            Ok(json(&answer::mobile_success(placed, todo_url)))
        }
        Endpoint::Query => Err(mismatch(endpoint, params)),
    }
}

/// The channel gave the order parameters of another method than the one asked for: paygate's
/// fault, never the merchant's.
fn mismatch(endpoint: Endpoint, params: Option<&PayParams>) -> Failure {
    tracing::error!(
        endpoint = endpoint.as_str(),
        params = ?params.map(PayParams::channel),
        "weidoufu: the order's pay parameters do not fit the endpoint"
    );
    Failure::unavailable()
}

/// A service refusal in weidoufu's words.
fn refused(e: &ServiceError, out_order_no: &str) -> Failure {
    match e {
        ServiceError::OutTradeNoConflict => Failure::client(format!(
            "商户订单号 {out_order_no} 已用于内容不同的订单，请更换订单号"
        )),
        ServiceError::PaymentNotConfigured(_) => Failure::client("当前商户未开通该支付方式"),
        ServiceError::UnsignableForAlipay { field } => {
            let field = if *field == "description" {
                "body"
            } else {
                "attach"
            };
            Failure::client(format!("支付宝订单的 {field} 不能包含 & 或 ="))
        }
        ServiceError::SplitExceedsPaid { .. } => {
            Failure::client("分账金额与平台服务费合计超过订单金额")
        }
        ServiceError::UpstreamRefused { code, message, .. } => Failure {
            status: StatusCode::BAD_GATEWAY,
            ..Failure::client(format!("支付通道拒绝：{code} {message}"))
        },
        ServiceError::UpstreamUnknown { .. } => Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..Failure::client("支付通道暂无应答，请用同一订单号重试")
        },
        other => store_trouble(other),
    }
}
