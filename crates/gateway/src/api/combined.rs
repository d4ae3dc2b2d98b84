//! `POST /v1/combined-orders` and `GET /v1/combined-orders/{combine_out_trade_no}`: a platform
//! site's combined orders (合单, WeChat Pay). The body is parsed here, once; each sub-order is then
//! an ordinary order of its own site, which that site reads and refunds at `/v1/orders`.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use super::input::Fields;
use super::request::V1Payer;
use crate::channels::PayParams;
use crate::domain::{
    Amount, Attach, Channel, CombinedRequest, Currency, Description, DomainError, ExpireMinutes,
    Method, NotifyUrl, OrderRequest, OutTradeNo, PayMethod, Payer, SUB_ORDERS_MAX, SUB_ORDERS_MIN,
    SiteId, SubOrderRequest,
};
use crate::service::{CombineError, CombinedView};

/// The body of `POST /v1/combined-orders`: what is documented is what is parsed.
#[derive(Debug, ToSchema)]
pub struct V1CombinedRequest {
    /// The platform's number for the combined order: 6-64 characters of `[A-Za-z0-9_-]`.
    #[schema(value_type = String, example = "combine_20240101_001")]
    pub combine_out_trade_no: OutTradeNo,
    /// `native`, `jsapi`, `h5` or `app` (WeChat Pay).
    #[schema(value_type = String, example = "native")]
    pub method: PayMethod,
    /// `openid` for `jsapi`, `client_ip` for `h5`.
    #[schema(value_type = Option<V1Payer>)]
    pub payer: Payer,
    /// 1-1440; 15 by default. Every sub-order expires with the combined order.
    #[schema(value_type = Option<i64>)]
    pub expire_minutes: ExpireMinutes,
    /// 2-10 sub-orders, each of the signing site or of a site the operator let it combine for;
    /// no two with the same site and `out_trade_no`; all paid to the operator's WeChat Pay
    /// merchant, or all to sub-merchants it serves.
    pub sub_orders: Vec<V1SubOrderRequest>,
}

/// One sub-order: an order of `site_id`, which that site reads, is notified of and refunds alone.
#[derive(Debug, ToSchema)]
pub struct V1SubOrderRequest {
    #[schema(value_type = String, example = "site_member")]
    pub site_id: SiteId,
    #[schema(value_type = String, example = "order_20240101_001")]
    pub out_trade_no: OutTradeNo,
    /// Fen, a positive integer.
    #[schema(value_type = i64, example = 2990)]
    pub amount_total: Amount,
    /// CNY only; the default.
    #[schema(value_type = Option<String>)]
    pub currency: Currency,
    /// At most 127 characters.
    #[schema(value_type = String, example = "VIP月卡")]
    pub description: Description,
    /// 1-128 characters, returned in the site's notification.
    #[schema(value_type = Option<String>)]
    pub attach: Option<Attach>,
    /// Overrides the sub-order's site's notification URL for this order.
    #[schema(value_type = Option<String>)]
    pub notify_url: Option<NotifyUrl>,
}

impl V1CombinedRequest {
    /// Each field in turn, each sub-order's as `/v1/orders` reads an order's.
    ///
    /// # Errors
    /// The first field refused, or `MissingFields` naming every absent one.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let f = Fields::parse(body)?;
        f.require(&["combine_out_trade_no", "method", "sub_orders"])?;
        let malformed_no = || DomainError::Malformed {
            field: "combine_out_trade_no",
        };
        let combine_out_trade_no = OutTradeNo::parse(
            f.str("combine_out_trade_no", malformed_no())?
                .unwrap_or_default(),
        )
        .map_err(|_| malformed_no())?;
        let method = Method::parse(
            f.str("method", DomainError::InvalidMethod(String::new()))?
                .unwrap_or_default(),
        )?;
        let method = match method {
            Method::Native | Method::Jsapi | Method::H5 | Method::App => {
                PayMethod::new(Channel::Wechat, method)?
            }
            Method::Miniapp | Method::Qr | Method::Wap | Method::Page => {
                return Err(DomainError::InvalidMethod(method.as_str().to_owned()).into());
            }
        };
        let given = V1Payer::parse(&f)?;
        let payer = Payer {
            openid: given.openid,
            buyer_id: None,
            client_ip: given.client_ip,
        };
        let needed = match method.method() {
            Method::Jsapi if payer.openid.is_none() => Some("payer.openid"),
            Method::H5 if payer.client_ip.is_none() => Some("payer.client_ip"),
            _ => None,
        };
        if let Some(field) = needed {
            return Err(ApiError::MissingFields(vec![field]));
        }
        let expire_minutes = f.expire_minutes()?;
        let items = f.objects("sub_orders")?;
        if !(SUB_ORDERS_MIN..=SUB_ORDERS_MAX).contains(&items.len()) {
            return Err(DomainError::Malformed {
                field: "sub_orders",
            }
            .into());
        }
        let mut seen = BTreeSet::new();
        let mut sub_orders = Vec::with_capacity(items.len());
        for item in &items {
            item.require(&["site_id", "out_trade_no", "amount_total", "description"])?;
            let sub = V1SubOrderRequest {
                site_id: SiteId::parse(
                    item.str("site_id", DomainError::Malformed { field: "site_id" })?
                        .unwrap_or_default(),
                )?,
                out_trade_no: item.out_trade_no()?,
                amount_total: item.amount()?,
                currency: item.currency()?,
                description: item.description()?,
                attach: item.attach()?,
                notify_url: item.notify_url()?,
            };
            if !seen.insert((sub.site_id.clone(), sub.out_trade_no.clone())) {
                return Err(DomainError::Malformed {
                    field: "sub_orders",
                }
                .into());
            }
            sub_orders.push(sub);
        }
        Ok(Self {
            combine_out_trade_no,
            method,
            payer,
            expire_minutes,
            sub_orders,
        })
    }
}

