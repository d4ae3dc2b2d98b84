//! The hosted checkout page over HTTP: `GET /checkout/{token}`, and seed 000's
//! `GET /pay/{wechat,alipay}/checkout?token=ck_…` (the same page). The page itself is
//! `crate::checkout`. Every answer is HTML with the page's security headers, errors included: a
//! payer's browser never sees JSON or a cause from here.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::Ctx;
use crate::checkout::{
    Agent, Checkout, CheckoutPage, ErrorPage, Lang, PayChoice, security_headers,
};
use crate::domain::{Channel, CheckoutToken, Method, Order, Payer, Timestamp};
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
    let mut agent = Agent::of(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    // Back from Alipay's cashier, which appends its `alipay.trade.….return` parameters to the
    // return URL: the payer has just paid there, and the payment may not be recorded yet. Sent
    // on to Alipay again, the paid trade would only get Alipay's error page; the page waits for
    // paygate's record instead (and shows the choices, should the payer not have paid after all).
    if agent == Agent::AlipayApp && is_alipay_return(uri) {
        agent = Agent::PhoneBrowser;
    }
    let page = Page {
        lang,
        lang_in_url,
        path,
    };
    let answer = match render(ctx, token, &page, agent).await {
        Ok(Rendered::Html(html)) => (StatusCode::OK, html),
        Ok(Rendered::Redirect(location)) => return redirect(&location),
        Err(failure) => failure.page(lang),
    };
    (answer.0, security_headers(sandbox), Html(answer.1)).into_response()
}

/// How the page was asked for.
pub(super) struct Page<'a> {
    pub lang: Lang,
    pub lang_in_url: bool,
    pub path: &'a str,
}

/// A page, or where the payer's browser goes instead.
pub(super) enum Rendered {
    Html(String),
    Redirect(String),
}

/// `302 Found` to `location`, with the page's headers (no referrer, no cache).
pub(super) fn redirect(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            security_headers(false),
            [(header::LOCATION, value)],
        )
            .into_response(),
        Err(_) => {
            tracing::error!("checkout: a redirect target is not a header value");
            let (status, html) = Failure::Internal.page(Lang::Zh);
            (status, security_headers(false), Html(html)).into_response()
        }
    }
}

/// Why there is no page.
pub(super) enum Failure {
    /// No order has the token, or it is no token at all: the same answer, so that nothing tells
    /// a guesser which.
    NotFound,
    /// The payer's app did not authorise the page (WeChat web authorisation failed).
    NotAuthorised,
    /// The order can no longer be paid (an app's route asked after it was paid or closed).
    NotPayable,
    /// The channel would not take the payment now.
    Channel,
    /// paygate failed; the cause is logged.
    Internal,
}

impl Failure {
    pub(super) fn page(&self, lang: Lang) -> (StatusCode, String) {
        let (status, page) = match self {
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorPage::not_found(lang)),
            Self::NotAuthorised => (StatusCode::FORBIDDEN, ErrorPage::wechat_auth(lang)),
            Self::NotPayable => (StatusCode::CONFLICT, ErrorPage::not_payable(lang)),
            Self::Channel => (StatusCode::BAD_GATEWAY, ErrorPage::channel(lang)),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, ErrorPage::internal(lang)),
        };
        error_page(status, &page)
    }

    /// The service's error, for the payer (logged when it is paygate's or the channel's).
    pub(super) fn of(e: &ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::NotPayable(_) => Self::NotPayable,
            ServiceError::UpstreamRefused { .. }
            | ServiceError::UpstreamUnknown { .. }
            | ServiceError::PaymentNotConfigured(_) => {
                tracing::warn!(error = %e, "checkout: the channel did not take the payment");
                Self::Channel
            }
            e => {
                tracing::error!(error = %e, "checkout: cannot serve the order");
                Self::Internal
            }
        }
    }
}

/// The order a token names, as stored.
pub(super) async fn order_of(ctx: &Ctx, token: Option<&str>) -> Result<Order, Failure> {
    let token = token
        .and_then(|t| CheckoutToken::parse(t).ok())
        .ok_or(Failure::NotFound)?;
    ctx.orders
        .order_by_token(&token)
        .await
        .map_err(|e| Failure::of(&e))
}

