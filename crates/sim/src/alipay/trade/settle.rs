//! Royalty settlements: splitting a paid trade among bound receivers, synchronously, and the
//! settlement query. Splits and refunds together never exceed what was paid.

use channel_core::Fen;
use serde_json::{Map, Value, json};

use super::super::state::{
    AlipayState, SELLER_ID, Settlement, Split, Status, Trade, now_ms, relation_key,
};
use super::super::wire::{Obj, Refusal, china_time, yuan};
use super::relation::is_user_id;
use super::{Call, Sim, find, required, text, update};

const TRANS_IN_TYPES: [&str; 3] = ["userId", "loginName", "openId"];

fn member(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        // Some SDKs send amounts as JSON numbers.
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One transfer out of `seller`'s account (the trade's: the app's, or the merchant it calls for).
fn split(item: &Value, seller: &str) -> Result<Split, Refusal> {
    let m = item
        .as_object()
        .ok_or_else(|| Refusal::invalid_parameter("royalty_parameters 的元素不是对象"))?;
    match member(m, "royalty_type").as_deref() {
        None | Some("transfer") => {}
        Some(other) => {
            return Err(Refusal::invalid_parameter(format!(
                "royalty_type {other} (模拟器只支持 transfer)"
            )));
        }
    }
    let trans_out = member(m, "trans_out").unwrap_or_else(|| seller.to_owned());
    if trans_out != seller {
        return Err(Refusal::invalid_parameter("trans_out 不是本交易的卖家"));
    }
    let trans_in_type = member(m, "trans_in_type").unwrap_or_else(|| "userId".to_owned());
    if !TRANS_IN_TYPES.contains(&trans_in_type.as_str()) {
        return Err(Refusal::invalid_parameter(format!(
            "trans_in_type {trans_in_type}"
        )));
    }
    let trans_in =
        member(m, "trans_in").ok_or_else(|| Refusal::invalid_parameter("缺少 trans_in"))?;
    if trans_in_type == "userId" && !is_user_id(&trans_in) {
        return Err(Refusal::invalid_parameter(format!(
            "trans_in 不是支付宝用户号: {trans_in}"
        )));
    }
    let amount = member(m, "amount").ok_or_else(|| {
        Refusal::invalid_parameter("缺少 amount (模拟器不支持 amount_percentage)")
    })?;
    let amount_fen = Fen::parse_yuan(&amount)
        .map_err(|_| Refusal::invalid_parameter(format!("amount 格式错误: {amount}")))?
        .0;
    if amount_fen <= 0 {
        return Err(Refusal::invalid_parameter("amount 必须大于 0"));
    }
    Ok(Split {
        trans_out,
        trans_in_type,
        trans_in,
        amount_fen,
        desc: member(m, "desc"),
    })
}

fn royalty_finish(call: &Call) -> bool {
    match call
        .biz
        .get("extend_params")
        .and_then(|p| p.get("royalty_finish"))
    {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Alipay's 32-digit settlement numbers start with the date.
fn new_settle_no(now: i64) -> String {
    let date: String = china_time(now)
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let mut digits = [0u8; 24];
    channel_core::nonce::fill(&mut digits);
    let tail: String = digits.iter().map(|b| char::from(b'0' + b % 10)).collect();
    format!("{date}{tail}")
}

pub(super) async fn settle(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let out_request_no = required(call, "out_request_no")?;
    if out_request_no.len() > 64 {
        return Err(Refusal::invalid_parameter("out_request_no 过长"));
    }
    required(call, "trade_no")?;
    let splits = match call.biz.get("royalty_parameters") {
        Some(Value::Array(items)) if !items.is_empty() => {
            let seller = call
                .merchant
                .as_ref()
                .map_or(SELLER_ID, |m| m.user_id.as_str());
            items
                .iter()
                .map(|item| split(item, seller))
                .collect::<Result<Vec<_>, _>>()?
        }
        _ => return Err(Refusal::invalid_parameter("缺少 royalty_parameters")),
    };
    let finish = royalty_finish(call);
    let now = now_ms();
    let (trade_no, settle_no) = update(sim, |s| {
        let receivers = unbound(s, call, &splits);
        let t = find(s, call)?;
        if let Some(earlier) = t
            .settlements
            .iter()
            .find(|e| e.out_request_no == out_request_no)
        {
            // The same request again is the same settlement; other content under its number is
            // a merchant's bug, not a second settlement.
            return if earlier.splits == splits && earlier.royalty_finish == finish {
                Ok((t.trade_no.clone(), earlier.settle_no.clone()))
            } else {
                Err(Refusal::business(
                    "ACQ.DISCORDANT_REPEAT_REQUEST",
                    "不一致的请求",
                ))
            };
        }
        payable(t)?;
        receivers?;
        let total = splits
            .iter()
            .try_fold(0i64, |sum, s| sum.checked_add(s.amount_fen))
            .ok_or_else(|| Refusal::invalid_parameter("分账金额过大"))?;
        if total > t.splittable_fen() {
            return Err(Refusal::business(
                "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR",
                "分账金额超过最大可分账金额",
            ));
        }
        let settle_no = new_settle_no(now);
        t.settlements.push(Settlement {
            out_request_no: out_request_no.clone(),
            settle_no: settle_no.clone(),
            splits: splits.clone(),
            royalty_finish: finish,
            at_ms: now,
        });
        if finish {
            t.royalty_finished = true;
        }
        Ok((t.trade_no.clone(), settle_no))
    })
    .await?;
    Ok(Obj::success()
        .with("trade_no", trade_no)
        .with("settle_no", settle_no))
}

/// Every receiver of a settlement must be bound to the app first.
fn unbound(s: &AlipayState, call: &Call, splits: &[Split]) -> Result<(), Refusal> {
    match splits.iter().find(|sp| {
        !s.relations.contains_key(&relation_key(
            &call.owner(),
            &sp.trans_in_type,
            &sp.trans_in,
        ))
    }) {
        None => Ok(()),
        Some(sp) => Err(Refusal::business(
            "ACQ.ROYALTY_RECEIVER_INVALID",
            format!("收入方不在分账关系内: {}", sp.trans_in),
        )),
    }
}

fn payable(t: &Trade) -> Result<(), Refusal> {
    match t.status {
        Status::TradeSuccess | Status::TradeFinished => Ok(()),
        Status::TradeClosed => Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
        Status::WaitBuyerPay => Err(Refusal::business(
            "ACQ.TRADE_STATUS_ERROR",
            "交易状态不合法",
        )),
    }
}

pub(super) async fn settle_query(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let settle_no = text(call, "settle_no");
    let by_request = (text(call, "trade_no"), text(call, "out_request_no"));
    let found = sim.store.read(|s| {
        s.trades
            .values()
            .filter(|t| t.app_id == call.app_id && t.merchant == call.merchant)
            .find_map(|t| {
                let hit = t
                    .settlements
                    .iter()
                    .find(|e| match (&settle_no, &by_request) {
                        (Some(no), _) => e.settle_no == *no,
                        (None, (Some(trade_no), Some(out))) => {
                            t.trade_no == *trade_no && e.out_request_no == *out
                        }
                        (None, _) => false,
                    })?;
                Some(answer(hit))
            })
    });
    match (found, &settle_no, &by_request) {
        (Some(o), _, _) => Ok(o),
        (None, None, (None, _) | (_, None)) => Err(Refusal::invalid_parameter(
            "需要 settle_no, 或 trade_no 与 out_request_no",
        )),
        (None, _, _) => Err(Refusal::business(
            "ACQ.TRADE_SETTLE_NOT_EXIST",
            "分账单不存在",
        )),
    }
}

fn answer(e: &Settlement) -> Obj {
    let details: Vec<Value> = e
        .splits
        .iter()
        .map(|sp| {
            json!({
                "operation_type": "transfer",
                "execute_dt": china_time(e.at_ms),
                "trans_out": sp.trans_out,
                "trans_out_type": "userId",
                "trans_in": sp.trans_in,
                "trans_in_type": sp.trans_in_type,
                "amount": yuan(sp.amount_fen),
                "state": "SUCCESS",
            })
        })
        .collect();
    Obj::success()
        .with("out_request_no", e.out_request_no.as_str())
        .with("operation_dt", china_time(e.at_ms))
        .with("royalty_detail_list", details)
}
