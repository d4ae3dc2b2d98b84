//! Combined orders (合单): one payment over several sub-orders, possibly of several merchants.
//! Order, query and close under `/v3/combine-transactions/...`; the control API pays all
//! sub-orders at once and one TRANSACTION.SUCCESS carries the combined object.
//!
//! A service provider combines for its sub-merchants: every sub-order's `mchid` is the provider
//! (`combine_mchid`) and its `sub_mchid` a sub-merchant bound to it, checked per sub-order as a
//! partner order is; each sub-order is then held as its sub-merchant's order. Its list holds
//! sub-merchants only (合单支付常见问题: "服务商模式的子单列表只支持同一个服务商下的特约商户"):
//! a sub-order without `sub_mchid` beside them is refused as WeChat Pay refuses it.

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
use super::crypto::now_unix;
use super::error::{ApiError, ApiResult, internal};
use super::notify::{self, Event};
use super::orders::{SettleIn, new_prepay_id, order_paid, prepay};
use super::profitsharing::model::Ledger;
use super::scope::{check_appid, check_mchid, check_sub_merchant, expire_if_due};
use super::state::{
    Answer, Combine, Order, RequestDigest, TradeState, TradeType, WechatState, order_key,
};
use super::transactions::{close_order, mark_paid};
use super::validate;

#[derive(Debug, Deserialize)]
struct CombineBody {
    combine_appid: Option<String>,
    combine_mchid: Option<String>,
    combine_out_trade_no: Option<String>,
    scene_info: Option<Value>,
    #[serde(default)]
    sub_orders: Vec<SubOrderIn>,
    combine_payer_info: Option<PayerInfo>,
    time_expire: Option<String>,
    notify_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SubOrderIn {
    mchid: Option<String>,
    sub_mchid: Option<String>,
    sub_appid: Option<String>,
    attach: Option<String>,
    amount: Option<SubAmount>,
    out_trade_no: Option<String>,
    description: Option<String>,
    settle_info: Option<SettleIn>,
}

#[derive(Debug, Deserialize)]
struct SubAmount {
    total_amount: Option<i64>,
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PayerInfo {
    openid: Option<String>,
}

fn sub_mchid_of(s: &SubOrderIn) -> Option<&str> {
    s.sub_mchid.as_deref().filter(|m| !m.is_empty())
}

/// A service provider's sub-order: its own `mchid` is the provider's, and it names a sub-merchant
/// bound to the provider (with a `sub_appid` of that sub-merchant's, if any).
fn check_partner_sub_order(
    sim: &Sim,
    combine_mchid: &str,
    mchid: &str,
    s: &SubOrderIn,
) -> ApiResult<()> {
    // WeChat Pay's answer to a provider's sub-order without a sub-merchant.
    let sub_mchid = sub_mchid_of(s).ok_or_else(|| ApiError::param("受理机构必须传入sub_mch_id"))?;
    if mchid != combine_mchid {
        return Err(ApiError::param(
            "子单商户号mchid须为合单发起方的服务商商户号combine_mchid",
        ));
    }
    let sub_appid = s.sub_appid.as_deref().filter(|a| !a.is_empty());
    check_sub_merchant(sim, combine_mchid, sub_mchid, sub_appid)
}

fn combine_key(mchid: &str, no: &str) -> String {
    format!("{mchid}|{no}")
}

pub async fn create(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(kind): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let trade_type = TradeType::from_path(&kind)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "请求的资源不存在"))?;
    let request: Value = validate::json(&raw)?;
    let b: CombineBody = validate::json(&raw)?;
    let appid = validate::required(b.combine_appid.as_ref(), "combine_appid")?;
    let mchid = validate::required(b.combine_mchid.as_ref(), "combine_mchid")?;
    check_mchid(&sim, &caller, mchid)?;
    check_appid(&sim, mchid, appid)?;
    let no = validate::required(b.combine_out_trade_no.as_ref(), "combine_out_trade_no")?;
    validate::out_trade_no(no, "combine_out_trade_no")?;
    let notify_url = validate::required(b.notify_url.as_ref(), "notify_url")?;
    validate::notify_url(notify_url, "notify_url")?;
    let time_expire = validate::time_expire(b.time_expire.as_ref())?;
    let openid = b
        .combine_payer_info
        .as_ref()
        .and_then(|p| p.openid.clone())
        .filter(|o| !o.is_empty());
    if trade_type == TradeType::Jsapi && openid.is_none() {
        return Err(ApiError::param("字段“combine_payer_info.openid”为必填项"));
    }
    if !(2..=50).contains(&b.sub_orders.len()) {
        return Err(ApiError::param("字段“sub_orders”须包含2至50个子单"));
    }
    let now = now_unix();
    let partner = b.sub_orders.iter().any(|s| sub_mchid_of(s).is_some());
    let mut subs = Vec::new();
    for (i, s) in b.sub_orders.iter().enumerate() {
        let field = |f: &str| format!("sub_orders[{i}].{f}");
        let sub_mchid = validate::required(s.mchid.as_ref(), &field("mchid"))?;
        if partner {
            check_partner_sub_order(&sim, mchid, sub_mchid, s)?;
        }
        let attach = validate::required(s.attach.as_ref(), &field("attach"))?;
        validate::max_chars(attach, 128, &field("attach"))?;
        let description = validate::required(s.description.as_ref(), &field("description"))?;
        validate::max_chars(description, 127, &field("description"))?;
        let out_trade_no = validate::required(s.out_trade_no.as_ref(), &field("out_trade_no"))?;
        validate::out_trade_no(out_trade_no, &field("out_trade_no"))?;
        let amount = s
            .amount
            .as_ref()
            .ok_or_else(|| ApiError::param(format!("字段“{}”为必填项", field("amount"))))?;
        let total = validate::positive_amount(amount.total_amount, &field("amount.total_amount"))?;
        let currency = validate::currency(amount.currency.as_ref(), &field("amount.currency"))?;
        subs.push(Order {
            mchid: sub_mchid.to_owned(),
            sub_mchid: sub_mchid_of(s).map(str::to_owned),
            appid: appid.to_owned(),
            sub_appid: s.sub_appid.clone().filter(|a| !a.is_empty()),
            out_trade_no: out_trade_no.to_owned(),
            transaction_id: None,
            trade_type,
            state: TradeState::NotPay,
            description: description.to_owned(),
            attach: Some(attach.to_owned()),
            notify_url: notify_url.to_owned(),
            total,
            currency,
            time_expire,
            openid: openid.clone(),
            sub_openid: false,
            prepay: Answer::none(),
            prepay_id: None,
            h5_link: None,
            request: RequestDigest::of(&Value::Null),
            success_time: None,
            refunded: 0,
            combine: Some(combine_key(mchid, no)),
            created: now,
            bill_total: None,
            fund_flow_fee: None,
            fee_returned: 0,
        });
    }
    let key = combine_key(mchid, no);
    let answer = prepay(trade_type, &new_prepay_id());
    let combine = Combine {
        combine_appid: appid.to_owned(),
        combine_mchid: mchid.to_owned(),
        combine_out_trade_no: no.to_owned(),
        trade_type,
        sub_orders: subs
            .iter()
            .map(|o| order_key(&o.mchid, o.sub_mchid.as_deref(), &o.out_trade_no))
            .collect(),
        openid,
        notify_url: notify_url.to_owned(),
        prepay: Answer::of(&answer),
        request: RequestDigest::of(&request),
        scene_info: b.scene_info.clone(),
    };
    let frozen: Vec<String> = b
        .sub_orders
        .iter()
        .zip(&combine.sub_orders)
        .filter(|(s, _)| s.settle_info.as_ref().and_then(|i| i.profit_sharing) == Some(true))
        .map(|(_, k)| k.clone())
        .collect();
    sim.store
        .update(|s| insert(s, key, combine, subs, &frozen))
        .await
        .map_err(internal)?
        .map(Json)
}

