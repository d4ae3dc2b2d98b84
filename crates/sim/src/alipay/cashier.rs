//! The cashier: where a browser payment (`wap.pay`, `page.pay`, the app's order string) or a
//! scanned QR code lands. It shows the order and a button that pays as the sandbox buyer, then
//! sends the buyer back to `return_url` with signed parameters, as Alipay's cashier does.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use channel_core::html::escape;

use super::gateway::Call;
use super::notify::{self, Event};
use super::state::{Status, Trade, now_ms};
use super::wire::{Refusal, china_time, sign_text, yuan};
use super::{Sim, trade};

/// Opens (or re-opens) the trade a page method describes and renders its cashier page.
pub(crate) async fn open(sim: &Sim, call: &Call) -> Result<String, Refusal> {
    let product_code = match call.method.as_str() {
        "alipay.trade.wap.pay" => "QUICK_WAP_PAY",
        "alipay.trade.page.pay" => "FAST_INSTANT_TRADE_PAY",
        _ => "QUICK_MSECURITY_PAY",
    };
    let t = trade::open_trade(sim, call, product_code).await?;
    Ok(page(&t))
}

/// `GET /sim/alipay/cashier/{trade_no}`: the page a QR code points at.
pub(crate) async fn show(State(sim): State<Sim>, Path(trade_no): Path<String>) -> Response {
    match find(&sim, &trade_no) {
        Some(t) => Html(page(&t)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(error_page(&Refusal::not_exist())),
        )
            .into_response(),
    }
}

/// `POST /sim/alipay/cashier/{trade_no}/pay`: the sandbox buyer pays.
pub(crate) async fn pay(State(sim): State<Sim>, Path(trade_no): Path<String>) -> Response {
    let Some(t) = find(&sim, &trade_no) else {
        return (
            StatusCode::NOT_FOUND,
            Html(error_page(&Refusal::not_exist())),
        )
            .into_response();
    };
    let paid = match settle(
        &sim,
        &trade::trade_key_of(&t),
        Settle::Pay { buyer_id: None },
    )
    .await
    {
        Ok(t) => t,
        Err(r) => return (StatusCode::CONFLICT, Html(error_page(&r))).into_response(),
    };
    match return_url(&sim, &paid) {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        None => Html(format!(
            "<!doctype html><meta charset=utf-8><title>支付成功</title><h1>支付成功</h1><p>{} ¥{}</p>",
            escape(&paid.subject),
            yuan(paid.total_fen)
        ))
        .into_response(),
    }
}

fn find(sim: &Sim, trade_no: &str) -> Option<Trade> {
    sim.store
        .read(|s| s.trades.values().find(|t| t.trade_no == trade_no).cloned())
}

/// What the control API or the cashier does to a trade.
#[derive(Debug, Clone)]
pub(crate) enum Settle {
    Pay {
        buyer_id: Option<String>,
    },
    /// Closed unpaid: the buyer gave up and the trade timed out.
    Fail,
    /// The refund window ended.
    Finish,
}

/// Moves a trade as the buyer (or time) would, then notifies the merchant.
pub(crate) async fn settle(sim: &Sim, key: &str, what: Settle) -> Result<Trade, Refusal> {
    let now = now_ms();
    let (t, event) = trade::update(sim, |s| {
        let t = s.trades.get_mut(key).ok_or_else(Refusal::not_exist)?;
        t.expire(now);
        let event = match (&what, t.status) {
            (Settle::Pay { buyer_id }, Status::WaitBuyerPay) => {
                t.status = Status::TradeSuccess;
                t.paid_ms = Some(now);
                if t.buyer_id.is_none() && t.buyer_open_id.is_none() {
                    t.buyer_id.clone_from(buyer_id);
                }
                Event::Paid
            }
            (Settle::Fail, Status::WaitBuyerPay) => {
                t.status = Status::TradeClosed;
                t.closed_ms = Some(now);
                Event::Closed
            }
            (Settle::Finish, Status::TradeSuccess) => {
                t.status = Status::TradeFinished;
                Event::Finished
            }
            (_, Status::TradeSuccess | Status::TradeFinished) => {
                return Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"));
            }
            (_, Status::TradeClosed) => {
                return Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"));
            }
            (Settle::Finish, Status::WaitBuyerPay) => {
                return Err(Refusal::business(
                    "ACQ.TRADE_STATUS_ERROR",
                    "交易状态不合法",
                ));
            }
        };
        Ok((t.clone(), event))
    })
    .await?;
    notify::send(sim, &t, event);
    Ok(t)
}

/// The signed synchronous return (`method=alipay.trade.*.pay.return`), signed like notifications.
fn return_url(sim: &Sim, t: &Trade) -> Option<String> {
    let base = t.return_url.clone()?;
    let keys = sim.keys(&t.app_id)?;
    let mut f: Vec<(String, String)> = [
        ("app_id", t.app_id.clone()),
        ("auth_app_id", t.auth_app_id().to_owned()),
        ("charset", "utf-8".to_owned()),
        ("method", format!("{}.return", t.method)),
        ("out_trade_no", t.out_trade_no.clone()),
        ("seller_id", t.seller_id().to_owned()),
        ("sign_type", "RSA2".to_owned()),
        ("timestamp", china_time(now_ms())),
        ("total_amount", yuan(t.total_fen)),
        ("trade_no", t.trade_no.clone()),
        ("version", "1.0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let sign = keys
        .alipay_private
        .sign_base64(sign_text(&f, false).as_bytes());
    f.push(("sign".to_owned(), sign));
    let query = serde_urlencoded::to_string(&f).ok()?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}{query}"))
}

fn page(t: &Trade) -> String {
    let action = match t.status {
        Status::WaitBuyerPay => format!(
            "<form method=post action=\"/sim/alipay/cashier/{no}/pay\"><button type=submit id=pay>确认付款 Pay ¥{amount} (sandbox buyer)</button></form>{quit}",
            no = escape(&t.trade_no),
            amount = yuan(t.total_fen),
            quit = t
                .quit_url
                .as_deref()
                .map(|q| format!("<p><a href=\"{}\">放弃付款</a></p>", escape(q)))
                .unwrap_or_default(),
        ),
        other => format!("<p id=status>{}</p>", other.as_str()),
    };
    format!(
        "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>支付宝收银台 (simulator)</title></head><body>\
         <h1>支付宝 · Alipay sandbox cashier</h1>\
         <p>{subject}</p><p>¥<b id=amount>{amount}</b></p>\
         <p>out_trade_no <code>{out}</code> · trade_no <code>{no}</code> · {product}</p>{action}</body></html>",
        subject = escape(&t.subject),
        amount = yuan(t.total_fen),
        out = escape(&t.out_trade_no),
        no = escape(&t.trade_no),
        product = escape(&t.product_code),
    )
}

pub(crate) fn error_page(r: &Refusal) -> String {
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>错误</title></head><body>\
         <h1>{code} {msg}</h1><p id=sub_code>{sub}</p><p>{sub_msg}</p></body></html>",
        code = r.code,
        msg = r.msg,
        sub = r.sub_code,
        sub_msg = escape(&r.sub_msg),
    )
}
