//! How a channel-neutral order's one link pays in the payer's app, each a route under its checkout
//! page (the page sends the payer here once it knows the app):
//!
//! - `GET /pay/wechat/jsapi?token=…&code=…`: WeChat's web authorisation comes back here (a server
//!   route, so the code is never lost to a page's script), the code becomes the payer's openid,
//!   and the page hands a JSAPI payment to WeChat. One fixed path for every order, because WeChat
//!   Pay only lets JSAPI payments start from pages in a directory the merchant registered
//!   (`{public_url}/pay/wechat/`, where the seed's checkout page also is).
//! - `GET /checkout/{token}/wechat-h5`: a phone browser goes to WeChat's H5 pay page (a fresh
//!   link: they expire after five minutes), which returns to the checkout page.
//! - `GET /checkout/{token}/alipay`: Alipay's WAP cashier, by an auto-submitting form; Alipay
//!   returns the payer to the checkout page.
//!
//! Whatever the app says when it returns, the checkout page shows only what paygate recorded.

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::Ctx;
use super::checkout::{Failure, Page, lang_query, order_of, query_param, redirect, render_page};
use crate::channels::PayParams;
use crate::checkout::{Lang, OnwardPage, PayChoice, security_headers};
use crate::domain::{Channel, Method, Openid, Order, PayMethod, Payer, ReturnUrl, Timestamp};

/// The token (from the path) and language of an app route's request.
struct Asked<'a> {
    token: Option<String>,
    page: Page<'a>,
}

fn asked<'a>(uri: &'a Uri, headers: &HeaderMap, suffix: &str) -> Asked<'a> {
    let token = uri
        .path()
        .strip_prefix("/checkout/")
        .and_then(|rest| rest.strip_suffix(suffix))
        .map(str::to_owned);
    let lang_asked = query_param(uri, "lang");
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Asked {
        token,
        page: Page {
            lang: Lang::negotiate(lang_asked.as_deref(), accept),
            lang_in_url: lang_asked.as_deref().and_then(Lang::from_tag).is_some(),
            path: uri.path(),
        },
    }
}

/// Where the checkout page of `order` is, for the payer to come back to.
fn checkout_page(ctx: &Ctx, order: &Order, page: &Page<'_>) -> String {
    format!(
        "{}/checkout/{}{}",
        ctx.settings.public_url,
        order.checkout_token.as_str(),
        lang_query(page)
    )
}

/// The channel-neutral order `token` names, while it waits for a payment; otherwise the answer:
/// its error page, or back to its checkout page, which shows what became of it.
async fn payable_order(ctx: &Ctx, token: Option<&str>, page: &Page<'_>) -> Result<Order, Response> {
    let order = order_of(ctx, token)
        .await
        .map_err(|f| failed(&f, page.lang))?;
    if !order.awaits_payer(Timestamp::now()) {
        return Err(redirect(&checkout_page(ctx, &order, page)));
    }
    Ok(order)
}

fn method(channel: Channel, method: Method) -> Result<PayMethod, Failure> {
    PayMethod::new(channel, method).map_err(|_| Failure::Internal)
}

fn failed(failure: &Failure, lang: Lang) -> Response {
    let (status, html) = failure.page(lang);
    (status, security_headers(false), Html(html)).into_response()
}

/// Back from WeChat's web authorisation (`snsapi_base`) with `code`: the checkout page of a
/// channel-neutral order inside WeChat, with a JSAPI payment for the payer's openid.
#[utoipa::path(
    get, path = "/pay/wechat/jsapi", tag = "Checkout",
    params(
        ("token" = String, Query, description = "The `ck_…` token of the order's checkout_url"),
        ("code" = String, Query, description = "WeChat's authorisation code, exchanged once for the payer's openid"),
        ("state" = Option<String>, Query, description = "Echoed by WeChat; not used"),
    ),
    responses(
        (status = 200, description = "The checkout page, handing the JSAPI payment to WeChat", content_type = "text/html"),
        (status = 302, description = "The order is no longer waiting for a payment, or the code was already used: back to its checkout page"),
        (status = 403, description = "An HTML error page: WeChat gave no usable openid", content_type = "text/html"),
        (status = 404, description = "An HTML error page: no order has this token", content_type = "text/html"),
    )
)]
pub async fn wechat(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    let mut asked = asked(&uri, &headers, "");
    let lang = asked.page.lang;
    let order = match order_of(&ctx, query_param(&uri, "token").as_deref()).await {
        Ok(order) => order,
        Err(f) => return failed(&f, lang),
    };
    // The page's refresh link goes to the checkout page: this URL's code is spent.
    let refresh = format!("/checkout/{}", order.checkout_token.as_str());
    asked.page.path = &refresh;
    // Nothing to pay: no code is exchanged (each exchange is a call to WeChat with the secret).
    if !order.awaits_payer(Timestamp::now()) {
        return redirect(&checkout_page(&ctx, &order, &asked.page));
    }
    let Some(oauth) = ctx.orders.wechat_oauth() else {
        return failed(&Failure::NotFound, lang);
    };
    // No code: the payer refused, or the page was opened by hand.
    let Some(code) = query_param(&uri, "code") else {
        return failed(&Failure::NotAuthorised, lang);
    };
    let openid = match oauth.openid(&code).await {
        Ok(openid) => openid,
        // Exchanged already, on another node or before a restart: the page asks WeChat for a
        // fresh code.
        Err(e) if e.is_used_code() => {
            return redirect(&checkout_page(&ctx, &order, &asked.page));
        }
        Err(e) => {
            tracing::warn!(order = order.id.as_i64(), error = %e, "checkout: WeChat web authorisation failed");
            return failed(&Failure::NotAuthorised, lang);
        }
    };
    match jsapi_page(&ctx, &order, openid, &asked.page).await {
        Ok(html) => (
            StatusCode::OK,
            security_headers(ctx.settings.sandbox),
            Html(html),
        )
            .into_response(),
        Err(f) => failed(&f, lang),
    }
}

