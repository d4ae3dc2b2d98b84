//! Profit sharing (分账) of a site's paid orders: a split asked for
//! (`POST /v1/orders/{out_trade_no}/splits`) and read back (`GET /v1/splits/{out_split_no}`).
//! Both signed, both scoped to the signing site: another site's order or split is not found.

use axum::Json;
use axum::extract::{Path, State};

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use super::split_body::{V1Split, V1SplitRequest};
use super::v1::order_no;
use crate::domain::OutSplitNo;
use crate::service::ServiceError;

/// Splits part of one of the site's paid orders, made with `profit_sharing: true`, to the
/// receivers it names; paygate makes sure the channel knows them (WeChat Pay `receivers/add`,
/// Alipay relation bind) before the split. The amount is reserved against the order before the
/// channel hears of it, together with the order's refunds: splits and refunds never add up to
/// more than was paid, however many are asked for at once. WeChat Pay's ratio limit (30% of the
/// payment for a direct merchant) is checked first too. The answer is the split as it stands:
/// `processing` until the channel says how it ended (poll `GET /v1/splits/{…}` or wait for the
/// `PROFITSHARING.*` notification). The same `out_split_no` with the same content again is the
/// same split, never a second one.
#[utoipa::path(
    post, path = "/v1/orders/{out_trade_no}/splits", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    request_body = V1SplitRequest,
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The split as it stands", body = V1Split),
        (status = 400, description = "A validation code naming the field (missing_fields, invalid_amount, invalid_field), invalid_json, duplicate_key", body = ErrorBody),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "order_not_found (also for another site's order)", body = ErrorBody),
        (status = 409, description = "order_not_splittable, split_exceeds_paid, split_ratio_exceeded, out_split_no_conflict", body = ErrorBody),
        (status = 503, description = "upstream_unavailable: a sub-merchant's ratio could not be read; nothing was stored", body = ErrorBody),
    )
)]
pub async fn create(
    State(ctx): State<Ctx>,
    Path(out_trade_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Split>, ApiError> {
    let no = order_no(&out_trade_no)?;
    let request = V1SplitRequest::parse(&signed.body)?;
    let view = ctx.orders.split(&signed.site, &no, request.into()).await?;
    Ok(Json(view.into()))
}

/// One of the site's splits, as stored: reading it asks the channel nothing (a `processing`
/// split is checked in the background until it ends).
#[utoipa::path(
    get, path = "/v1/splits/{out_split_no}", tag = "v1",
    params(("out_split_no" = String, Path, description = "The site's split number, or paygate's own (`pg-ledger-…`, `pg-fee-…`) of one of its orders")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The split", body = V1Split),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "split_not_found (also for another site's split)", body = ErrorBody),
    )
)]
pub async fn get(
    State(ctx): State<Ctx>,
    Path(out_split_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1Split>, ApiError> {
    // A number that cannot be an out_split_no cannot name a split: 404, as for an unknown one.
    // paygate's own splits of the site's orders (`pg-…`) are the site's to read too.
    let no = OutSplitNo::stored(&out_split_no)
        .map_err(|_| ApiError::Service(ServiceError::SplitNotFound))?;
    let view = ctx.orders.find_split(&signed.site.id, &no).await?;
    Ok(Json(view.into()))
}
