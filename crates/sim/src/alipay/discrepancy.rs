//! Test controls that make Alipay's records disagree with what the merchant saw through the API,
//! so that reconciliation against the bill can be tested. None of them sends a notification.
//!
//! - `POST /sim/alipay/trades/{out_trade_no}/pay-silently?app_id=` (optional `buyer_id`): the
//!   buyer pays and the notification is lost. The trade may already be closed unpaid: the
//!   merchant's close lost a race with the payment, so the trade ends paid (a query says
//!   `TRADE_SUCCESS`) and the bill lists it.
//! - `POST /sim/alipay/trades/{out_trade_no}/record?app_id=&amount=12.34` (optional `subject`):
//!   a paid trade the merchant never created through the API (another system on the same app).
//! - `POST /sim/alipay/trades/{out_trade_no}/billed-amount?app_id=&amount=12.34`: the bill shows
//!   this amount (and the fee on it) for the trade's payment instead of the amount ordered.
//! - `POST /sim/alipay/trades/{out_trade_no}/account-fee?app_id=&amount=0.50`: the `signcustomer`
//!   bill charges this fee for the trade's payment (`0` or `0.00`: no fee movement at all) while
//!   the trade bill keeps its own, so the two bills disagree.
//!
//! Each answers the trade as `GET /sim/alipay/trades/{out_trade_no}` does, `404` for an unknown
//! trade or app, `409` when the trade's state does not allow it, `400` for a bad amount.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use channel_core::Fen;
use serde::Deserialize;

use super::Sim;
use super::control::{problem, refusal, trade_json};
use super::state::{Status, Trade, now_ms, trade_key};
use super::trade::{new_trade_no, update};
use super::wire::Refusal;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route(
            "/sim/alipay/trades/{out_trade_no}/pay-silently",
            post(pay_silently),
        )
        .route("/sim/alipay/trades/{out_trade_no}/record", post(record))
        .route(
            "/sim/alipay/trades/{out_trade_no}/billed-amount",
            post(billed_amount),
        )
        .route(
            "/sim/alipay/trades/{out_trade_no}/account-fee",
            post(account_fee),
        )
}

#[derive(Debug, Deserialize)]
struct PayQuery {
    app_id: String,
    /// The authorising merchant's account, for a trade made with its `app_auth_token`.
    merchant_id: Option<String>,
    buyer_id: Option<String>,
}

async fn pay_silently(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<PayQuery>,
) -> Response {
    let key = trade_key(&q.app_id, q.merchant_id.as_deref(), &no);
    let now = now_ms();
    let paid = update(&sim, |s| {
        let t = s.trades.get_mut(&key).ok_or_else(Refusal::not_exist)?;
        t.expire(now);
        match (t.status, t.paid_ms) {
            (Status::WaitBuyerPay, _) | (Status::TradeClosed, None) => {
                t.status = Status::TradeSuccess;
                t.paid_ms = Some(now);
                t.closed_ms = None;
                if t.buyer_id.is_none() && t.buyer_open_id.is_none() {
                    t.buyer_id.clone_from(&q.buyer_id);
                }
                Ok(t.clone())
            }
            (Status::TradeSuccess | Status::TradeFinished, _) => {
                Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"))
            }
            // Closed after being paid: refunded in full.
            (Status::TradeClosed, Some(_)) => {
                Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"))
            }
        }
    })
    .await;
    answer(paid)
}

#[derive(Debug, Deserialize)]
struct RecordQuery {
    app_id: String,
    amount: String,
    subject: Option<String>,
}

async fn record(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<RecordQuery>,
) -> Response {
    let Some(fen) = positive(&q.amount) else {
        return problem(StatusCode::BAD_REQUEST, format!("amount {:?}", q.amount));
    };
    if sim.store.read(|s| !s.apps.contains_key(&q.app_id)) {
        return problem(StatusCode::NOT_FOUND, "unknown app_id");
    }
    // A trade recorded elsewhere is the app's own.
    let key = trade_key(&q.app_id, None, &no);
    let now = now_ms();
    let trade = Trade {
        app_id: q.app_id.clone(),
        merchant: None,
        out_trade_no: no,
        trade_no: new_trade_no(now),
        // Not an OpenAPI method: nothing of this trade went through the simulator's gateway.
        method: "sim.record".to_owned(),
        product_code: "FACE_TO_FACE_PAYMENT".to_owned(),
        total_fen: fen,
        subject: q.subject.unwrap_or_else(|| "recorded elsewhere".to_owned()),
        body: None,
        passback_params: None,
        notify_url: None,
        return_url: None,
        quit_url: None,
        buyer_id: None,
        buyer_open_id: None,
        status: Status::TradeSuccess,
        created_ms: now,
        expires_ms: None,
        paid_ms: Some(now),
        closed_ms: None,
        refunds: Vec::new(),
        billed_fen: None,
        account_fee_fen: None,
        royalty_freeze: false,
        royalty_finished: false,
        settlements: Vec::new(),
    };
    let recorded = update(&sim, |s| {
        if s.trades.get(&key).is_some() {
            return Err(Refusal::business(
                "ACQ.CONTEXT_INCONSISTENT",
                "交易信息被篡改",
            ));
        }
        s.trades.insert(key, trade.clone());
        Ok(trade)
    })
    .await;
    answer(recorded)
}

#[derive(Debug, Deserialize)]
struct AmountQuery {
    app_id: String,
    /// The authorising merchant's account, for a trade made with its `app_auth_token`.
    merchant_id: Option<String>,
    amount: String,
}

async fn billed_amount(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AmountQuery>,
) -> Response {
    let Some(fen) = positive(&q.amount) else {
        return problem(StatusCode::BAD_REQUEST, format!("amount {:?}", q.amount));
    };
    let key = trade_key(&q.app_id, q.merchant_id.as_deref(), &no);
    let changed = update(&sim, |s| {
        let t = s.trades.get_mut(&key).ok_or_else(Refusal::not_exist)?;
        t.billed_fen = Some(fen);
        Ok(t.clone())
    })
    .await;
    answer(changed)
}

async fn account_fee(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AmountQuery>,
) -> Response {
    let Some(fen) = Fen::parse_yuan(&q.amount)
        .ok()
        .map(|f| f.0)
        .filter(|f| *f >= 0)
    else {
        return problem(StatusCode::BAD_REQUEST, format!("amount {:?}", q.amount));
    };
    let key = trade_key(&q.app_id, q.merchant_id.as_deref(), &no);
    let changed = update(&sim, |s| {
        let t = s.trades.get_mut(&key).ok_or_else(Refusal::not_exist)?;
        t.account_fee_fen = Some(fen);
        Ok(t.clone())
    })
    .await;
    answer(changed)
}

fn positive(yuan: &str) -> Option<i64> {
    Fen::parse_yuan(yuan).ok().map(|f| f.0).filter(|f| *f > 0)
}

fn answer(result: Result<Trade, Refusal>) -> Response {
    match result {
        Ok(t) => Json(trade_json(&t)).into_response(),
        Err(r) => refusal(&r),
    }
}
