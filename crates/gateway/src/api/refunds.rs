//! Refunds of a site's paid orders: asked for (`POST /v1/orders/{out_trade_no}/refunds`) and read
//! back (`GET /v1/refunds/{out_refund_no}`). Both signed, both scoped to the signing site: another
//! site's order or refund is not found. An order's refunds are also listed in `GET /v1/orders/{…}`.

use axum::Json;
use axum::extract::{Path, State};

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use super::request::V1RefundRequest;
use super::v1::order_no;
use super::views::V1Refund;
use crate::domain::OutRefundNo;
use crate::service::ServiceError;

/// Refunds part or all of one of the site's paid orders. The amount is reserved against the order
/// before the channel hears of it, so the refunds of an order never add up to more than was paid,
/// however many are asked for at once. The answer is the refund as it stands: `processing` until
/// the channel says how it ended (WeChat Pay mostly answers later; poll `GET /v1/refunds/{…}` or
/// wait for the notification). The same `out_refund_no` with the same content again is the same
/// refund, never a second one.
#[utoipa::path(
    post, path = "/v1/orders/{out_trade_no}/refunds", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    request_body = V1RefundRequest,
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The refund as it stands", body = V1Refund),
        (status = 400, description = "A validation code naming the field (invalid_amount, invalid_field, invalid_notify_url, missing_fields), invalid_json, duplicate_key", body = ErrorBody),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "order_not_found (also for another site's order)", body = ErrorBody),
        (status = 409, description = "order_not_refundable, refund_exceeds_paid, out_refund_no_conflict, refund_window_passed", body = ErrorBody),
    )
)]
pub async fn create(
    State(ctx): State<Ctx>,
    Path(out_trade_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Refund>, ApiError> {
    let no = order_no(&out_trade_no)?;
    let request = V1RefundRequest::parse(&signed.body)?;
    let view = ctx.orders.refund(&signed.site, &no, request.into()).await?;
    Ok(Json(view.into()))
}

/// One of the site's refunds, as stored: reading it asks the channel nothing (a `processing` refund
/// is checked in the background until it ends).
#[utoipa::path(
    get, path = "/v1/refunds/{out_refund_no}", tag = "v1",
    params(("out_refund_no" = String, Path, description = "The site's refund number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The refund", body = V1Refund),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "refund_not_found (also for another site's refund)", body = ErrorBody),
    )
)]
pub async fn get(
    State(ctx): State<Ctx>,
    Path(out_refund_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Refund>, ApiError> {
    // A number that cannot be an out_refund_no cannot name a refund: 404, as for an unknown one.
    let no = OutRefundNo::parse(&out_refund_no)
        .map_err(|_| ApiError::Service(ServiceError::RefundNotFound))?;
    let view = ctx.orders.find_refund(&signed.site.id, &no).await?;
    Ok(Json(view.into()))
}