fn insert(
    s: &mut WechatState,
    key: String,
    combine: Combine,
    subs: Vec<Order>,
    frozen: &[String],
) -> ApiResult<Value> {
    let used = || ApiError::new(StatusCode::FORBIDDEN, "OUT_TRADE_NO_USED", "商户订单号重复");
    if let Some(existing) = s.combines.get(&key) {
        if existing.request != combine.request {
            return Err(used());
        }
        return Ok(existing.prepay.to_value());
    }
    if combine.sub_orders.iter().any(|k| s.orders.contains_key(k)) {
        return Err(used());
    }
    for (k, o) in combine.sub_orders.iter().zip(subs) {
        s.orders.insert(k.clone(), o);
    }
    // Sub-orders made for profit sharing are frozen for splits, as ordinary orders are.
    for k in frozen {
        s.sharing_ledgers.insert(k.clone(), Ledger::default());
    }
    let answer = combine.prepay.to_value();
    s.combines.insert(key, combine);
    Ok(answer)
}

/// The combined order as its query answers it and its notification carries it.
fn combine_json(s: &WechatState, c: &Combine) -> Value {
    let subs: Vec<Value> = c
        .sub_orders
        .iter()
        .filter_map(|k| s.orders.get(k))
        .map(|o| {
            let mut v = json!({
                "mchid": o.mchid, "trade_type": o.trade_type.code(), "trade_state": o.state.code(),
                "attach": o.attach, "out_trade_no": o.out_trade_no,
                "amount": { "total_amount": o.total, "currency": o.currency, "payer_currency": o.currency },
            });
            if let Some(sub) = &o.sub_mchid {
                v["sub_mchid"] = json!(sub);
            }
            if let Some(sub_appid) = &o.sub_appid {
                v["sub_appid"] = json!(sub_appid);
            }
            if o.state.is_paid() {
                v["bank_type"] = json!("OTHERS");
                v["success_time"] = json!(o.success_time);
                v["transaction_id"] = json!(o.transaction_id);
                v["amount"]["payer_amount"] = json!(o.total);
            }
            v
        })
        .collect();
    let mut v = json!({
        "combine_appid": c.combine_appid, "combine_mchid": c.combine_mchid,
        "combine_out_trade_no": c.combine_out_trade_no, "sub_orders": subs,
    });
    if let Some(scene) = &c.scene_info {
        v["scene_info"] = scene.clone();
    }
    if let Some(openid) = &c.openid {
        v["combine_payer_info"] = json!({ "openid": openid });
    }
    v
}

