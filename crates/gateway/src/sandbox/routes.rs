//! The sandbox's own routes, mounted only in sandbox mode:
//!
//! - `POST /sandbox/pay?token=ck_…`: the payer pays the order with this checkout token, through
//!   the simulator's control API, so the channel's callback then flows as from the real channel.
//!   Asked by the checkout page's "simulate payment" form without JavaScript (`Accept: text/html`),
//!   it answers `303 See Other` back to the checkout page (`?lang=` kept), which then shows the
//!   status paygate records; otherwise JSON.
//!   A combined order's token pays the whole combined order (its page's button), and answers
//!   `303` back to that page.
//! - `GET /sandbox/info`: where the simulator is and which merchant paygate uses there, for tests
//!   and for poking at the simulator's control API by hand.
//!
//! Errors have the merchant API's shape (`{"error", "message"}`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sandbox;
use crate::domain::{Channel, CheckoutToken, Order, PayMethod};
use crate::service::{CombineError, OrderService, ServiceError};

struct Ctx {
    orders: OrderService,
    sim_url: String,
    wechat_mchid: String,
    alipay_app_id: String,
    http: reqwest::Client,
}

/// The sandbox routes, ready to merge into the API router.
pub fn routes(sandbox: &Sandbox, orders: OrderService) -> Router {
    // Loopback to our own simulator: never through a proxy from the environment.
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        orders,
        sim_url: sandbox.sim_url().to_owned(),
        wechat_mchid: sandbox.wechat_mchid.clone(),
        alipay_app_id: sandbox.alipay_app_id.clone(),
        http,
    });
    Router::new()
        .route("/sandbox/pay", post(pay))
        .route("/sandbox/info", get(info))
        .with_state(ctx)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

async fn info(State(ctx): State<Arc<Ctx>>) -> Json<Value> {
    Json(json!({
        "sandbox": true,
        "sim_url": ctx.sim_url,
        "wechat_mchid": ctx.wechat_mchid,
        "alipay_app_id": ctx.alipay_app_id,
    }))
}

#[derive(Deserialize)]
struct PayQuery {
    token: Option<String>,
    lang: Option<String>,
    /// For a channel-neutral order: which of its upstream orders (`wechat.native`…); the first
    /// one made when absent.
    method: Option<String>,
}

async fn pay(
    State(ctx): State<Arc<Ctx>>,
    Query(q): Query<PayQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_fields",
            "token is required",
        );
    };
    // A malformed token cannot name an order: the same 404 as an unknown one.
    let order = match CheckoutToken::parse(&token) {
        Ok(token) => ctx.orders.order_by_token(&token).await,
        Err(_) => Err(ServiceError::NotFound),
    };
    let order = match order {
        Ok(order) => order,
        Err(ServiceError::NotFound) => {
            return pay_combined(&ctx, &token, &headers, q.lang.as_deref()).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "sandbox pay: order lookup failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error",
            );
        }
    };
    let order = if order.is_unbound() {
        match through_attempt(&ctx, &order, q.method.as_deref()).await {
            Ok(view) => view,
            Err(answer) => return answer,
        }
    } else {
        order
    };
    let answer = pay_in_sim(&ctx, &order).await;
    if answer.status().is_success() && wants_html(&headers) {
        return back_to_checkout(&order, q.lang.as_deref());
    }
    answer
}

/// A channel-neutral order seen through its upstream order of `method` (or its first).
async fn through_attempt(
    ctx: &Ctx,
    order: &Order,
    method: Option<&str>,
) -> Result<Order, Response> {
    let wanted = match method.map(PayMethod::parse_dotted).transpose() {
        Ok(wanted) => wanted,
        Err(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_method",
                "method is not a channel.method",
            ));
        }
    };
    let views = ctx.orders.open_attempts(order).await.map_err(|e| {
        tracing::error!(error = %e, "sandbox pay: attempt lookup failed");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    })?;
    views
        .into_iter()
        .find(|v| wanted.is_none_or(|m| v.pay_method == m))
        .ok_or_else(|| {
            error(
                StatusCode::CONFLICT,
                "sandbox_pay_failed",
                "the payer has not opened this order in that app yet: open its checkout page first",
            )
        })
}