async fn jsapi_page(
    ctx: &Ctx,
    order: &Order,
    openid: Openid,
    page: &Page<'_>,
) -> Result<String, Failure> {
    let payer = Payer {
        openid: Some(openid),
        ..Payer::default()
    };
    let jsapi = method(Channel::Wechat, Method::Jsapi)?;
    let view = ctx
        .orders
        .attempt(order, jsapi, payer)
        .await
        .map_err(|e| Failure::of(&e))?;
    let PayParams::WechatJsapi(params) = ctx
        .orders
        .pay_params_of(&view)
        .await
        .map_err(|e| Failure::of(&e))?
    else {
        return Err(Failure::Internal);
    };
    let params_json = serde_json::to_string(&params).map_err(|_| Failure::Internal)?;
    let choices = vec![PayChoice::Jsapi { params_json }];
    render_page(ctx, order, choices, page).await
}

/// A phone browser's WeChat Pay: on to WeChat's H5 pay page, which comes back to the checkout.
#[utoipa::path(
    get, path = "/checkout/{token}/wechat-h5", tag = "Checkout",
    params(("token" = String, Path, description = "The `ck_…` token of the order's checkout_url")),
    responses(
        (status = 302, description = "To WeChat's H5 pay page (or, for an order no longer waiting for a payment, to its checkout page)"),
        (status = 404, description = "An HTML error page: no order has this token", content_type = "text/html"),
        (status = 502, description = "An HTML error page: WeChat Pay did not take the order", content_type = "text/html"),
    )
)]
pub async fn wechat_h5(
    State(ctx): State<Ctx>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let asked = asked(&uri, &headers, "/wechat-h5");
    let lang = asked.page.lang;
    let order = match payable_order(&ctx, asked.token.as_deref(), &asked.page).await {
        Ok(order) => order,
        Err(answer) => return answer,
    };
    // WeChat checks that the payer's browser is where the order says it is.
    let client_ip = ctx
        .settings
        .http
        .trusted_proxies
        .client(peer.ip(), &headers);
    let payer = Payer {
        client_ip: Some(client_ip),
        ..Payer::default()
    };
    let link = async {
        let h5 = method(Channel::Wechat, Method::H5)?;
        let view = ctx
            .orders
            .attempt(&order, h5, payer)
            .await
            .map_err(|e| Failure::of(&e))?;
        match ctx
            .orders
            .pay_params_of(&view)
            .await
            .map_err(|e| Failure::of(&e))?
        {
            PayParams::WechatH5 { h5_url } => Ok(h5_url),
            _ => Err(Failure::Internal),
        }
    };
    match link.await {
        Ok(h5_url) => {
            let back = checkout_page(&ctx, &order, &asked.page);
            let back: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
            redirect(&format!("{h5_url}&redirect_url={back}"))
        }
        Err(f) => failed(&f, lang),
    }
}

/// Alipay inside Alipay or in a phone browser: on to Alipay's WAP cashier by a form that sends
/// itself (a button without JavaScript).
#[utoipa::path(
    get, path = "/checkout/{token}/alipay", tag = "Checkout",
    params(("token" = String, Path, description = "The `ck_…` token of the order's checkout_url")),
    responses(
        (status = 200, description = "A page posting the signed WAP payment to Alipay", content_type = "text/html"),
        (status = 302, description = "The order is no longer waiting for a payment: to its checkout page"),
        (status = 404, description = "An HTML error page: no order has this token", content_type = "text/html"),
    )
)]
pub async fn alipay(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    let asked = asked(&uri, &headers, "/alipay");
    let lang = asked.page.lang;
    let order = match payable_order(&ctx, asked.token.as_deref(), &asked.page).await {
        Ok(order) => order,
        Err(answer) => return answer,
    };
    let url = async {
        let wap = method(Channel::Alipay, Method::Wap)?;
        let mut view = ctx
            .orders
            .attempt(&order, wap, Payer::default())
            .await
            .map_err(|e| Failure::of(&e))?;
        // Alipay returns the payer to the checkout page, which shows what paygate recorded and
        // then goes on to the site's own return page.
        view.return_url = ReturnUrl::parse(&checkout_page(&ctx, &order, &asked.page)).ok();
        match ctx
            .orders
            .pay_params_of(&view)
            .await
            .map_err(|e| Failure::of(&e))?
        {
            PayParams::AlipayWap { url } => Ok(url),
            _ => Err(Failure::Internal),
        }
    };
    let url = match url.await {
        Ok(url) => url,
        Err(f) => return failed(&f, lang),
    };
    let Some((page, origin)) = OnwardPage::for_url(&url, lang) else {
        return failed(&Failure::Internal, lang);
    };
    let html = match askama::Template::render(&page) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "checkout: cannot render the onward page");
            return failed(&Failure::Internal, lang);
        }
    };
    let mut headers = security_headers(false);
    if let Ok(csp) = HeaderValue::from_str(&crate::checkout::onward_policy(&origin)) {
        headers[0].1 = csp;
    }
    (StatusCode::OK, headers, Html(html)).into_response()
}