pub async fn query(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(no): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = combine_key(&caller.mchid, &no);
    let now = now_unix();
    sim.store
        .update(|s| {
            let c = s
                .combines
                .get(&key)
                .cloned()
                .ok_or_else(ApiError::order_not_exist)?;
            for k in &c.sub_orders {
                if let Some(o) = s.orders.get_mut(k) {
                    expire_if_due(o, now);
                }
            }
            Ok(Json(combine_json(s, &c)))
        })
        .await
        .map_err(internal)?
}

#[derive(Debug, Deserialize)]
struct CloseBody {
    combine_appid: Option<String>,
    #[serde(default)]
    sub_orders: Vec<CloseSubOrder>,
}

#[derive(Debug, Deserialize)]
struct CloseSubOrder {
    mchid: Option<String>,
    sub_mchid: Option<String>,
    out_trade_no: Option<String>,
}

/// WeChat Pay closes a combined order only when the close lists its sub-orders as they were
/// made, each with its `mchid` and (a service provider's) `sub_mchid` (合单支付常见问题: "子单信息必需保持一致").
fn check_close_list(c: &Combine, listed: &[CloseSubOrder]) -> ApiResult<()> {
    let keys: Vec<String> = listed
        .iter()
        .map(|o| {
            order_key(
                o.mchid.as_deref().unwrap_or_default(),
                o.sub_mchid.as_deref().filter(|m| !m.is_empty()),
                o.out_trade_no.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let same = keys.len() == c.sub_orders.len() && keys.iter().all(|k| c.sub_orders.contains(k));
    if same {
        Ok(())
    } else {
        Err(ApiError::param("子单信息与合单下单时不一致"))
    }
}

pub async fn close(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(no): Path<String>,
    raw: Bytes,
) -> ApiResult<Response> {
    let b: CloseBody = validate::json(&raw)?;
    let appid = validate::required(b.combine_appid.as_ref(), "combine_appid")?;
    let key = combine_key(&caller.mchid, &no);
    let now = now_unix();
    sim.store
        .update(|s| -> ApiResult<()> {
            let c = s
                .combines
                .get(&key)
                .cloned()
                .ok_or_else(ApiError::order_not_exist)?;
            if c.combine_appid != appid {
                return Err(ApiError::param("combine_appid与合单不一致"));
            }
            check_close_list(&c, &b.sub_orders)?;
            // All or nothing: refuse before closing anything if one sub-order is paid.
            for k in &c.sub_orders {
                if let Some(o) = s.orders.get_mut(k) {
                    expire_if_due(o, now);
                    if o.state.is_paid() {
                        return Err(order_paid());
                    }
                }
            }
            for k in &c.sub_orders {
                if let Some(o) = s.orders.get_mut(k) {
                    close_order(o, now)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(internal)??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct PayQuery {
    mchid: String,
    openid: Option<String>,
}

/// Control API: the payer pays every sub-order of a combined order.
pub async fn control_pay(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<PayQuery>,
) -> ApiResult<Json<Value>> {
    let key = combine_key(&q.mchid, &no);
    let now = now_unix();
    let (combine, resource) = sim
        .store
        .update(|s| -> ApiResult<(Combine, Value)> {
            let c = s
                .combines
                .get(&key)
                .cloned()
                .ok_or_else(ApiError::order_not_exist)?;
            for k in &c.sub_orders {
                if let Some(o) = s.orders.get_mut(k) {
                    expire_if_due(o, now);
                    if !matches!(o.state, TradeState::NotPay | TradeState::PayError) {
                        let msg = format!("sub-order {} is {}", o.out_trade_no, o.state.code());
                        return Err(ApiError::new(
                            StatusCode::CONFLICT,
                            "ORDER_NOT_PAYABLE",
                            msg,
                        ));
                    }
                }
            }
            let openid = c
                .openid
                .clone()
                .or_else(|| q.openid.clone())
                .unwrap_or_else(|| format!("oSim{}", channel_core::nonce::alphanumeric(24)));
            for k in &c.sub_orders {
                *s.seq += 1;
                let id = super::payer::transaction_id(*s.seq);
                if let Some(o) = s.orders.get_mut(k) {
                    mark_paid(o, id, openid.clone(), now);
                }
            }
            let resource = combine_json(s, &c);
            Ok((c, resource))
        })
        .await
        .map_err(internal)??;
    notify::send(
        &sim,
        &Event {
            mchid: &combine.combine_mchid,
            url: &combine.notify_url,
            event_type: "TRANSACTION.SUCCESS",
            summary: "支付成功",
            original_type: "transaction",
            resource: &resource,
            reference: &combine.combine_out_trade_no,
        },
    );
    Ok(Json(resource))
}