/// A browser's form post asks for a page, a script's `fetch` for data.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `303 See Other` to the order's checkout page, in the language it was asked in.
fn back_to_checkout(order: &Order, lang: Option<&str>) -> Response {
    see_other(&format!(
        "/checkout/{}{}",
        order.checkout_token.as_str(),
        lang_query(lang)
    ))
}

/// `?lang=…` for a language the page has, else nothing.
fn lang_query(lang: Option<&str>) -> String {
    lang.and_then(crate::checkout::Lang::from_tag)
        .map_or_else(String::new, |l| format!("?lang={}", l.param()))
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        ),
    }
}

/// Asks the simulator to pay the order as its payer would, and relays what it said.
async fn pay_in_sim(ctx: &Ctx, order: &Order) -> Response {
    let channel = order.pay_method.channel();
    let upstream_no = order.upstream_order_no.as_str();
    let url = match channel {
        // A sub-merchant's order is the service provider's (the sandbox merchant) for that
        // sub-merchant.
        Channel::Wechat => match &order.sub_merchant {
            None => format!(
                "{}/sim/wechat/orders/{upstream_no}/pay?mchid={}",
                ctx.sim_url, ctx.wechat_mchid
            ),
            Some(sub) => format!(
                "{}/sim/wechat/orders/{upstream_no}/pay?mchid={}&sub_mchid={}",
                ctx.sim_url, ctx.wechat_mchid, sub.sub_mchid
            ),
        },
        // A merchant's trade, made with its token, is that merchant's in the simulator.
        Channel::Alipay => match &order.alipay_seller_id {
            None => format!(
                "{}/sim/alipay/trades/{upstream_no}/pay?app_id={}",
                ctx.sim_url, ctx.alipay_app_id
            ),
            Some(seller) => format!(
                "{}/sim/alipay/trades/{upstream_no}/pay?app_id={}&merchant_id={seller}",
                ctx.sim_url, ctx.alipay_app_id
            ),
        },
    };
    let body = match ask_sim(ctx, &url).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    Json(json!({
        "paid": true,
        "channel": channel.as_str(),
        "out_trade_no": order.out_trade_no.as_str(),
        "upstream_order_no": upstream_no,
        "simulator": body,
    }))
    .into_response()
}

/// Asks the simulator's control API to pay (`POST url`): what it answered, or the answer for
/// the caller when it refused or could not be reached.
async fn ask_sim(ctx: &Ctx, url: &str) -> Result<Value, Response> {
    let answer = match ctx.http.post(url).send().await {
        Ok(r) => (r.status(), r.text().await.unwrap_or_default()),
        Err(e) => {
            return Err(error(
                StatusCode::BAD_GATEWAY,
                "sandbox_pay_failed",
                format!("simulator unreachable: {}", e.without_url()),
            ));
        }
    };
    let (status, text) = answer;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        // Typically: the order never reached the channel (still `created`), or is already paid.
        return Err((
            StatusCode::CONFLICT,
            Json(json!({
                "error": "sandbox_pay_failed",
                "message": format!("the simulator refused to pay this order (HTTP {})", status.as_u16()),
                "simulator": body,
            })),
        )
            .into_response());
    }
    Ok(body)
}

/// The payer pays the combined order whose page has this token (its page's "simulate payment"):
/// one payment for every sub-order, as the simulator's combined callback then tells paygate.
async fn pay_combined(ctx: &Ctx, token: &str, headers: &HeaderMap, lang: Option<&str>) -> Response {
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "order_not_found",
            "no order has this checkout token",
        )
    };
    let Ok(token) = CheckoutToken::parse(token) else {
        return not_found();
    };
    let combined = match ctx.orders.combined_state_by_token(&token).await {
        Ok((combined, _)) => combined,
        Err(CombineError::NotFound) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "sandbox pay: combined order lookup failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error",
            );
        }
    };
    let url = format!(
        "{}/sim/wechat/combine/{}/pay?mchid={}",
        ctx.sim_url,
        combined.upstream_no.as_str(),
        ctx.wechat_mchid
    );
    let body = match ask_sim(ctx, &url).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    if wants_html(headers) {
        return see_other(&format!(
            "/combined-checkout/{}{}",
            token.as_str(),
            lang_query(lang)
        ));
    }
    Json(json!({
        "paid": true,
        "channel": "wechat",
        "combine_out_trade_no": combined.combine_out_trade_no.as_str(),
        "upstream_order_no": combined.upstream_no.as_str(),
        "simulator": body,
    }))
    .into_response()
}
