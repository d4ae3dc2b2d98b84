//! The general API: orders for every channel and method, with the same signing as seed 000.

use axum::Json;
use axum::extract::{Path, State};

use super::Ctx;
use super::auth::{Signed, SignedCreate};
use super::error::{ApiError, ErrorBody};
use super::request::V1CreateRequest;
use super::views::V1Order;
use crate::domain::{OrderRequest, OrderStatus, OutTradeNo};
use crate::service::OrderView;

/// Creates an order (idempotent: the same request again answers the same order).
#[utoipa::path(
    post, path = "/v1/orders", tag = "v1",
    request_body = V1CreateRequest,
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The order and its pay parameters", body = V1Order),
        (status = 400, description = "A validation code naming the field, or payment_not_configured", body = ErrorBody),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 409, description = "out_trade_no_conflict", body = ErrorBody),
        (status = 502, description = "wechat_create_failed / alipay_create_failed", body = ErrorBody),
        (status = 503, description = "upstream_unavailable: outcome unknown, retry the same request", body = ErrorBody),
    )
)]
pub async fn create(
    State(ctx): State<Ctx>,
    signed: SignedCreate,
) -> Result<Json<V1Order>, ApiError> {
    let view = signed
        .create(&ctx, |body| {
            OrderRequest::try_from(V1CreateRequest::parse(body)?)
        })
        .await?;
    answer(&ctx, view).await
}

/// One of the site's orders. An order whose upstream answer was lost is resolved first.
#[utoipa::path(
    get, path = "/v1/orders/{out_trade_no}", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The order, with its refunds", body = V1Order),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "order_not_found (also for another site's order)", body = ErrorBody),
    )
)]
pub async fn get(
    State(ctx): State<Ctx>,
    Path(out_trade_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Order>, ApiError> {
    let no = order_no(&out_trade_no)?;
    let view = ctx.orders.get(&signed.site, &no).await?;
    answer(&ctx, view).await
}

/// Closes one of the site's orders, upstream first; closing a closed order answers it again.
#[utoipa::path(
    post, path = "/v1/orders/{out_trade_no}/close", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The closed order", body = V1Order),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "order_not_found (also for another site's order)", body = ErrorBody),
        (status = 409, description = "order_paid, order_not_closable", body = ErrorBody),
        (status = 502, description = "wechat_close_failed / alipay_close_failed", body = ErrorBody),
        (status = 503, description = "upstream_unavailable", body = ErrorBody),
    )
)]
pub async fn close(
    State(ctx): State<Ctx>,
    Path(out_trade_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Order>, ApiError> {
    let no = order_no(&out_trade_no)?;
    let view = ctx.orders.close(&signed.site, &no).await?;
    answer(&ctx, view).await
}

/// The order with its refunds. Only a paid order can have any (a refunded one was paid), so the
/// others are answered without reading the refunds.
async fn answer(ctx: &Ctx, view: OrderView) -> Result<Json<V1Order>, ApiError> {
    let refunds = match view.order.status {
        OrderStatus::Paid | OrderStatus::Refunded => ctx.orders.refunds_of(&view.order).await?,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed | OrderStatus::Closed => {
            Vec::new()
        }
    };
    Ok(Json(V1Order::new(view, &refunds)))
}

/// A number that cannot be an out_trade_no cannot name an order: 404, as for an unknown one.
pub(super) fn order_no(s: &str) -> Result<OutTradeNo, ApiError> {
    OutTradeNo::parse(s).map_err(|_| ApiError::Service(crate::service::ServiceError::NotFound))
}
