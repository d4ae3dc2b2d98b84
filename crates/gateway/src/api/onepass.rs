//! Seed 000's merchant API, byte for byte: `POST /pay/wechat/native` (signed) and
//! `GET /pay/wechat/status?token=ck_…` (the token is the credential).

use axum::Json;
use axum::extract::State;
use axum::http::Uri;

use super::Ctx;
use super::auth::SignedCreate;
use super::error::{ApiError, ErrorBody};
use super::request::NativeCreateRequest;
use super::views::{NativeCreated, TokenStatus};
use crate::domain::{CheckoutToken, OrderRequest};

/// Creates a WeChat Native (PC QR code) order.
#[utoipa::path(
    post, path = "/pay/wechat/native", tag = "1Pass",
    request_body = NativeCreateRequest,
    params(
        ("X-1Pass-AK" = String, Header, description = "The site's access key"),
        ("X-1Pass-Ts" = String, Header, description = "Unix seconds; within 300 s of paygate's clock"),
        ("X-1Pass-Nonce" = String, Header, description = "8-128 visible ASCII characters, single use"),
        ("X-1Pass-Sign" = String, Header, description = "base64url (no padding) of HMAC-SHA256(SK, ts\\nnonce\\nMETHOD\\npath\\nhex(sha256(body)))"),
    ),
    responses(
        (status = 200, description = "The order, pending payment", body = NativeCreated),
        (status = 400, description = "missing_fields, invalid_out_trade_no, invalid_amount, invalid_currency, description_too_long, invalid_characters, payment_not_configured, invalid_json, duplicate_key", body = ErrorBody),
        (status = 401, description = "missing_auth_header, invalid_auth_header, unknown_access_key, invalid_signature, stale_timestamp, nonce_reused", body = ErrorBody),
        (status = 409, description = "out_trade_no_conflict", body = ErrorBody),
        (status = 502, description = "wechat_create_failed (the channel's code in `upstream`)", body = ErrorBody),
        (status = 503, description = "upstream_unavailable: outcome unknown, retry the same request", body = ErrorBody),
    )
)]
pub async fn create_native(
    State(ctx): State<Ctx>,
    signed: SignedCreate,
) -> Result<Json<NativeCreated>, ApiError> {
    let view = signed
        .create(&ctx, |body| {
            OrderRequest::try_from(NativeCreateRequest::parse(body)?)
        })
        .await?;
    Ok(Json(view.into()))
}

/// The status of the order a checkout token belongs to. Unsigned: the token is the credential, so
/// the checkout page's browser script can poll it.
#[utoipa::path(
    get, path = "/pay/wechat/status", tag = "1Pass",
    params(("token" = String, Query, description = "The `ck_…` token of the order's checkout_url")),
    responses(
        (status = 200, description = "The order's status", body = TokenStatus),
        (status = 400, description = "missing_fields: no token", body = ErrorBody),
        (status = 404, description = "order_not_found", body = ErrorBody),
    )
)]
pub async fn status(State(ctx): State<Ctx>, uri: Uri) -> Result<Json<TokenStatus>, ApiError> {
    let token = token_of(&uri)?;
    let order = ctx.orders.order_by_token(&token).await?;
    Ok(Json(TokenStatus::from(&order)))
}

/// The `token` query parameter. A malformed token cannot belong to an order: 404, like an unknown one.
pub(super) fn token_of(uri: &Uri) -> Result<CheckoutToken, ApiError> {
    let raw = uri
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(ApiError::MissingFields(vec!["token"]));
    }
    CheckoutToken::parse(&raw)
        .map_err(|_| ApiError::Service(crate::service::ServiceError::NotFound))
}
