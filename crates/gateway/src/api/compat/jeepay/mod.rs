//! Jeepay on paygate: `/api/pay/unifiedOrder`, `/api/pay/query`, `/api/pay/close`,
//! `/api/refund/refundOrder` and `/api/refund/query`, each a POST of JSON or of a form, signed with
//! the app's secret (`compat::jeepay`) and answered `{code,msg,data,sign}` with `data` signed.
//!
//! A site's Jeepay key names its `mchNo` (`key_id`) and `appId`: a request must name both, and only
//! orders the site made through Jeepay are found through it.

mod params;
mod pay;
mod pay_data;
mod query;
mod refund;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use compat::jeepay::{AnswerData, Head, JeepayError, Unverified, Verified, fail, ok_with_sign};

use super::Ctx;
use crate::api::rate_limit::CredentialsRefused;
use crate::domain::{
    CompatKey, Order, OutTradeNo, Protocol, Site, SiteStatus, compat_trade_no,
    order_of_compat_trade_no,
};
use crate::service::{OrderView, ServiceError};

pub(super) fn routes() -> Router<Ctx> {
    Router::new()
        .route("/api/pay/unifiedOrder", post(pay::unified_order))
        .route("/api/pay/query", post(query::pay_query))
        .route("/api/pay/close", post(query::pay_close))
        .route("/api/refund/refundOrder", post(refund::refund_order))
        .route("/api/refund/query", post(refund::refund_query))
}

/// A Jeepay refusal and the HTTP status it goes with: 200 for the merchant's mistakes, as Jeepay
/// answers them (its clients read `code`, not the status); 503 for paygate's own trouble.
#[derive(Debug)]
struct Failure {
    error: JeepayError,
    status: StatusCode,
    /// It refuses the request's credentials: the per-client limit on failures counts it.
    credentials: bool,
}

impl Failure {
    fn business(msg: impl Into<String>) -> Self {
        JeepayError::Business(msg.into()).into()
    }

    /// paygate's own trouble: nothing the merchant did, worth a retry.
    fn unavailable() -> Self {
        Self {
            error: JeepayError::System("系统繁忙，请稍后重试".to_owned()),
            status: StatusCode::SERVICE_UNAVAILABLE,
            credentials: false,
        }
    }

    /// The channel did not answer clearly: the same request may be sent again.
    fn channel_unclear(msg: &str) -> Self {
        Self {
            error: JeepayError::Business(msg.to_owned()),
            status: StatusCode::SERVICE_UNAVAILABLE,
            credentials: false,
        }
    }
}

impl From<JeepayError> for Failure {
    fn from(error: JeepayError) -> Self {
        Self {
            credentials: matches!(error, JeepayError::Signature),
            error,
            status: StatusCode::OK,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(fail(&self.error))).into_response();
        if self.credentials {
            response.extensions_mut().insert(CredentialsRefused);
        }
        response
    }
}

/// The channel's refusal (of what `refused` names) or silence, or paygate's own trouble, in
/// Jeepay's words.
fn upstream_or_store(e: &ServiceError, refused: &str, unclear: &str) -> Failure {
    match e {
        ServiceError::UpstreamRefused { code, message, .. } => {
            Failure::business(format!("{refused}：{code} {message}"))
        }
        ServiceError::UpstreamUnknown { .. } => Failure::channel_unclear(unclear),
        other => store_trouble(other),
    }
}

fn store_trouble(e: &ServiceError) -> Failure {
    tracing::error!(error = %e, "jeepay: store error");
    Failure::unavailable()
}

/// A site's verified request, with its Jeepay key and the site.
struct Authorised<T> {
    key: CompatKey,
    site: Site,
    request: Verified<T>,
}

impl<T> Authorised<T> {
    /// A successful answer, `data` signed with the app's secret.
    fn answer(&self, data: &impl AnswerData) -> Response {
        Json(ok_with_sign(data, self.key.secret.expose())).into_response()
    }
}

/// Checks that the request's `mchNo` and `appId` are one site's Jeepay key, that the site is
/// active, and that the request is signed with that key's secret.
///
/// An unknown `mchNo`, another app's `appId` and a disabled site get one and the same answer, so
/// that no one learns which merchant numbers exist without the secret of one.
async fn authorise<T>(ctx: &Ctx, unverified: Unverified<T>) -> Result<Authorised<T>, Failure> {
    let Head { mch_no, app_id, .. } = unverified.head();
    let found = ctx
        .compat
        .lookup(Protocol::Jeepay, mch_no)
        .await
        .map_err(|e| store_trouble(&e))?;
    let (key, site) = found
        .filter(|(key, site)| {
            key.app_id.as_deref() == Some(app_id.as_str()) && site.status == SiteStatus::Active
        })
        .ok_or_else(|| Failure {
            credentials: true,
            ..Failure::business("商户不存在或商户状态不可用")
        })?;
    let request = unverified.verify(key.secret.expose())?;
    Ok(Authorised { key, site, request })
}

/// The site's Jeepay order that `reference` names, read with the channel asked if need be. Orders
/// the site made through its own API or another protocol are not Jeepay's to see.
async fn find_order(
    ctx: &Ctx,
    site: &Site,
    reference: &compat::jeepay::PayOrderRef,
) -> Result<OrderView, Failure> {
    use compat::jeepay::PayOrderRef;
    let not_found = || Failure::business("订单不存在");
    let no = match reference {
        PayOrderRef::MchOrderNo(no) => OutTradeNo::parse(no).ok(),
        PayOrderRef::PayOrderId(id) => match order_of_compat_trade_no(id) {
            Some(order) => ctx
                .orders
                .order_by_id(order)
                .await
                .map_err(|e| store_trouble(&e))?
                .filter(|o| o.site_id == site.id && compat_trade_no(o.id, o.created_at) == *id)
                .map(|o| o.out_trade_no),
            None => None,
        },
    };
    let no = no.ok_or_else(not_found)?;
    let view = match ctx.orders.get(site, &no).await {
        Ok(view) => view,
        Err(ServiceError::NotFound) => return Err(not_found()),
        Err(e) => return Err(store_trouble(&e)),
    };
    if is_jeepays(&view.order) {
        Ok(view)
    } else {
        Err(not_found())
    }
}

fn is_jeepays(order: &Order) -> bool {
    order
        .origin
        .as_ref()
        .is_some_and(|o| o.protocol == Protocol::Jeepay)
}
