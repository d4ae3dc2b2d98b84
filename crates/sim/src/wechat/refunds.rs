//! Refunds: create, query, and the status changes that follow (SUCCESS on its own shortly after,
//! or ABNORMAL / CLOSED / SUCCESS through the control API), each followed by its REFUND.* callback.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use super::auth::Caller;
use super::crypto::{china_time_unix, new_id, now_unix};
use super::error::{ApiError, ApiResult, internal};
use super::notify::{self, Event};
use super::scope::{Scope, check_mchid, check_sub_merchant, expire_if_due};
use super::state::{Refund, RefundStatus, RequestDigest, TradeState, order_key};
use super::transactions::{Lookup, find};
use super::{fees, profitsharing, validate};

/// How long a refund stays PROCESSING before it succeeds on its own (at time scale 1).
const AUTO_SUCCESS_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
struct RefundBody {
    sub_mchid: Option<String>,
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: Option<String>,
    reason: Option<String>,
    notify_url: Option<String>,
    amount: Option<RefundAmount>,
}

#[derive(Debug, Deserialize)]
struct RefundAmount {
    refund: Option<i64>,
    total: Option<i64>,
    currency: Option<String>,
}

pub async fn create(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let request: Value = validate::json(&raw)?;
    let b: RefundBody = validate::json(&raw)?;
    let scope = Scope {
        mchid: caller.mchid.clone(),
        sub_mchid: b.sub_mchid.clone().filter(|s| !s.is_empty()),
    };
    check_mchid(&sim, &caller, &scope.mchid)?;
    if let Some(sub) = &scope.sub_mchid {
        check_sub_merchant(&sim, &scope.mchid, sub, None)?;
    }
    let out_refund_no = validate::required(b.out_refund_no.as_ref(), "out_refund_no")?.to_owned();
    validate::out_refund_no(&out_refund_no)?;
    let lookup = match (&b.transaction_id, &b.out_trade_no) {
        (Some(id), _) if !id.is_empty() => Lookup::TransactionId(id),
        (_, Some(no)) if !no.is_empty() => Lookup::OutTradeNo(no),
        _ => return Err(ApiError::param("transaction_id和out_trade_no必须二选一")),
    };
    if let Some(url) = &b.notify_url {
        validate::notify_url(url, "notify_url")?;
    }
    if let Some(r) = &b.reason {
        validate::max_chars(r, 80, "reason")?;
    }
    let amount = b
        .amount
        .as_ref()
        .ok_or_else(|| ApiError::param("字段“amount”为必填项"))?;
    let refund = validate::positive_amount(amount.refund, "amount.refund")?;
    let total = validate::positive_amount(amount.total, "amount.total")?;
    let currency = validate::currency(amount.currency.as_ref(), "amount.currency")?;
    let now = now_unix();
    let refund_key = order_key(
        &scope.mchid,
        scope.sub_mchid.as_deref(),
        &format!("refund:{out_refund_no}"),
    );

    let (answer, fresh) = sim
        .store
        .update(|s| -> ApiResult<(Value, bool)> {
            if let Some(existing) = s.refunds.get(&refund_key) {
                // A retried refund call answers the refund already made; a different one is refused.
                if existing.request != RequestDigest::of(&request) {
                    return Err(ApiError::param(
                        "out_refund_no已使用，且请求参数与原退款不一致",
                    ));
                }
                return Ok((refund_json(existing), false));
            }
            let order_key = find(s, &scope, &lookup)
                .ok_or_else(|| ApiError::resource_not_exists("订单不存在"))?;
            // Money split to receivers is theirs: a refund comes only from what stayed.
            let shared = profitsharing::shared_out(s, &order_key);
            *s.seq += 1;
            let seq = *s.seq;
            let order = s
                .orders
                .get_mut(&order_key)
                .ok_or_else(|| ApiError::resource_not_exists("订单不存在"))?;
            expire_if_due(order, now);
            let transaction_id = match (&order.transaction_id, order.state.is_paid()) {
                (Some(id), true) => id.clone(),
                _ => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "INVALID_REQUEST",
                        "订单未支付，不能退款",
                    ));
                }
            };
            if total != order.total {
                return Err(ApiError::param("amount.total与原订单金额不一致"));
            }
            if refund > order.total - order.refunded - shared {
                return Err(ApiError::param("申请退款金额超过订单可退金额"));
            }
            order.refunded += refund;
            order.state = TradeState::Refund;
            let fee_returned = fees::given_back(
                order.billed_total(),
                order.fee_returned,
                refund,
                order.refunded,
                order.total,
            );
            order.fee_returned += fee_returned;
            let r = Refund {
                order_key,
                mchid: order.mchid.clone(),
                sub_mchid: order.sub_mchid.clone(),
                out_refund_no: out_refund_no.clone(),
                refund_id: new_id("50300", seq),
                out_trade_no: order.out_trade_no.clone(),
                transaction_id,
                reason: b.reason.clone(),
                notify_url: b.notify_url.clone(),
                refund,
                total,
                currency,
                status: RefundStatus::Processing,
                create_time: china_time_unix(now),
                created_unix: now,
                success_time: None,
                request: RequestDigest::of(&request),
                fee_returned,
                closed_time: None,
            };
            let answer = refund_json(&r);
            s.refunds.insert(refund_key.clone(), r);
            Ok((answer, true))
        })
        .await
        .map_err(internal)??;
    let auto = sim
        .store
        .read(|s| s.merchants.get(&scope.mchid).is_some_and(|m| m.auto_refund));
    if fresh && auto {
        let sim = sim.clone();
        let wait = AUTO_SUCCESS_AFTER.mul_f64(sim.ctx.config().time_scale.max(0.0));
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Err(e) = settle(&sim, &refund_key, RefundStatus::Success).await {
                tracing::debug!(code = e.code, "refund not settled automatically");
            }
        });
    }
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
pub struct RefundQuery {
    sub_mchid: Option<String>,
}

