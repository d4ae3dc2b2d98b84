//! The hosted checkout page over HTTP: `GET /checkout/{token}`, and seed 000's
//! `GET /pay/{wechat,alipay}/checkout?token=ck_…` (the same page). The page itself is
//! `crate::checkout`. Every answer is HTML with the page's security headers, errors included: a
//! payer's browser never sees JSON or a cause from here.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::Ctx;
use crate::checkout::{Checkout, CheckoutPage, ErrorPage, Lang, security_headers};
use crate::domain::{CheckoutToken, Timestamp};
use crate::service::ServiceError;

/// The checkout page of an order (seed 000's `checkout_url`).
#[utoipa::path(
    get, path = "/pay/wechat/checkout", tag = "1Pass",
    params(
        ("token" = String, Query, description = "The `ck_…` token of the order's checkout_url"),
        ("lang" = Option<String>, Query, description = "`en` for English; Chinese otherwise, unless `Accept-Language` prefers English"),
    ),
    responses(
        (status = 200, description = "The checkout page: amount, description, QR code, countdown, live status", content_type = "text/html"),
        (status = 404, description = "An HTML error page: no order has this token", content_type = "text/html"),
    )
)]
pub async fn page(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    let token = query_param(&uri, "token");
    serve(&ctx, &uri, &headers, token, uri.path()).await
}

/// The checkout page of an order, under a path of its own (the same page as `checkout_url`).
#[utoipa::path(
    get, path = "/checkout/{token}", tag = "Checkout",
    params(
        ("token" = String, Path, description = "The `ck_…` token of the order's checkout_url"),
        ("lang" = Option<String>, Query, description = "`en` for English; Chinese otherwise, unless `Accept-Language` prefers English"),
    ),
    responses(
        (status = 200, description = "The checkout page", content_type = "text/html"),
        (status = 404, description = "An HTML error page: no order has this token", content_type = "text/html"),
    )
)]
pub async fn page_by_path(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    // Read from the path by hand rather than with `Path`: its rejection would answer plain text,
    // not the error page.
    let token = uri.path().strip_prefix("/checkout/").map(str::to_owned);
    serve(&ctx, &uri, &headers, token, uri.path()).await
}

async fn serve(
    ctx: &Ctx,
    uri: &Uri,
    headers: &HeaderMap,
    token: Option<String>,
    path: &str,
) -> Response {
    let asked = query_param(uri, "lang");
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(asked.as_deref(), accept);
    let lang_in_url = asked.as_deref().and_then(Lang::from_tag).is_some();
    let sandbox = ctx.settings.sandbox;
    let answer = match render(ctx, token, lang, lang_in_url, path).await {
        Ok(html) => (StatusCode::OK, html),
        Err(Failure::NotFound) => error_page(StatusCode::NOT_FOUND, &ErrorPage::not_found(lang)),
        Err(Failure::Internal) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorPage::internal(lang),
        ),
    };
    (answer.0, security_headers(sandbox), Html(answer.1)).into_response()
}

/// Why there is no page.
enum Failure {
    /// No order has the token, or it is no token at all: the same answer, so that nothing tells
    /// a guesser which.
    NotFound,
    /// paygate failed; the cause is logged.
    Internal,
}

async fn render(
    ctx: &Ctx,
    token: Option<String>,
    lang: Lang,
    lang_in_url: bool,
    path: &str,
) -> Result<String, Failure> {
    let token = token
        .as_deref()
        .and_then(|t| CheckoutToken::parse(t).ok())
        .ok_or(Failure::NotFound)?;
    let view = ctx.orders.by_token(&token).await.map_err(|e| match e {
        ServiceError::NotFound => Failure::NotFound,
        e => {
            tracing::error!(error = %e, "checkout: cannot read the order");
            Failure::Internal
        }
    })?;
    let site = ctx.sites.by_id(&view.order.site_id).await.map_err(|e| {
        tracing::error!(error = %e, "checkout: cannot read the order's site");
        Failure::Internal
    })?;
    let page = CheckoutPage::new(&Checkout {
        order: &view.order,
        pay_params: view.pay_params.as_ref(),
        site_name: site.as_ref().map_or("paygate", |s| s.name.as_str()),
        lang,
        lang_in_url,
        path,
        sandbox: ctx.settings.sandbox,
        now: Timestamp::now(),
    });
    page.render().map_err(|e| {
        tracing::error!(error = %e, "checkout: cannot render the page");
        Failure::Internal
    })
}

fn error_page(status: StatusCode, page: &ErrorPage) -> (StatusCode, String) {
    match page.render() {
        Ok(html) => (status, html),
        Err(e) => {
            tracing::error!(error = %e, "checkout: cannot render the error page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>paygate</title><p data-testid=\"error\">Error</p>"
                    .to_owned(),
            )
        }
    }
}

/// The first value of `name` in the query, if any and not empty.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}