impl From<V1CombinedRequest> for CombinedRequest {
    /// Each sub-order is an order request of its site, with the combined order's method, payer
    /// and expiry.
    fn from(r: V1CombinedRequest) -> Self {
        let sub_orders = r
            .sub_orders
            .into_iter()
            .map(|s| SubOrderRequest {
                site_id: s.site_id,
                request: OrderRequest {
                    out_trade_no: s.out_trade_no,
                    pay_method: r.method.into(),
                    amount: s.amount_total,
                    currency: s.currency,
                    description: s.description,
                    attach: s.attach,
                    notify_url: s.notify_url,
                    return_url: None,
                    payer: r.payer.clone(),
                    expire_minutes: r.expire_minutes,
                    // Splits of combined orders are not offered.
                    profit_sharing: false,
                },
            })
            .collect();
        Self {
            combine_out_trade_no: r.combine_out_trade_no,
            pay_method: r.method,
            payer: r.payer,
            expire_minutes: r.expire_minutes,
            sub_orders,
        }
    }
}

/// A combined order as `/v1` shows it to its platform.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1CombinedOrder {
    pub combine_out_trade_no: String,
    #[schema(example = "wechat")]
    pub channel: &'static str,
    #[schema(example = "native")]
    pub method: &'static str,
    /// Fen: the sum of the sub-orders'.
    pub amount_total: i64,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    pub created_at: String,
    pub expires_at: String,
    /// What the payer's side needs while every sub-order is `pending` (as an order's
    /// `pay_params`): one payment for all of them.
    #[schema(value_type = Option<Object>)]
    pub pay_params: Option<PayParams>,
    /// The payer's checkout page of the whole combined order: the total, each sub-order, the way
    /// to pay and the live status. Its `ck_` token is the payer's key: give it to the payer only.
    pub checkout_url: String,
    pub sub_orders: Vec<V1SubOrder>,
}

/// A sub-order as its platform sees it; its site sees it whole at `/v1/orders/{out_trade_no}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1SubOrder {
    pub site_id: String,
    pub out_trade_no: String,
    /// The order's status (`created`, `pending`, `paid`, `closed`, `refunded`, …).
    pub status: &'static str,
    pub amount_total: i64,
    pub description: String,
    /// WeChat Pay's payment id of the sub-order, once paid.
    pub transaction_id: Option<String>,
}

impl From<CombinedView> for V1CombinedOrder {
    fn from(v: CombinedView) -> Self {
        let c = v.combined;
        Self {
            combine_out_trade_no: c.combine_out_trade_no.as_str().to_owned(),
            channel: c.pay_method.channel().as_str(),
            method: c.pay_method.method().as_str(),
            amount_total: c.amount_total,
            currency: "CNY",
            created_at: c.created_at.to_rfc3339(),
            expires_at: c.expires_at.to_rfc3339(),
            pay_params: v.pay_params,
            checkout_url: v.checkout_url,
            sub_orders: v
                .sub_orders
                .into_iter()
                .map(|o| V1SubOrder {
                    site_id: o.site_id.as_str().to_owned(),
                    out_trade_no: o.out_trade_no.as_str().to_owned(),
                    status: o.status.as_str(),
                    amount_total: o.amount.as_i64(),
                    description: o.description.as_str().to_owned(),
                    transaction_id: o.upstream.transaction_id,
                })
                .collect(),
        }
    }
}

/// Makes a combined order for the signing site (idempotent on `combine_out_trade_no`).
#[utoipa::path(
    post, path = "/v1/combined-orders", tag = "v1",
    request_body = V1CombinedRequest,
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The combined order, its sub-orders and the pay parameters", body = V1CombinedOrder),
        (status = 400, description = "A validation code naming the field, payment_not_configured or combine_merchants_mixed", body = ErrorBody),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 403, description = "combine_not_allowed, combine_member_disabled, combine_method_not_enabled", body = ErrorBody),
        (status = 409, description = "combine_out_trade_no_conflict, out_trade_no_conflict (a sub-order's)", body = ErrorBody),
        (status = 502, description = "wechat_create_failed", body = ErrorBody),
        (status = 503, description = "upstream_unavailable: outcome unknown, retry the same request", body = ErrorBody),
    )
)]
pub async fn create(
    State(ctx): State<Ctx>,
    signed: Signed,
) -> Result<Json<V1CombinedOrder>, ApiError> {
    let request = V1CombinedRequest::parse(&signed.body)?.into();
    let view = ctx.orders.create_combined(&signed.site, request).await?;
    Ok(Json(view.into()))
}

/// One of the signing site's combined orders, with its sub-orders as they are now.
#[utoipa::path(
    get, path = "/v1/combined-orders/{combine_out_trade_no}", tag = "v1",
    params(("combine_out_trade_no" = String, Path, description = "The platform's combined order number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The combined order", body = V1CombinedOrder),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "combined_order_not_found (also another site's)", body = ErrorBody),
    )
)]
pub async fn get(
    State(ctx): State<Ctx>,
    Path(no): Path<String>,
    signed: Signed,
) -> Result<Json<V1CombinedOrder>, ApiError> {
    let no = OutTradeNo::parse(&no).map_err(|_| CombineError::NotFound)?;
    let view = ctx.orders.get_combined(&signed.site, &no).await?;
    Ok(Json(view.into()))
}