pub async fn query(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(out_refund_no): Path<String>,
    Query(q): Query<RefundQuery>,
) -> ApiResult<Json<Value>> {
    let sub_mchid = q.sub_mchid.as_deref().filter(|s| !s.is_empty());
    if let Some(sub) = sub_mchid {
        check_sub_merchant(&sim, &caller.mchid, sub, None)?;
    }
    let key = order_key(&caller.mchid, sub_mchid, &format!("refund:{out_refund_no}"));
    // A refund that should have ended on its own by now, but whose timer died with the process
    // (the sandbox's simulator runs inside paygate, which may be killed), ends when looked at.
    let wait = AUTO_SUCCESS_AFTER.mul_f64(sim.ctx.config().time_scale.max(0.0));
    let overdue = sim.store.read(|s| {
        s.refunds.get(&key).is_some_and(|r| {
            r.status == RefundStatus::Processing
                && s.merchants.get(&r.mchid).is_some_and(|m| m.auto_refund)
                && u64::try_from(now_unix() - r.created_unix).unwrap_or(0) >= wait.as_secs()
        })
    });
    if overdue {
        let _ = settle(&sim, &key, RefundStatus::Success).await;
    }
    sim.store
        .read(|s| s.refunds.get(&key).map(refund_json))
        .map(Json)
        .ok_or_else(|| ApiError::resource_not_exists("退款单不存在"))
}

/// Moves a PROCESSING refund to its final status, persists it, then notifies.
pub async fn settle(sim: &Sim, refund_key: &str, status: RefundStatus) -> ApiResult<Value> {
    let now = now_unix();
    let refund = sim
        .store
        .update(|s| -> ApiResult<Refund> {
            let r = s
                .refunds
                .get_mut(refund_key)
                .ok_or_else(|| ApiError::resource_not_exists("退款单不存在"))?;
            if r.status != RefundStatus::Processing {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "REFUND_NOT_PROCESSING",
                    "退款已是终态",
                ));
            }
            r.status = status;
            match status {
                RefundStatus::Success => r.success_time = Some(china_time_unix(now)),
                RefundStatus::Closed => r.closed_time = Some(china_time_unix(now)),
                RefundStatus::Processing | RefundStatus::Abnormal => {}
            }
            let r = r.clone();
            if status == RefundStatus::Closed {
                // A closed refund gives the amount back to what may still be refunded, and takes
                // back the fee it had given back.
                if let Some(o) = s.orders.get_mut(&r.order_key) {
                    o.refunded -= r.refund;
                    o.fee_returned -= r.fee_returned;
                    if o.refunded == 0 {
                        o.state = TradeState::Success;
                    }
                }
            }
            Ok(r)
        })
        .await
        .map_err(internal)??;
    if let (Some(url), Some((event, summary))) = (&refund.notify_url, status.event()) {
        notify::send(
            sim,
            &Event {
                mchid: &refund.mchid,
                url,
                event_type: event,
                summary,
                original_type: "refund",
                resource: &refund_notification(&refund),
                reference: &refund.out_refund_no,
            },
        );
    }
    Ok(refund_json(&refund))
}

/// The refund as the create and query calls answer it.
fn refund_json(r: &Refund) -> Value {
    let mut v = json!({
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "transaction_id": r.transaction_id,
        "out_trade_no": r.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": r.create_time,
        "status": r.status.code(),
        "funds_account": "AVAILABLE",
        "amount": {
            "total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund,
            "settlement_total": r.total, "settlement_refund": r.refund, "discount_refund": 0,
            "currency": r.currency, "refund_fee": r.fee_returned, "from": [],
        },
        "promotion_detail": [],
    });
    if let Some(t) = &r.success_time {
        v["success_time"] = json!(t);
    }
    v
}

/// The refund as REFUND.* notifications carry it: a direct merchant's names its `mchid`, a
/// service provider's names `sp_mchid` and `sub_mchid` instead (WeChat's partner refund notice).
fn refund_notification(r: &Refund) -> Value {
    let mut v = json!({
        "transaction_id": r.transaction_id,
        "out_trade_no": r.out_trade_no,
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "refund_status": r.status.code(),
        "user_received_account": "支付用户零钱",
        "amount": { "total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund },
    });
    if let Some(sub) = &r.sub_mchid {
        v["sp_mchid"] = json!(r.mchid);
        v["sub_mchid"] = json!(sub);
    } else {
        v["mchid"] = json!(r.mchid);
    }
    if let Some(t) = &r.success_time {
        v["success_time"] = json!(t);
    }
    v
}

/// The store key of a refund, for the control API.
pub fn refund_key(mchid: &str, sub_mchid: Option<&str>, out_refund_no: &str) -> String {
    order_key(mchid, sub_mchid, &format!("refund:{out_refund_no}"))
}
