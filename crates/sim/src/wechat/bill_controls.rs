//! Control routes that make WeChat Pay's records differ from the merchant's, so that reconciling
//! against the bill can be tested (part of the control API: unauthenticated, unsigned):
//!
//! - `POST /sim/wechat/external-trades` `{mchid, sub_mchid?, appid?, out_trade_no, amount,
//!   trade_type?: "NATIVE"|"JSAPI"|"MWEB"|"APP", description?, attach?, openid?, success_time?}`
//!   → the transaction, as a query answers it. Records a payment the merchant never created
//!   through the API (another system sharing the merchant account): paid at `success_time` (RFC
//!   3339, default now), no callback sent. It can be queried and refunded like any order.
//!   `appid` defaults to the merchant's first. 404 for an unknown merchant, 409
//!   `OUT_TRADE_NO_USED` for a number already taken.
//! - `POST /sim/wechat/orders/{out_trade_no}/bill-amount?mchid=…[&sub_mchid=…]` `{amount}` →
//!   `{out_trade_no, total, bill_amount}`. The bill shows `amount` for this order (订单金额,
//!   应结订单金额, its fee, and the fund-flow income) instead of what was ordered and queried;
//!   `{"amount": null}` undoes it.
//! - `POST /sim/wechat/orders/{out_trade_no}/fund-flow-fee?mchid=…[&sub_mchid=…]` `{fee}` →
//!   `{out_trade_no, fee, fund_flow_fee}`. The fund-flow bill takes `fee` fen (0: no fee movement
//!   at all) as this payment's 扣除交易手续费 instead of the fee the trade bill shows (`fee` in the
//!   answer), so the two bills disagree; `{"fee": null}` undoes it.
//!
//! Paying without a callback, even after the merchant closed the order, is
//! `POST /sim/wechat/orders/{out_trade_no}/pay-silently` (see `control`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::crypto::{china_time, now_unix};
use super::error::{ApiError, ApiResult, internal};
use super::payer::transaction_id;
use super::state::{Answer, Order, RequestDigest, TradeState, TradeType, order_key};
use super::transactions::transaction_json;
use super::{Sim, validate};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/sim/wechat/external-trades", post(external_trade))
        .route(
            "/sim/wechat/orders/{out_trade_no}/bill-amount",
            post(bill_amount),
        )
        .route(
            "/sim/wechat/orders/{out_trade_no}/fund-flow-fee",
            post(fund_flow_fee),
        )
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExternalTrade {
    mchid: String,
    sub_mchid: Option<String>,
    appid: Option<String>,
    out_trade_no: String,
    amount: i64,
    trade_type: Option<TradeType>,
    description: Option<String>,
    attach: Option<String>,
    openid: Option<String>,
    success_time: Option<String>,
}

async fn external_trade(State(sim): State<Sim>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let request: Value = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    let t: ExternalTrade = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    validate::out_trade_no(&t.out_trade_no, "out_trade_no")?;
    if t.amount <= 0 {
        return Err(bad("amount must be a positive number of fen"));
    }
    let paid_at = match &t.success_time {
        None => OffsetDateTime::now_utc(),
        Some(text) => {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|e| bad(format!("success_time: {e}")))?
        }
    };
    let now = now_unix();
    let key = order_key(&t.mchid, t.sub_mchid.as_deref(), &t.out_trade_no);
    let order =
        sim.store
            .update(|s| -> ApiResult<Order> {
                let merchant = s
                    .merchants
                    .get(&t.mchid)
                    .ok_or_else(ApiError::mch_not_exists)?;
                let appid = t
                    .appid
                    .clone()
                    .or_else(|| merchant.appids.first().cloned())
                    .unwrap_or_default();
                if s.orders.contains_key(&key) {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "OUT_TRADE_NO_USED",
                        "商户订单号重复",
                    ));
                }
                *s.seq += 1;
                let order = Order {
                    mchid: t.mchid.clone(),
                    sub_mchid: t.sub_mchid.clone(),
                    appid,
                    sub_appid: None,
                    out_trade_no: t.out_trade_no.clone(),
                    transaction_id: Some(transaction_id(*s.seq)),
                    trade_type: t.trade_type.unwrap_or(TradeType::Native),
                    state: TradeState::Success,
                    description: t.description.clone().unwrap_or_default(),
                    attach: t.attach.clone(),
                    // Whoever created it was told, or not, by their own notify URL: nobody here.
                    notify_url: String::new(),
                    total: t.amount,
                    currency: "CNY".into(),
                    time_expire: None,
                    openid: Some(t.openid.clone().unwrap_or_else(|| {
                        format!("oSim{}", channel_core::nonce::alphanumeric(24))
                    })),
                    sub_openid: false,
                    prepay: Answer::none(),
                    prepay_id: None,
                    h5_link: None,
                    request: RequestDigest::of(&request),
                    success_time: Some(china_time(paid_at)),
                    refunded: 0,
                    combine: None,
                    created: now,
                    bill_total: None,
                    fund_flow_fee: None,
                    fee_returned: 0,
                };
                s.orders.insert(key.clone(), order.clone());
                Ok(order)
            })
            .await
            .map_err(internal)??;
    tracing::info!(mchid = %order.mchid, out_trade_no = %order.out_trade_no, "external trade recorded");
    Ok(Json(transaction_json(&order)))
}

#[derive(Debug, Deserialize)]
struct OrderOf {
    mchid: String,
    sub_mchid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BillAmount {
    amount: Option<i64>,
}

async fn bill_amount(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<OrderOf>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let b: BillAmount = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if b.amount.is_some_and(|a| a < 0) {
        return Err(bad("amount must not be negative"));
    }
    let key = order_key(&q.mchid, q.sub_mchid.as_deref(), &no);
    let (total, billed) = sim
        .store
        .update(|s| {
            let order = s
                .orders
                .get_mut(&key)
                .ok_or_else(ApiError::order_not_exist)?;
            order.bill_total = b.amount;
            Ok((order.total, order.billed_total()))
        })
        .await
        .map_err(internal)??;
    Ok(Json(
        json!({ "out_trade_no": no, "total": total, "bill_amount": billed }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FundFlowFee {
    fee: Option<i64>,
}

async fn fund_flow_fee(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<OrderOf>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let f: FundFlowFee = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if f.fee.is_some_and(|a| a < 0) {
        return Err(bad("fee must not be negative"));
    }
    let key = order_key(&q.mchid, q.sub_mchid.as_deref(), &no);
    let (charged, taken) = sim
        .store
        .update(|s| {
            let order = s
                .orders
                .get_mut(&key)
                .ok_or_else(ApiError::order_not_exist)?;
            order.fund_flow_fee = f.fee;
            let charged = super::fees::charged(order.billed_total());
            Ok((charged, order.fund_flow_fee.unwrap_or(charged)))
        })
        .await
        .map_err(internal)??;
    Ok(Json(
        json!({ "out_trade_no": no, "fee": charged, "fund_flow_fee": taken }),
    ))
}
