//! The general API: orders for every channel and method, with the same signing as seed 000.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use super::input::Fields;
use super::views::V1Order;
use crate::domain::{
    BuyerId, Channel, DomainError, Method, Openid, OrderRequest, OutTradeNo, PayMethod, Payer,
    parse_client_ip,
};

/// The body of `POST /v1/orders` (documentation of what [`Fields`] reads).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct V1CreateRequest {
    #[schema(example = "order_20240101_001")]
    out_trade_no: String,
    /// `wechat` or `alipay`.
    #[schema(example = "wechat")]
    channel: String,
    /// WeChat: `native`, `jsapi`, `miniapp`, `h5`, `app`. Alipay: `qr`, `jsapi`, `miniapp`, `wap`, `page`, `app`.
    #[schema(example = "native")]
    method: String,
    /// Fen, a positive integer.
    #[schema(example = 2990)]
    amount_total: i64,
    /// CNY only; the default.
    currency: Option<String>,
    /// At most 127 characters.
    #[schema(example = "VIP月卡")]
    description: String,
    /// 1-128 characters without control or format characters, returned in the notification.
    attach: Option<String>,
    /// 1-1440; 15 by default.
    expire_minutes: Option<i64>,
    /// Overrides the site's notification URL for this order.
    notify_url: Option<String>,
    payer: Option<V1Payer>,
}

/// Who pays, as far as the method needs: WeChat `jsapi`/`miniapp` need `openid`, Alipay
/// `jsapi`/`miniapp` need `buyer_id` (or `buyer_open_id`), WeChat `h5` needs `client_ip`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct V1Payer {
    openid: Option<String>,
    buyer_id: Option<String>,
    buyer_open_id: Option<String>,
    client_ip: Option<String>,
}

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
pub async fn create(State(ctx): State<Ctx>, signed: Signed) -> Result<Json<V1Order>, ApiError> {
    let request = v1_request(&signed.body)?;
    let view = ctx.orders.create(&signed.site, request).await?;
    Ok(Json(view.into()))
}

fn v1_request(body: &[u8]) -> Result<OrderRequest, ApiError> {
    let f = Fields::parse(body)?;
    f.require(&[
        "out_trade_no",
        "channel",
        "method",
        "description",
        "amount_total",
    ])?;
    let channel = f
        .str("channel", DomainError::InvalidChannel)?
        .unwrap_or_default();
    let method = f
        .str("method", DomainError::InvalidMethod(String::new()))?
        .unwrap_or_default();
    let pay_method = PayMethod::new(Channel::parse(channel)?, Method::parse(method)?)?;
    let payer = payer(&f, pay_method)?;
    Ok(OrderRequest {
        out_trade_no: f.out_trade_no()?,
        pay_method,
        amount: f.amount()?,
        currency: f.currency()?,
        description: f.description()?,
        attach: f.attach()?,
        notify_url: f.notify_url()?,
        payer,
        expire_minutes: f.expire_minutes()?,
    })
}

/// The payer fields, and the ones the method cannot do without.
fn payer(f: &Fields, method: PayMethod) -> Result<Payer, ApiError> {
    let p = f.object("payer")?;
    let openid = p
        .str("openid", DomainError::Malformed { field: "openid" })?
        .map(Openid::parse)
        .transpose()?;
    let buyer_id = match p.str("buyer_id", DomainError::Malformed { field: "buyer_id" })? {
        Some(s) => Some(BuyerId::parse(s)?),
        // Alipay's newer open_id takes the same place as the classic 2088 user id.
        None => p
            .str(
                "buyer_open_id",
                DomainError::Malformed {
                    field: "buyer_open_id",
                },
            )?
            .map(BuyerId::parse)
            .transpose()?,
    };
    let client_ip = p
        .str("client_ip", DomainError::Malformed { field: "client_ip" })?
        .map(parse_client_ip)
        .transpose()?;
    let needed = match (method.channel(), method.method()) {
        (Channel::Wechat, Method::Jsapi | Method::Miniapp) if openid.is_none() => {
            Some("payer.openid")
        }
        (Channel::Alipay, Method::Jsapi | Method::Miniapp) if buyer_id.is_none() => {
            Some("payer.buyer_id")
        }
        (Channel::Wechat, Method::H5) if client_ip.is_none() => Some("payer.client_ip"),
        _ => None,
    };
    if let Some(field) = needed {
        return Err(ApiError::MissingFields(vec![field]));
    }
    Ok(Payer {
        openid,
        buyer_id,
        client_ip,
    })
}

/// One of the site's orders. An order whose upstream answer was lost is resolved first.
#[utoipa::path(
    get, path = "/v1/orders/{out_trade_no}", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The order", body = V1Order),
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
    Ok(Json(view.into()))
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
    Ok(Json(view.into()))
}

/// A number that cannot be an out_trade_no cannot name an order: 404, as for an unknown one.
pub(super) fn order_no(s: &str) -> Result<OutTradeNo, ApiError> {
    OutTradeNo::parse(s).map_err(|_| ApiError::Service(crate::service::ServiceError::NotFound))
}
