//! Returns: money back from a merchant receiver of a finished split, at most what it was paid.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::{ReceiverResult, Return, return_key, split_key};
use super::notices::{self, Notice};
use super::splits::{finish_if_due, finish_wait};
use super::{Sharer, invalid};
use crate::wechat::Sim;
use crate::wechat::auth::Caller;
use crate::wechat::crypto::{china_time_unix, new_id, now_unix};
use crate::wechat::error::{ApiError, ApiResult, internal};
use crate::wechat::state::RequestDigest;
use crate::wechat::validate;

#[derive(Debug, Deserialize)]
struct ReturnBody {
    sub_mchid: Option<String>,
    out_order_no: Option<String>,
    out_return_no: Option<String>,
    return_mchid: Option<String>,
    amount: Option<i64>,
    description: Option<String>,
}

pub async fn create(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let request: Value = validate::json(&raw)?;
    let b: ReturnBody = validate::json(&raw)?;
    let out_order_no = validate::required(b.out_order_no.as_ref(), "out_order_no")?.to_owned();
    let out_return_no = validate::required(b.out_return_no.as_ref(), "out_return_no")?.to_owned();
    let return_mchid = validate::required(b.return_mchid.as_ref(), "return_mchid")?.to_owned();
    let amount = validate::positive_amount(b.amount, "amount")?;
    let description = validate::required(b.description.as_ref(), "description")?.to_owned();
    let sharer = Sharer::of(&sim, &caller, b.sub_mchid.as_ref(), None)?;
    let now = now_unix();
    let wait = finish_wait(&sim);
    let owner = sharer.owner();
    let (answer, sent) = sim
        .store
        .update(|s| -> ApiResult<(Value, Vec<Notice>)> {
            let key = return_key(&owner, &out_return_no);
            if let Some(existing) = s.split_returns.get(&key) {
                if existing.request != RequestDigest::of(&request) {
                    return Err(ApiError::param(
                        "out_return_no已使用，且请求参数与原回退不一致",
                    ));
                }
                return Ok((return_json(existing), Vec::new()));
            }
            let skey = split_key(&owner, &out_order_no);
            let mut sent = finish_if_due(s, &skey, wait, now);
            *s.seq += 1;
            let seq = *s.seq;
            let split = s
                .splits
                .get_mut(&skey)
                .ok_or_else(|| ApiError::resource_not_exists("分账单不存在"))?;
            let part = split
                .parts
                .iter_mut()
                .find(|p| {
                    p.receiver_type == "MERCHANT_ID"
                        && p.account == return_mchid
                        && p.result == ReceiverResult::Success
                })
                .ok_or_else(|| invalid("只能对原分账请求中成功分给商户接收方进行回退"))?;
            if amount > part.amount - part.returned {
                return Err(invalid("回退金额超过原分账给该接收方的金额"));
            }
            part.returned += amount;
            let (order_key, order_id) = (split.order_key.clone(), split.order_id.clone());
            if let Some(l) = s.sharing_ledgers.get_mut(&order_key) {
                l.returned += amount;
            }
            let r = Return {
                sub_mchid: sharer.sub_mchid.clone(),
                order_id,
                out_order_no,
                out_return_no,
                return_id: new_id("30001", seq),
                return_mchid,
                amount,
                description,
                create_time: china_time_unix(now),
                request: RequestDigest::of(&request),
            };
            let answer = return_json(&r);
            if let Some(split) = s.splits.get(&skey) {
                sent.extend(notices::for_return(s, split, &r));
            }
            s.split_returns.insert(key, r);
            Ok((answer, sent))
        })
        .await
        .map_err(internal)??;
    notices::send(&sim, &sent);
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    sub_mchid: Option<String>,
    out_order_no: Option<String>,
}

pub async fn query(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(out_return_no): Path<String>,
    Query(q): Query<ReturnQuery>,
) -> ApiResult<Json<Value>> {
    let out_order_no = validate::required(q.out_order_no.as_ref(), "out_order_no")?.to_owned();
    let sharer = Sharer::of(&sim, &caller, q.sub_mchid.as_ref(), None)?;
    let key = return_key(&sharer.owner(), &out_return_no);
    sim.store
        .read(|s| {
            s.split_returns
                .get(&key)
                .filter(|r| r.out_order_no == out_order_no)
                .map(return_json)
        })
        .map(Json)
        .ok_or_else(|| ApiError::resource_not_exists("记录不存在"))
}

/// The simulator's returns succeed at once (the receiver's balance is not simulated).
fn return_json(r: &Return) -> Value {
    let mut v = json!({
        "order_id": r.order_id, "out_order_no": r.out_order_no, "out_return_no": r.out_return_no,
        "return_id": r.return_id, "return_mchid": r.return_mchid, "amount": r.amount,
        "description": r.description, "result": "SUCCESS",
        "create_time": r.create_time, "finish_time": r.create_time,
    });
    if let Some(sub) = &r.sub_mchid {
        v["sub_mchid"] = json!(sub);
    }
    v
}
