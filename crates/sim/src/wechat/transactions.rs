//! Query (by transaction_id or out_trade_no) and close, direct and partner; the transaction object
//! that queries answer and TRANSACTION.SUCCESS carries.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use super::auth::Caller;
use super::crypto::{china_time_unix, now_unix};
use super::error::{ApiError, ApiResult, internal};
use super::orders::order_paid;
use super::scope::{MchQuery, Scope, expire_if_due, scope_from_query};
use super::state::{Order, TradeState, WechatState, order_key};
use super::validate;

/// The transaction object, as the query answers it and TRANSACTION.SUCCESS carries it.
pub fn transaction_json(o: &Order) -> Value {
    let mut v = if let Some(sub) = &o.sub_mchid {
        json!({ "sp_appid": o.appid, "sp_mchid": o.mchid, "sub_mchid": sub })
    } else {
        json!({ "appid": o.appid, "mchid": o.mchid })
    };
    v["out_trade_no"] = json!(o.out_trade_no);
    v["trade_state"] = json!(o.state.code());
    v["trade_state_desc"] = json!(o.state.desc());
    if let Some(sub_appid) = &o.sub_appid {
        v["sub_appid"] = json!(sub_appid);
    }
    if let Some(a) = &o.attach {
        v["attach"] = json!(a);
    }
    let mut amount =
        json!({ "total": o.total, "currency": o.currency, "payer_currency": o.currency });
    if o.state.is_paid() || o.transaction_id.is_some() {
        v["transaction_id"] = json!(o.transaction_id);
        v["trade_type"] = json!(o.trade_type.code());
        v["bank_type"] = json!("OTHERS");
        v["success_time"] = json!(o.success_time);
        amount["payer_total"] = json!(if o.state.is_paid() { o.total } else { 0 });
        if let Some(openid) = &o.openid {
            let field = if o.sub_mchid.is_none() {
                "openid"
            } else if o.sub_openid {
                "sub_openid"
            } else {
                "sp_openid"
            };
            v["payer"] = json!({ field: openid });
        }
    }
    v["amount"] = amount;
    v["promotion_detail"] = json!([]);
    v
}

/// `GET …/transactions/out-trade-no/{out_trade_no}`, under `/v3/pay` (`PARTNER` false) or
/// `/v3/pay/partner` (`PARTNER` true).
pub async fn query_by_no<const PARTNER: bool>(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(no): Path<String>,
    Query(q): Query<MchQuery>,
) -> ApiResult<Json<Value>> {
    let scope = scope_from_query(&sim, &caller, &q, PARTNER)?;
    query(&sim, &scope, Lookup::OutTradeNo(&no)).await.map(Json)
}

/// `GET …/transactions/id/{transaction_id}`, direct or partner as [`query_by_no`].
pub async fn query_by_id<const PARTNER: bool>(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<MchQuery>,
) -> ApiResult<Json<Value>> {
    let scope = scope_from_query(&sim, &caller, &q, PARTNER)?;
    query(&sim, &scope, Lookup::TransactionId(&id))
        .await
        .map(Json)
}

pub enum Lookup<'a> {
    OutTradeNo(&'a str),
    TransactionId(&'a str),
}

/// The key of the order the lookup names within the scope.
pub fn find(s: &WechatState, scope: &Scope, lookup: &Lookup<'_>) -> Option<String> {
    match lookup {
        Lookup::OutTradeNo(no) => {
            let key = order_key(&scope.mchid, scope.sub_mchid.as_deref(), no);
            s.orders.contains_key(&key).then_some(key)
        }
        Lookup::TransactionId(id) => s
            .orders
            .iter()
            .find(|(_, o)| {
                o.mchid == scope.mchid
                    && o.sub_mchid == scope.sub_mchid
                    && o.transaction_id.as_deref() == Some(id)
            })
            .map(|(k, _)| k.clone()),
    }
}

async fn query(sim: &Sim, scope: &Scope, lookup: Lookup<'_>) -> ApiResult<Value> {
    let now = now_unix();
    sim.store
        .update(|s| {
            let key = find(s, scope, &lookup).ok_or_else(ApiError::order_not_exist)?;
            let order = s
                .orders
                .get_mut(&key)
                .ok_or_else(ApiError::order_not_exist)?;
            expire_if_due(order, now);
            Ok(transaction_json(order))
        })
        .await
        .map_err(internal)?
}

#[derive(Debug, Deserialize)]
struct CloseBody {
    mchid: Option<String>,
    sp_mchid: Option<String>,
    sub_mchid: Option<String>,
}

/// `POST …/transactions/out-trade-no/{out_trade_no}/close`, direct or partner as [`query_by_no`].
pub async fn close<const PARTNER: bool>(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(no): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    close_in_scope(&sim, &caller, &no, &body, PARTNER).await
}

async fn close_in_scope(
    sim: &Sim,
    caller: &Caller,
    no: &str,
    raw: &[u8],
    partner: bool,
) -> ApiResult<Response> {
    let b: CloseBody = validate::json(raw)?;
    let q = MchQuery {
        mchid: b.mchid,
        sp_mchid: b.sp_mchid,
        sub_mchid: b.sub_mchid,
    };
    let scope = scope_from_query(sim, caller, &q, partner)?;
    let key = order_key(&scope.mchid, scope.sub_mchid.as_deref(), no);
    let now = now_unix();
    sim.store
        .update(|s| {
            let order = s
                .orders
                .get_mut(&key)
                .ok_or_else(ApiError::order_not_exist)?;
            close_order(order, now)
        })
        .await
        .map_err(internal)??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Closes an unpaid order; a paid one cannot be closed (refund it instead). Closing twice is fine.
pub fn close_order(order: &mut Order, now: i64) -> ApiResult<()> {
    expire_if_due(order, now);
    match order.state {
        TradeState::Success | TradeState::Refund => Err(order_paid()),
        TradeState::NotPay | TradeState::PayError | TradeState::Closed => {
            order.state = TradeState::Closed;
            Ok(())
        }
    }
}

/// Marks an order paid; the caller persists it and then sends TRANSACTION.SUCCESS.
pub fn mark_paid(order: &mut Order, transaction_id: String, openid: String, now: i64) {
    order.state = TradeState::Success;
    order.transaction_id = Some(transaction_id);
    order.success_time = Some(china_time_unix(now));
    if order.openid.is_none() {
        order.openid = Some(openid);
    }
}
