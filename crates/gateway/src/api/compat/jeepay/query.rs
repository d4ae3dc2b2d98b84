//! `/api/pay/query` and `/api/pay/close`: one of the site's Jeepay orders, by `payOrderId` or
//! `mchOrderNo`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use compat::jeepay::{PayClose, PayOrderClosed, PayQuery};

use super::{Ctx, Failure, authorise, find_order, params, upstream_or_store};
use crate::notify::{jeepay_pay_order, jeepay_state};
use crate::service::ServiceError;

pub(super) async fn pay_query(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let params = params::read(&headers, &uri, &body)?;
    let authorised = authorise(&ctx, PayQuery::parse(&params)?).await?;
    let view = find_order(&ctx, &authorised.site, &authorised.request.request.order).await?;
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

pub(super) async fn pay_close(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let params = params::read(&headers, &uri, &body)?;
    let authorised = authorise(&ctx, PayClose::parse(&params)?).await?;
    let view = find_order(&ctx, &authorised.site, &authorised.request.request.order).await?;
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
        other => upstream_or_store(other, "支付通道拒绝关单", "支付通道暂无应答，请稍后重试"),
    }
}
