//! The trade business rules behind the gateway, one file per concern: opening trades
//! (precreate, create, and the page methods via [`open_trade`]) in `open.rs`, reading and closing
//! them in `lookup.rs`, refunds in `refund.rs`, royalty receivers in `relation.rs` and royalty
//! settlements in `settle.rs`; bill URLs in [`super::bill`]. This file routes a
//! call to its method and holds what they all use: parameter readers and the state update.

mod lookup;
mod open;
mod refund;
mod relation;
mod settle;

use channel_core::Fen;
use serde_json::Value;

use super::gateway::Call;
use super::state::{AlipayState, Trade, now_ms, trade_key};
use super::wire::{Obj, Refusal};
use super::{Sim, bill};

pub(crate) use open::{new_trade_no, open_trade};

pub(crate) async fn dispatch(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    match call.method.as_str() {
        "alipay.trade.precreate" => open::precreate(sim, call).await,
        "alipay.trade.create" => open::create(sim, call).await,
        "alipay.trade.query" => lookup::query(sim, call).await,
        "alipay.trade.close" => lookup::close(sim, call).await,
        "alipay.trade.refund" => refund::refund(sim, call).await,
        "alipay.trade.fastpay.refund.query" => refund::refund_query(sim, call).await,
        "alipay.trade.royalty.relation.bind" => relation::bind(sim, call).await,
        "alipay.trade.royalty.relation.unbind" => relation::unbind(sim, call).await,
        "alipay.trade.royalty.relation.batchquery" => relation::batchquery(sim, call).await,
        "alipay.trade.order.settle" => settle::settle(sim, call).await,
        "alipay.trade.order.settle.query" => settle::settle_query(sim, call).await,
        "alipay.data.dataservice.bill.downloadurl.query" => bill::url(sim, call),
        _ => Err(Refusal::invalid("isv.invalid-method", "不存在的方法名")),
    }
}

/// A `biz_content` member as text; numbers are taken as written (some SDKs send amounts as numbers).
pub(crate) fn text(call: &Call, k: &str) -> Option<String> {
    match call.biz.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn required(call: &Call, k: &str) -> Result<String, Refusal> {
    text(call, k).ok_or_else(|| Refusal::invalid_parameter(format!("缺少 {k}")))
}

pub(super) fn amount(call: &Call, k: &str) -> Result<i64, Refusal> {
    let s = required(call, k)?;
    let fen = Fen::parse_yuan(&s)
        .map_err(|_| Refusal::invalid_parameter(format!("{k} 格式错误: {s}")))?
        .0;
    if fen <= 0 {
        return Err(Refusal::invalid_parameter(format!("{k} 必须大于 0")));
    }
    Ok(fen)
}

/// Runs `f` on the state under the store's lock, now, and resolves once the change is on disk. A
/// failed write is answered as Alipay answers its own storage trouble: "system busy, outcome
/// unknown".
pub(crate) fn update<'a, R: 'a>(
    sim: &'a Sim,
    f: impl FnOnce(&mut AlipayState) -> Result<R, Refusal>,
) -> impl Future<Output = Result<R, Refusal>> + 'a {
    let saved = sim.store.update(f);
    async move {
        saved.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "alipay state not saved");
            Err(Refusal::unavailable())
        })
    }
}

/// The trade a call names by `out_trade_no` or `trade_no`, with expiry applied. Only the caller's
/// trades are found: the app's own, or those it made for the merchant it now calls for.
pub(super) fn find<'a>(s: &'a mut AlipayState, call: &Call) -> Result<&'a mut Trade, Refusal> {
    let by_out = text(call, "out_trade_no");
    let by_no = text(call, "trade_no");
    let t = match (by_out, by_no) {
        (Some(out), _) => s
            .trades
            .get_mut(&trade_key(&call.app_id, call.merchant_id(), &out)),
        (None, Some(no)) => {
            // Found by reading first: only the trade found is taken mutably (and journaled).
            let key = s
                .trades
                .iter()
                .find(|(_, t)| {
                    t.app_id == call.app_id && t.merchant == call.merchant && t.trade_no == no
                })
                .map(|(k, _)| k.clone());
            key.and_then(|k| s.trades.get_mut(&k))
        }
        (None, None) => {
            return Err(Refusal::invalid_parameter(
                "out_trade_no 和 trade_no 不能同时为空",
            ));
        }
    };
    let t = t.ok_or_else(Refusal::not_exist)?;
    t.expire(now_ms());
    Ok(t)
}

pub(crate) fn trade_key_of(t: &Trade) -> String {
    trade_key(
        &t.app_id,
        t.merchant.as_ref().map(|m| m.user_id.as_str()),
        &t.out_trade_no,
    )
}
