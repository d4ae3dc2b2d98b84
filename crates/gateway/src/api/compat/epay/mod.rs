//! 易支付 (EPay) V1 on paygate: `submit.php` (GET or POST; the payer's browser is sent on to pay),
//! `mapi.php` (POST; JSON with a pay URL or QR code), `api.php?act=order` (query, key in the clear
//! as V1 has it) and `api.php?act=refund` (POST), served at the root and under `/epay/` so an
//! operator can mount them at a site root. The payer comes back through
//! `/epay/return/{pid}/{out_trade_no}`, which sends them on to the merchant's `return_url` with the
//! signed query once the order is paid (and to the checkout page until then), so the signed
//! success query is never shown before the money is there.

mod api_php;
mod back;
mod pay;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use compat::epay::EpayError;

use super::Ctx;
use crate::api::rate_limit::CredentialsRefused;
use crate::domain::{CompatKey, Protocol, Site, SiteStatus};
use crate::service::ServiceError;

pub(super) fn routes() -> Router<Ctx> {
    let mut routes = Router::new();
    for prefix in ["", "/epay"] {
        routes = routes
            .route(
                &format!("{prefix}/submit.php"),
                get(pay::submit).post(pay::submit),
            )
            .route(
                &format!("{prefix}/mapi.php"),
                get(pay::mapi).post(pay::mapi),
            )
            .route(
                &format!("{prefix}/api.php"),
                get(api_php::api).post(api_php::api),
            );
    }
    routes.route(back::ROUTE, get(back::return_to_site))
}

/// An EPay refusal and the HTTP status it is answered with.
#[derive(Debug)]
struct Failure {
    error: EpayError,
    status: StatusCode,
    /// It refuses the request's credentials (an unknown merchant, a bad signature, a wrong key):
    /// the per-client limit on failures counts it.
    credentials: bool,
}

impl Failure {
    /// The merchant's mistake.
    fn client(error: EpayError) -> Self {
        Self {
            error,
            status: StatusCode::BAD_REQUEST,
            credentials: false,
        }
    }

    /// `error`, answered with `status`.
    fn answered(error: EpayError, status: StatusCode) -> Self {
        Self {
            status,
            ..Self::client(error)
        }
    }

    /// The request's credentials do not hold.
    fn credentials(error: EpayError) -> Self {
        Self {
            credentials: true,
            ..Self::client(error)
        }
    }

    /// paygate's own trouble: nothing the merchant did, worth a retry.
    fn unavailable() -> Self {
        Self::answered(
            EpayError::invalid("系统繁忙，请稍后重试"),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    }

    /// As JSON, with its status: what `mapi.php` and `api.php` answer.
    fn json(&self) -> Response {
        self.marked((self.status, axum::Json(self.error.to_json())).into_response())
    }

    /// As the page the payer's browser shows: what `submit.php` answers.
    fn page(&self) -> Response {
        self.marked(message_page(self.status, &self.error.msg))
    }

    fn marked(&self, mut response: Response) -> Response {
        if self.credentials {
            response.extensions_mut().insert(CredentialsRefused);
        }
        response
    }
}

impl From<EpayError> for Failure {
    fn from(error: EpayError) -> Self {
        Self::client(error)
    }
}

/// A page with one message for the payer, as the EPay server shows its errors.
fn message_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>支付提示</title></head><body><main><h1>支付提示</h1><p>{}</p></main></body></html>",
        channel_core::html::escape(message)
    );
    (status, Html(body)).into_response()
}

/// The site `pid` names and its EPay keys, if EPay is on for it.
///
/// # Errors
/// `unknown` when no site has this pid; a disabled site is refused as the EPay server refuses a
/// banned merchant; store trouble is `unavailable`.
async fn merchant(
    ctx: &Ctx,
    pid: i64,
    unknown: fn() -> EpayError,
) -> Result<(CompatKey, Site), Failure> {
    let found = ctx
        .compat
        .lookup(Protocol::Epay, &pid.to_string())
        .await
        .map_err(|e| trouble(&e))?;
    let (key, site) = found.ok_or_else(|| Failure::credentials(unknown()))?;
    if site.status != SiteStatus::Active {
        return Err(Failure::client(EpayError::invalid(
            "商户已被封禁，无法支付！",
        )));
    }
    Ok((key, site))
}

/// What paygate could not do for a reason of its own (the store, an order's unexpected state): the
/// merchant may retry; the reason is logged, never shown.
fn trouble(e: &ServiceError) -> Failure {
    tracing::error!(error = %e, "epay: the request could not be served");
    Failure::unavailable()
}
