//! `/api/pay/query` and `/api/pay/close`: one of the site's Jeepay orders, by `payOrderId` or
//! `mchOrderNo`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use compat::jeepay::{PayClose, PayOrderClosed, PayQuery};

use super::{Ctx, Failure, authorise, find_order, params, store_trouble};
use crate::notify::{jeepay_pay_order, jeepay_state};
use crate::service::ServiceError;

pub(super) async fn pay_query(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    match query(&ctx, &headers, &uri, &body).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

pub(super) async fn pay_close(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    match close(&ctx, &headers, &uri, &body).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn query(
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<Response, Failure> {
    let params = params::read(headers, uri, body)?;
    let authorised = authorise(ctx, PayQuery::parse(&params)?).await?;
    let view = find_order(ctx, &authorised.site, &authorised.request.request.order).await?;
    let order = &view.order;
    let shown = jeepay_pay_order(order, &authorised.key, jeepay_state(order)).ok_or_else(|| {
        tracing::error!(
            order = order.id.as_i64(),
            "jeepay: an order made through Jeepay lacks what its view needs"
        );
        Failure::unavailable()
    })?;
    Ok(authorised.answer(&shown))
}

async fn close(
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<Response, Failure> {
    let params = params::read(headers, uri, body)?;
    let authorised = authorise(ctx, PayClose::parse(&params)?).await?;
    let view = find_order(ctx, &authorised.site, &authorised.request.request.order).await?;
    match ctx
        .orders
        .close(&authorised.site, &view.order.out_trade_no)
        .await
    {
        Ok(_) => Ok(authorised.answer(&PayOrderClosed)),
        Err(e) => Err(refused(&e)),
    }
}

/// A close refusal in Jeepay's words.
fn refused(e: &ServiceError) -> Failure {
    match e {
        ServiceError::NotFound => Failure::business("订单不存在"),
        ServiceError::AlreadyPaid(_) | ServiceError::NotClosable(_) => {
            Failure::business("当前订单不可关闭")
        }
        ServiceError::NotYetClosable { .. } => {
            Failure::business("支付宝尚未收到该订单，过期前仍可支付，暂不能关闭")
        }
        ServiceError::UpstreamRefused { code, message, .. } => {
            Failure::business(format!("支付通道拒绝关单：{code} {message}"))
        }
        ServiceError::UpstreamUnknown { .. } => {
            Failure::channel_unclear("支付通道暂无应答，请稍后重试")
        }
        other => store_trouble(other),
    }
}