async fn render(
    ctx: &Ctx,
    token: Option<String>,
    page: &Page<'_>,
    agent: Agent,
) -> Result<Rendered, Failure> {
    let order = order_of(ctx, token.as_deref()).await?;
    if !order.awaits_payer(Timestamp::now()) {
        let view = ctx
            .orders
            .by_token(&order.checkout_token)
            .await
            .map_err(|e| Failure::of(&e))?;
        let choices = view
            .pay_params
            .iter()
            .map(|params| PayChoice::Params {
                params,
                method: None,
            })
            .collect();
        return render_page(ctx, &view.order, choices, page)
            .await
            .map(Rendered::Html);
    }
    // A channel-neutral order: the payer's app decides how it pays.
    let site = ctx
        .sites
        .by_id(&order.site_id)
        .await
        .map_err(|e| Failure::of(&e))?;
    let methods = site.map_or_else(Vec::new, |s| ctx.orders.neutral_methods(&s));
    let offers =
        |c: Channel, m: Method| methods.iter().any(|x| x.channel() == c && x.method() == m);
    let token = order.checkout_token.as_str();
    let app_route = |app: &str| format!("/checkout/{token}/{app}{}", lang_query(page));
    match agent {
        Agent::WechatApp if offers(Channel::Wechat, Method::Jsapi) => {
            if let Some(oauth) = ctx.orders.wechat_oauth() {
                let back = format!("{}/pay/wechat/jsapi?token={token}", ctx.settings.public_url);
                return Ok(Rendered::Redirect(oauth.authorize_url(&back, "paygate")));
            }
        }
        Agent::AlipayApp if offers(Channel::Alipay, Method::Wap) => {
            return Ok(Rendered::Redirect(app_route("alipay")));
        }
        _ => {}
    }
    let phone = matches!(
        agent,
        Agent::PhoneBrowser | Agent::WechatApp | Agent::AlipayApp
    );
    if phone {
        let mut choices = Vec::new();
        if offers(Channel::Wechat, Method::H5) {
            choices.push(PayChoice::App {
                channel: Channel::Wechat,
                href: app_route("wechat-h5"),
            });
        }
        if offers(Channel::Alipay, Method::Wap) {
            choices.push(PayChoice::App {
                channel: Channel::Alipay,
                href: app_route("alipay"),
            });
        }
        if !choices.is_empty() {
            return render_page(ctx, &order, choices, page)
                .await
                .map(Rendered::Html);
        }
    }
    // A desktop (or a phone that can pay by nothing else): a QR code per method, each its own
    // upstream order, made now.
    let mut made = Vec::new();
    for method in methods
        .iter()
        .filter(|m| matches!(m.method(), Method::Native | Method::Qr))
    {
        let params = match ctx.orders.attempt(&order, *method, Payer::default()).await {
            Ok(view) => ctx.orders.pay_params_of(&view).await,
            Err(e) => Err(e),
        };
        match params {
            Ok(params) => made.push((params, *method)),
            // One channel down still leaves the other's code.
            Err(e) => {
                tracing::warn!(order = order.id.as_i64(), method = %method, error = %e, "checkout: no QR code for this method")
            }
        }
    }
    if made.is_empty() {
        return Err(Failure::Channel);
    }
    let choices = made
        .iter()
        .map(|(params, method)| PayChoice::Params {
            params,
            method: Some(*method),
        })
        .collect();
    render_page(ctx, &order, choices, page)
        .await
        .map(Rendered::Html)
}

/// Whether the page was asked for by Alipay's synchronous return (`method=alipay.trade.wap.pay.return`
/// and the like). Not verified: it only keeps the page from sending the payer back to Alipay.
fn is_alipay_return(uri: &Uri) -> bool {
    query_param(uri, "method")
        .is_some_and(|m| m.starts_with("alipay.trade.") && m.ends_with(".return"))
}

/// `?lang=…` when the page was asked for in a language, so that its links keep it.
pub(super) fn lang_query(page: &Page<'_>) -> String {
    if page.lang_in_url {
        format!("?lang={}", page.lang.param())
    } else {
        String::new()
    }
}

/// The checkout page of `order` offering `choices`.
pub(super) async fn render_page(
    ctx: &Ctx,
    order: &Order,
    choices: Vec<PayChoice<'_>>,
    page: &Page<'_>,
) -> Result<String, Failure> {
    let site = ctx
        .sites
        .by_id(&order.site_id)
        .await
        .map_err(|e| Failure::of(&e))?;
    let combined_url = ctx
        .orders
        .combined_checkout_of(order)
        .await
        .map_err(|e| Failure::of(&e))?;
    let html = CheckoutPage::new(&Checkout {
        order,
        choices,
        site_name: site.as_ref().map_or("paygate", |s| s.name.as_str()),
        lang: page.lang,
        lang_in_url: page.lang_in_url,
        path: page.path,
        sandbox: ctx.settings.sandbox,
        now: Timestamp::now(),
        combined_url: combined_url.as_deref(),
    });
    html.render().map_err(|e| {
        tracing::error!(error = %e, "checkout: cannot render the page");
        Failure::Internal
    })
}

pub(super) fn error_page(status: StatusCode, page: &ErrorPage) -> (StatusCode, String) {
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
pub(super) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}
