//! Splits: create (and the same `out_order_no` again), unfreeze, query, and the unsplit amount.
//! A split is PROCESSING when made and FINISHED once looked at after a short while; a part whose
//! receiver was deleted meanwhile closes (`NO_RELATION`) and its amount stays unsplit.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::{ReceiverResult, Split, SplitPart, SplitState, receiver_key, split_key};
use super::notices::{self, Notice};
use super::receivers::{check_encrypted, receiver_type};
use super::{Sharer, invalid, unsplit};
use crate::wechat::Sim;
use crate::wechat::auth::Caller;
use crate::wechat::crypto::{china_time_unix, new_id, now_unix};
use crate::wechat::error::{ApiError, ApiResult, internal};
use crate::wechat::scope::check_appid;
use crate::wechat::state::{RequestDigest, WechatState};
use crate::wechat::transactions::{Lookup, find};
use crate::wechat::validate;

/// How long a split stays PROCESSING (at time scale 1): looked at after this, it is finished.
const FINISH_AFTER: Duration = Duration::from_secs(2);
/// When a split nobody looks at is finished anyway (at time scale 1), and its receivers notified:
/// WeChat Pay's own settlement run. Later than [`FINISH_AFTER`], so that what a query finds
/// (a receiver deleted meanwhile closes its part) is not decided by a timer racing it.
const FINISH_UNASKED_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct SplitBody {
    sub_mchid: Option<String>,
    sub_appid: Option<String>,
    appid: Option<String>,
    transaction_id: Option<String>,
    out_order_no: Option<String>,
    receivers: Option<Vec<PartBody>>,
    unfreeze_unsplit: Option<bool>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PartBody {
    #[serde(rename = "type")]
    receiver_type: Option<String>,
    account: Option<String>,
    amount: Option<i64>,
    description: Option<String>,
    name: Option<String>,
}

pub async fn create(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let request: Value = validate::json(&raw)?;
    let b: SplitBody = validate::json(&raw)?;
    let appid = validate::required(b.appid.as_ref(), "appid")?;
    check_appid(&sim, &caller.mchid, appid)?;
    let sharer = Sharer::of(&sim, &caller, b.sub_mchid.as_ref(), b.sub_appid.as_ref())?;
    let transaction_id =
        validate::required(b.transaction_id.as_ref(), "transaction_id")?.to_owned();
    let out_order_no = validate::required(b.out_order_no.as_ref(), "out_order_no")?.to_owned();
    let unfreeze = b
        .unfreeze_unsplit
        .ok_or_else(|| ApiError::param("字段“unfreeze_unsplit”为必填项"))?;
    let bodies = b.receivers.as_deref().unwrap_or_default();
    if bodies.is_empty() || bodies.len() > 50 {
        return Err(ApiError::param("字段“receivers”须有1至50个接收方"));
    }
    let mut parts = Vec::with_capacity(bodies.len());
    for p in bodies {
        let receiver_type =
            receiver_type(p.receiver_type.as_ref(), sharer.sub_mchid.is_some())?.to_owned();
        let account = validate::required(p.account.as_ref(), "receivers.account")?.to_owned();
        let amount = validate::positive_amount(p.amount, "receivers.amount")?;
        let description = validate::required(p.description.as_ref(), "receivers.description")?;
        validate::max_chars(description, 80, "receivers.description")?;
        if let Some(name) = &p.name {
            check_encrypted(&sim, &caller, &headers, "receivers.name", name)?;
        }
        parts.push((receiver_type, account, amount, description.to_owned()));
    }
    let now = now_unix();
    let owner = sharer.owner();
    let answer = sim
        .store
        .update(|s| -> ApiResult<Value> {
            let key = split_key(&owner, &out_order_no);
            if let Some(existing) = s.splits.get(&key) {
                if existing.request != RequestDigest::of(&request) {
                    return Err(ApiError::param(
                        "out_order_no已使用，且请求参数与原分账不一致",
                    ));
                }
                return Ok(split_json(existing));
            }
            let order_key = find(s, &sharer.scope(), &Lookup::TransactionId(&transaction_id))
                .filter(|k| s.sharing_ledgers.contains_key(k))
                .ok_or_else(|| invalid("非分账订单不支持分账"))?;
            let (total, refunded) = s
                .orders
                .get(&order_key)
                .map(|o| (o.total, o.refunded))
                .ok_or_else(|| invalid("非分账订单不支持分账"))?;
            for (t, a, _, _) in &parts {
                if !s
                    .sharing_receivers
                    .contains_key(&receiver_key(&owner, t, a))
                {
                    return Err(invalid(
                        "分账接收方关系不存在，请检查参数中每个接收方的关系",
                    ));
                }
            }
            let ledger = s
                .sharing_ledgers
                .get(&order_key)
                .cloned()
                .unwrap_or_default();
            let amount: i64 = parts.iter().map(|p| p.2).sum();
            if amount > unsplit(&ledger, total, refunded) {
                return Err(invalid("分账金额不足"));
            }
            let to_others = amount
                - parts
                    .iter()
                    .filter(|p| p.0 == "MERCHANT_ID" && p.1 == sharer.payee())
                    .map(|p| p.2)
                    .sum::<i64>();
            let split_before: i64 = ledger.split;
            if (split_before + to_others) * 10_000 > total * sharer.max_ratio {
                return Err(invalid("分账金额超出最大分账比例"));
            }
            let split = new_split(
                s,
                &order_key,
                &sharer,
                &transaction_id,
                &out_order_no,
                parts.clone(),
                unfreeze,
                now,
                RequestDigest::of(&request),
            );
            if let Some(l) = s.sharing_ledgers.get_mut(&order_key) {
                l.split += amount;
                l.unfrozen |= unfreeze;
            }
            let answer = split_json(&split);
            s.splits.insert(key, split);
            Ok(answer)
        })
        .await
        .map_err(internal)??;
    finish_later(&sim, split_key(&owner, &out_order_no));
    Ok(Json(answer))
}

pub async fn unfreeze(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let request: Value = validate::json(&raw)?;
    let b: SplitBody = validate::json(&raw)?;
    let transaction_id =
        validate::required(b.transaction_id.as_ref(), "transaction_id")?.to_owned();
    let out_order_no = validate::required(b.out_order_no.as_ref(), "out_order_no")?.to_owned();
    let description = validate::required(b.description.as_ref(), "description")?.to_owned();
    let sharer = Sharer::of(&sim, &caller, b.sub_mchid.as_ref(), None)?;
    let now = now_unix();
    let owner = sharer.owner();
    let answer = sim
        .store
        .update(|s| -> ApiResult<Value> {
            let key = split_key(&owner, &out_order_no);
            if let Some(existing) = s.splits.get(&key) {
                return Ok(split_json(existing));
            }
            let order_key = find(s, &sharer.scope(), &Lookup::TransactionId(&transaction_id))
                .filter(|k| s.sharing_ledgers.contains_key(k))
                .ok_or_else(|| invalid("非分账订单不支持分账"))?;
            let (total, refunded) = s
                .orders
                .get(&order_key)
                .map(|o| (o.total, o.refunded))
                .unwrap_or_default();
            let ledger = s
                .sharing_ledgers
                .get(&order_key)
                .cloned()
                .unwrap_or_default();
            if ledger.unfrozen {
                return Err(invalid("分账金额不足"));
            }
            let rest = unsplit(&ledger, total, refunded);
            let parts = vec![(
                "MERCHANT_ID".to_owned(),
                sharer.payee().to_owned(),
                rest,
                description,
            )];
            let split = new_split(
                s,
                &order_key,
                &sharer,
                &transaction_id,
                &out_order_no,
                parts,
                true,
                now,
                RequestDigest::of(&request),
            );
            if let Some(l) = s.sharing_ledgers.get_mut(&order_key) {
                l.unfrozen = true;
            }
            let answer = split_json(&split);
            s.splits.insert(key, split);
            Ok(answer)
        })
        .await
        .map_err(internal)??;
    Ok(Json(answer))
}

#[allow(clippy::too_many_arguments)]
fn new_split(
    s: &mut WechatState,
    order_key: &str,
    sharer: &Sharer,
    transaction_id: &str,
    out_order_no: &str,
    parts: Vec<(String, String, i64, String)>,
    unfreeze_unsplit: bool,
    now: i64,
    request: RequestDigest,
) -> Split {
    *s.seq += 1;
    let seq = *s.seq;
    let parts = parts
        .into_iter()
        .enumerate()
        .map(
            |(i, (receiver_type, account, amount, description))| SplitPart {
                receiver_type,
                account,
                amount,
                description,
                result: ReceiverResult::Pending,
                fail_reason: None,
                detail_id: new_id("36001", seq * 100 + i as u64),
                finish_time: None,
                returned: 0,
            },
        )
        .collect();
    Split {
        order_key: order_key.to_owned(),
        mchid: sharer.mchid.clone(),
        sub_mchid: sharer.sub_mchid.clone(),
        transaction_id: transaction_id.to_owned(),
        out_order_no: out_order_no.to_owned(),
        order_id: new_id("30000", seq),
        state: SplitState::Processing,
        parts,
        unfreeze_unsplit,
        create_time: china_time_unix(now),
        created_unix: now,
        request,
    }
}

/// Finishes a split whose time has come: each part SUCCESS, or CLOSED when its receiver is gone.
/// Returns the notifications the receivers paid are owed; send them once the state is saved.
#[must_use]
pub fn finish_if_due(s: &mut WechatState, key: &str, wait: Duration, now: i64) -> Vec<Notice> {
    let due = s.splits.get(key).is_some_and(|sp| {
        sp.state == SplitState::Processing
            && u64::try_from(now - sp.created_unix).unwrap_or(0) >= wait.as_secs()
    });
    if !due {
        return Vec::new();
    }
    let present: Vec<bool> = s
        .splits
        .get(key)
        .map(|sp| {
            sp.parts
                .iter()
                .map(|p| {
                    p.account == sp.payee()
                        || s.sharing_receivers.contains_key(&receiver_key(
                            &sp.owner(),
                            &p.receiver_type,
                            &p.account,
                        ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut closed = 0;
    let mut order_key = String::new();
    if let Some(sp) = s.splits.get_mut(key) {
        sp.state = SplitState::Finished;
        order_key.clone_from(&sp.order_key);
        for (p, present) in sp.parts.iter_mut().zip(present) {
            p.finish_time = Some(china_time_unix(now));
            if present {
                p.result = ReceiverResult::Success;
            } else {
                p.result = ReceiverResult::Closed;
                p.fail_reason = Some("NO_RELATION".to_owned());
                closed += p.amount;
            }
        }
    }
    if closed > 0 {
        if let Some(l) = s.sharing_ledgers.get_mut(&order_key) {
            l.split -= closed;
        }
    }
    let Some(split) = s.splits.get(key) else {
        return Vec::new();
    };
    // What an unfreeze gives back to the splitting merchant is not a receiver's income.
    let paid: Vec<SplitPart> = split
        .parts
        .iter()
        .filter(|p| p.result == ReceiverResult::Success && p.account != split.payee())
        .cloned()
        .collect();
    notices::for_paid_parts(s, split, &paid)
}

/// Finishes the split under `key` when its time comes, without anyone looking: WeChat Pay
/// settles splits on its own, and receivers hear of it then.
pub fn finish_later(sim: &Sim, key: String) {
    let sim = sim.clone();
    let wait = finish_wait(&sim);
    let unasked = FINISH_UNASKED_AFTER.mul_f64(sim.ctx.config().time_scale.max(0.0));
    tokio::spawn(async move {
        tokio::time::sleep(unasked).await;
        match sim
            .store
            .update(|s| finish_if_due(s, &key, wait, now_unix()))
            .await
        {
            Ok(sent) => notices::send(&sim, &sent),
            Err(e) => tracing::error!(error = %e, "split not finished"),
        }
    });
}

pub fn finish_wait(sim: &Sim) -> Duration {
    FINISH_AFTER.mul_f64(sim.ctx.config().time_scale.max(0.0))
}

#[derive(Debug, Deserialize)]
pub struct SplitQuery {
    sub_mchid: Option<String>,
    transaction_id: Option<String>,
}

pub async fn query(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(out_order_no): Path<String>,
    Query(q): Query<SplitQuery>,
) -> ApiResult<Json<Value>> {
    let transaction_id =
        validate::required(q.transaction_id.as_ref(), "transaction_id")?.to_owned();
    let sharer = Sharer::of(&sim, &caller, q.sub_mchid.as_ref(), None)?;
    let key = split_key(&sharer.owner(), &out_order_no);
    let wait = finish_wait(&sim);
    let (answer, sent) = sim
        .store
        .update(|s| {
            let sent = finish_if_due(s, &key, wait, now_unix());
            let answer = s
                .splits
                .get(&key)
                .filter(|sp| sp.transaction_id == transaction_id)
                .map(split_json)
                .ok_or_else(|| ApiError::resource_not_exists("记录不存在"));
            (answer, sent)
        })
        .await
        .map_err(internal)?;
    notices::send(&sim, &sent);
    answer.map(Json)
}

pub async fn amounts(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(transaction_id): Path<String>,
) -> ApiResult<Json<Value>> {
    sim.store
        .read(|s| {
            // By transaction_id alone: the caller's order, or one of its sub-merchants'.
            let key = s
                .orders
                .iter()
                .find(|(_, o)| {
                    o.mchid == caller.mchid && o.transaction_id.as_deref() == Some(&transaction_id)
                })
                .map(|(k, _)| k.clone())
                .ok_or_else(|| ApiError::resource_not_exists("记录不存在"))?;
            let ledger = s
                .sharing_ledgers
                .get(&key)
                .ok_or_else(|| invalid("非分账订单不支持分账"))?;
            let (total, refunded) = s.orders.get(&key).map(|o| (o.total, o.refunded)).unwrap_or_default();
            Ok(json!({"transaction_id": transaction_id, "unsplit_amount": unsplit(ledger, total, refunded)}))
        })
        .map(Json)
}

pub fn split_json(sp: &Split) -> Value {
    let receivers: Vec<Value> = sp
        .parts
        .iter()
        .map(|p| {
            let mut v = json!({
                "type": p.receiver_type, "account": p.account, "amount": p.amount,
                "description": p.description, "result": p.result, "detail_id": p.detail_id,
                "create_time": sp.create_time,
            });
            if let Some(t) = &p.finish_time {
                v["finish_time"] = json!(t);
            }
            if let Some(r) = &p.fail_reason {
                v["fail_reason"] = json!(r);
            }
            v
        })
        .collect();
    let mut v = json!({
        "transaction_id": sp.transaction_id, "out_order_no": sp.out_order_no,
        "order_id": sp.order_id, "state": sp.state, "receivers": receivers,
    });
    if let Some(sub) = &sp.sub_mchid {
        v["sub_mchid"] = json!(sub);
    }
    v
}
