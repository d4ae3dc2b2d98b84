//! The payer's way back to the merchant: `/epay/return/{pid}/{out_trade_no}`, given to the channel
//! and the checkout page as the order's return URL. Once the order is paid it sends the browser to
//! the merchant's `return_url` with the notification's signed query, as the EPay server does; until
//! then, to the checkout page. The signed success query is thus never in a page before the money is
//! there, where a payer could copy it to the merchant's return handler.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Ctx, merchant, message_page};
use crate::domain::{OrderStatus, OutTradeNo, Protocol};
use crate::notify::epay_paid_order;

pub(super) const ROUTE: &str = "/epay/return/{pid}/{out_trade_no}";

/// The return route of the order `out_trade_no` of the merchant `pid`.
pub(super) fn route_of(public_url: &str, pid: i64, out_trade_no: &OutTradeNo) -> String {
    format!("{public_url}/epay/return/{pid}/{}", out_trade_no.as_str())
}

pub(super) async fn return_to_site(
    State(ctx): State<Ctx>,
    Path((pid, out_trade_no)): Path<(String, String)>,
) -> Response {
    let not_found = || message_page(StatusCode::NOT_FOUND, "订单号不存在");
    let (Ok(pid), Ok(no)) = (pid.parse::<i64>(), OutTradeNo::parse(&out_trade_no)) else {
        return not_found();
    };
    let (key, site) = match merchant(&ctx, pid, compat::epay::EpayError::unknown_merchant).await {
        Ok(found) => found,
        Err(failure) => return failure.page(),
    };
    // Read with the channel asked if need be: the payer has just paid, maybe before its callback.
    let view = match ctx.orders.get(&site, &no).await {
        Ok(view) => view,
        Err(_) => return not_found(),
    };
    let order = &view.order;
    let merchant_url = order
        .origin
        .as_ref()
        .filter(|o| o.protocol == Protocol::Epay)
        .and_then(|o| o.get("return_url"));
    let paid = matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded);
    let signed = merchant_url
        .filter(|_| paid)
        .zip(epay_paid_order(order, &key.key_id))
        .and_then(|(url, paid)| compat::epay::return_url(&paid, key.secret.expose(), url).ok());
    match signed {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Redirect::to(&view.checkout_url).into_response(),
    }
}
