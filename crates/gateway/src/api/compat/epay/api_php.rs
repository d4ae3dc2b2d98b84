//! `api.php`: `act=order` (GET) answers an order, `act=refund` (POST) refunds part or all of one.
//! V1 signs neither: the merchant's key comes in the clear and is compared in constant time. Any
//! other `act` is answered as the EPay server answers it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method as HttpMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use compat::epay::{
    EpayError, Fields, OrderAnswer, OrderQuery, OrderRef, RefundAnswer, RefundRequest,
    money_two_decimals,
};

use super::super::form_params;
use super::{Ctx, Failure, merchant, trouble};
use crate::domain::{
    CompatKey, Order, OrderStatus, OutRefundNo, OutTradeNo, Site, compat_trade_no,
    order_of_compat_trade_no,
};
use crate::notify::epay_type_name;
use crate::service::{OrderView, ServiceError};

pub(super) async fn api(
    State(ctx): State<Ctx>,
    method: HttpMethod,
    uri: Uri,
    body: Bytes,
) -> Response {
    let query = Fields::from_params(&form_params(&uri, &body, false));
    let answered = match (query.value("act"), method) {
        (Some("order"), _) => order(&ctx, &query).await,
        (Some("refund"), HttpMethod::POST) => {
            refund(&ctx, &Fields::from_params(&form_params(&uri, &body, true))).await
        }
        (Some("refund"), _) => Err(EpayError::new(-5, "Request method error").into()),
        _ => Err(EpayError::new(-5, "No Act!").into()),
    };
    match answered {
        Ok(json) => axum::Json(json).into_response(),
        Err(failure) => failure.json(),
    }
}

/// The merchant and its keys, when `key` is its EPay key.
async fn authorised(ctx: &Ctx, pid: i64, key: &str) -> Result<(CompatKey, Site), Failure> {
    let (keys, site) = merchant(ctx, pid, EpayError::unknown_merchant).await?;
    if !compat::same_text(key, keys.secret.expose()) {
        return Err(Failure::credentials(EpayError::wrong_key()));
    }
    Ok((keys, site))
}

/// The site's order that `reference` names, read with the channel asked if need be.
async fn find(ctx: &Ctx, site: &Site, reference: &OrderRef) -> Result<OrderView, Failure> {
    let no = match reference {
        OrderRef::OutTradeNo(no) => OutTradeNo::parse(no).ok(),
        OrderRef::TradeNo(no) => match order_of_compat_trade_no(no) {
            Some(id) => ctx
                .orders
                .order_by_id(id)
                .await
                .map_err(|e| trouble(&e))?
                .filter(|o| o.site_id == site.id && compat_trade_no(o.id, o.created_at) == *no)
                .map(|o| o.out_trade_no),
            None => None,
        },
    };
    let not_found = || Failure::client(EpayError::order_not_found());
    let no = no.ok_or_else(not_found)?;
    match ctx.orders.get(site, &no).await {
        Ok(view) => Ok(view),
        Err(ServiceError::NotFound) => Err(not_found()),
        Err(e) => Err(trouble(&e)),
    }
}

fn is_paid(order: &Order) -> bool {
    matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded)
}

async fn order(ctx: &Ctx, fields: &Fields) -> Result<serde_json::Value, Failure> {
    let query = OrderQuery::parse(fields)?;
    let (_, site) = authorised(ctx, query.pid, &query.key).await?;
    let view = find(ctx, &site, &query.order).await?;
    let order = &view.order;
    let paid = is_paid(order);
    let channel_no = order
        .upstream
        .transaction_id
        .clone()
        .or_else(|| order.upstream.trade_no.clone());
    Ok(OrderAnswer {
        trade_no: compat_trade_no(order.id, order.created_at),
        out_trade_no: order.out_trade_no.as_str().to_owned(),
        api_trade_no: channel_no.filter(|_| paid),
        type_name: (paid || !order.neutral)
            .then(|| epay_type_name(order.pay_method.channel()).to_owned()),
        pid: query.pid,
        addtime: order.created_at.to_china_time(),
        endtime: order.paid_at.map(|at| at.to_china_time()),
        name: order.description.as_str().to_owned(),
        money_fen: order.amount.as_i64(),
        param: order.attach.as_ref().map(|a| a.as_str().to_owned()),
        buyer: None,
        paid,
        payurl: None,
    }
    .to_json())
}

async fn refund(ctx: &Ctx, fields: &Fields) -> Result<serde_json::Value, Failure> {
    let pid = fields
        .pid()
        .map_err(|_| Failure::client(EpayError::unknown_merchant()))?;
    let key = fields.value("key").unwrap_or_default();
    let (_, site) = authorised(ctx, pid, key).await?;
    let request = RefundRequest::parse(fields)?;
    let view = find(ctx, &site, &request.order)
        .await
        .map_err(|f| match f.status {
            StatusCode::BAD_REQUEST => Failure::client(EpayError::invalid("当前订单不存在！")),
            _ => f,
        })?;
    let out_refund_no = match &request.out_refund_no {
        Some(no) => OutRefundNo::parse(no).map_err(|_| {
            Failure::client(EpayError::invalid("退款单号(out_refund_no)格式不正确"))
        })?,
        // Without a number of the merchant's, each call is a refund of its own, as with the EPay
        // server (the refunds of an order still never exceed what was paid).
        None => OutRefundNo::parse(&format!("epay{}", channel_core::nonce::alphanumeric(28)))
            .map_err(|_| Failure::unavailable())?,
    };
    let amount = crate::domain::Amount::parse(request.money_fen)
        .map_err(|_| Failure::client(EpayError::invalid("金额输入错误")))?;
    let refund = crate::domain::RefundRequest {
        out_refund_no,
        amount,
        reason: None,
        notify_url: None,
    };
    let done = ctx
        .orders
        .refund(&site, &view.order.out_trade_no, refund)
        .await
        .map_err(|e| refused(&e))?;
    if done.refund.status == crate::domain::RefundStatus::Failed {
        return Err(Failure::answered(
            EpayError::channel("退款失败"),
            StatusCode::BAD_GATEWAY,
        ));
    }
    Ok(RefundAnswer {
        trade_no: compat_trade_no(view.order.id, view.order.created_at),
        out_refund_no: done.refund.out_refund_no.as_str().to_owned(),
        money_fen: done.refund.amount.as_i64(),
    }
    .to_json())
}

/// A refund refusal in EPay's words.
fn refused(e: &ServiceError) -> Failure {
    let client = |msg: String| Failure::client(EpayError::invalid(msg));
    match e {
        ServiceError::NotRefundable(_) => client("订单未支付，无法退款".to_owned()),
        ServiceError::RefundExceedsPaid { refundable } => client(format!(
            "退款金额超出可退金额，最多可退￥{}",
            money_two_decimals(*refundable)
        )),
        ServiceError::OutRefundNoConflict => {
            client("退款单号(out_refund_no)已被另一笔退款使用".to_owned())
        }
        ServiceError::RefundWindowPassed { .. } => client("订单已超过可退款期限".to_owned()),
        ServiceError::UpstreamRefused { code, message, .. } => Failure::answered(
            EpayError::channel(format!("支付通道拒绝退款：{code} {message}")),
            StatusCode::BAD_GATEWAY,
        ),
        ServiceError::UpstreamUnknown { .. } => Failure::answered(
            EpayError::channel("支付通道暂无应答，请稍后查询"),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        other => trouble(other),
    }
}
