//! The trade business rules behind the gateway: creating (precreate, create, and the page
//! methods via [`open_trade`]), query, close, refund, refund query; bill URLs in [`super::bill`].

use channel_core::Fen;
use serde_json::Value;

use super::gateway::Call;
use super::state::{
    AlipayState, Refund, SANDBOX_BUYER_ID, SANDBOX_BUYER_LOGON_ID, SELLER_ID, Status, Trade,
    now_ms, trade_key,
};
use super::wire::{Obj, Refusal, china_time, yuan};
use super::{Sim, bill, notify};

/// Alipay's limit on one order: 100,000,000.00 yuan.
const MAX_TOTAL_FEN: i64 = 10_000_000_000;

pub(crate) fn dispatch(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    match call.method.as_str() {
        "alipay.trade.precreate" => precreate(sim, call),
        "alipay.trade.create" => create(sim, call),
        "alipay.trade.query" => query(sim, call),
        "alipay.trade.close" => close(sim, call),
        "alipay.trade.refund" => refund(sim, call),
        "alipay.trade.fastpay.refund.query" => refund_query(sim, call),
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

fn required(call: &Call, k: &str) -> Result<String, Refusal> {
    text(call, k).ok_or_else(|| Refusal::invalid_parameter(format!("缺少 {k}")))
}

fn amount(call: &Call, k: &str) -> Result<i64, Refusal> {
    let s = required(call, k)?;
    let fen = Fen::parse_yuan(&s)
        .map_err(|_| Refusal::invalid_parameter(format!("{k} 格式错误: {s}")))?
        .0;
    if fen <= 0 {
        return Err(Refusal::invalid_parameter(format!("{k} 必须大于 0")));
    }
    Ok(fen)
}

/// Creates the trade a payment method asks for, or returns the existing one when the same
/// out_trade_no comes again with the same content (Alipay's idempotent re-submission).
pub(crate) fn open_trade(sim: &Sim, call: &Call, product_code: &str) -> Result<Trade, Refusal> {
    let out_trade_no = required(call, "out_trade_no")?;
    if out_trade_no.len() > 64 {
        return Err(Refusal::invalid_parameter("out_trade_no 过长"));
    }
    let total_fen = amount(call, "total_amount")?;
    if total_fen > MAX_TOTAL_FEN {
        return Err(Refusal::business(
            "ACQ.TOTAL_FEE_EXCEED",
            "订单总金额超过限额",
        ));
    }
    let subject = required(call, "subject")?;
    let now = now_ms();
    let expires_ms = expiry(sim, call, now, product_code)?;
    let buyer_id = text(call, "buyer_id");
    let buyer_open_id = text(call, "buyer_open_id");
    if product_code == "JSAPI_PAY" && buyer_id.is_none() && buyer_open_id.is_none() {
        return Err(Refusal::invalid_parameter(
            "JSAPI_PAY 需要 buyer_id 或 buyer_open_id",
        ));
    }
    let key = trade_key(&call.app_id, &out_trade_no);
    let fresh = Trade {
        app_id: call.app_id.clone(),
        out_trade_no,
        trade_no: new_trade_no(now),
        method: call.method.clone(),
        product_code: product_code.to_owned(),
        total_fen,
        subject,
        body: text(call, "body"),
        passback_params: text(call, "passback_params"),
        notify_url: call.param("notify_url").map(str::to_owned),
        return_url: call.param("return_url").map(str::to_owned),
        quit_url: text(call, "quit_url"),
        buyer_id,
        buyer_open_id,
        status: Status::WaitBuyerPay,
        created_ms: now,
        expires_ms,
        paid_ms: None,
        closed_ms: None,
        refunds: Vec::new(),
    };
    update(sim, |s| match s.trades.get_mut(&key) {
        None => {
            s.trades.insert(key, fresh.clone());
            Ok(fresh)
        }
        Some(t) => {
            t.expire(now);
            match t.status {
                Status::TradeSuccess | Status::TradeFinished => {
                    Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"))
                }
                Status::TradeClosed => {
                    Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"))
                }
                Status::WaitBuyerPay
                    if t.total_fen != fresh.total_fen || t.subject != fresh.subject =>
                {
                    Err(Refusal::business(
                        "ACQ.CONTEXT_INCONSISTENT",
                        "交易信息被篡改",
                    ))
                }
                Status::WaitBuyerPay
                    if (t.buyer_id.is_some() || t.buyer_open_id.is_some())
                        && (t.buyer_id != fresh.buyer_id
                            || t.buyer_open_id != fresh.buyer_open_id) =>
                {
                    Err(Refusal::business(
                        "ACQ.TRADE_BUYER_NOT_MATCH",
                        "交易买家不匹配",
                    ))
                }
                Status::WaitBuyerPay => {
                    // A re-submission may bring new URLs (a new page session); keep the trade.
                    t.notify_url = fresh.notify_url.or(t.notify_url.take());
                    t.return_url = fresh.return_url.or(t.return_url.take());
                    Ok(t.clone())
                }
            }
        }
    })
}

/// When an unpaid trade closes: `time_expire` (absolute, China time), else `timeout_express`
/// (relative, multiplied by the simulator's time scale so tests can watch a trade expire), else
/// Alipay's defaults (2 h for a QR code, 15 d otherwise; not scaled).
fn expiry(sim: &Sim, call: &Call, now: i64, product_code: &str) -> Result<Option<i64>, Refusal> {
    if let Some(at) = text(call, "time_expire") {
        let ms = super::wire::parse_china_time(&at)
            .ok_or_else(|| Refusal::invalid_parameter(format!("time_expire 格式错误: {at}")))?;
        return Ok(Some(ms));
    }
    let scale = sim.ctx.config().time_scale;
    let scale = if scale.is_finite() && scale >= 0.0 {
        scale
    } else {
        1.0
    };
    if let Some(rel) = text(call, "timeout_express") {
        let ms = parse_timeout_express(&rel, now).ok_or_else(|| {
            Refusal::invalid_parameter(format!("timeout_express 格式错误: {rel}"))
        })?;
        // Whole milliseconds are precise enough for a scaled timeout.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let scaled = (ms as f64 * scale) as i64;
        return Ok(Some(now.saturating_add(scaled)));
    }
    let default_ms = if product_code == "FACE_TO_FACE_PAYMENT" {
        2 * 3_600_000
    } else {
        15 * 86_400_000
    };
    Ok(Some(now + default_ms))
}

/// `90m`, `2h`, `1d` (1 minute to 15 days), or `1c` (until the end of today, China time): a duration
/// in milliseconds.
fn parse_timeout_express(s: &str, now: i64) -> Option<i64> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let ms = match unit {
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        "c" if n == 1 => {
            let day = 86_400_000;
            let china = now + 8 * 3_600_000;
            return Some(day - china.rem_euclid(day));
        }
        _ => return None,
    };
    (60_000..=15 * 86_400_000).contains(&ms).then_some(ms)
}

/// Alipay's 28-digit trade numbers start with the date.
fn new_trade_no(now: i64) -> String {
    let date: String = china_time(now)
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let mut digits = [0u8; 16];
    channel_core::nonce::fill(&mut digits);
    let tail: String = digits.iter().map(|b| char::from(b'0' + b % 10)).collect();
    format!("{date}2200{tail}")
}

fn precreate(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let t = open_trade(sim, call, "FACE_TO_FACE_PAYMENT")?;
    Ok(Obj::success()
        .with("out_trade_no", t.out_trade_no.as_str())
        .with(
            "qr_code",
            format!("{}/sim/alipay/cashier/{}", sim.ctx.base_url(), t.trade_no),
        ))
}

fn create(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let product = text(call, "product_code").unwrap_or_else(|| "JSAPI_PAY".to_owned());
    let t = open_trade(sim, call, &product)?;
    Ok(Obj::success()
        .with("out_trade_no", t.out_trade_no.as_str())
        .with("trade_no", t.trade_no.as_str()))
}

/// Runs `f` on the state under the store's lock and persists it. A failed write is answered as
/// Alipay answers its own storage trouble: "system busy, outcome unknown".
pub(crate) fn update<R>(
    sim: &Sim,
    f: impl FnOnce(&mut AlipayState) -> Result<R, Refusal>,
) -> Result<R, Refusal> {
    sim.store.update(f).unwrap_or_else(|e| {
        tracing::error!(error = %e, "alipay state not saved");
        Err(Refusal::unavailable())
    })
}

/// The trade a call names by `out_trade_no` or `trade_no`, with expiry applied.
fn find<'a>(s: &'a mut AlipayState, call: &Call) -> Result<&'a mut Trade, Refusal> {
    let by_out = text(call, "out_trade_no");
    let by_no = text(call, "trade_no");
    let t = match (by_out, by_no) {
        (Some(out), _) => s.trades.get_mut(&trade_key(&call.app_id, &out)),
        (None, Some(no)) => s
            .trades
            .values_mut()
            .find(|t| t.app_id == call.app_id && t.trade_no == no),
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
    trade_key(&t.app_id, &t.out_trade_no)
}

pub(crate) fn trade_obj(t: &Trade) -> Obj {
    let paid = matches!(t.status, Status::TradeSuccess | Status::TradeFinished)
        || (t.status == Status::TradeClosed && t.paid_ms.is_some());
    let mut o = Obj::success()
        .with("trade_no", t.trade_no.as_str())
        .with("out_trade_no", t.out_trade_no.as_str())
        .with("trade_status", t.status.as_str())
        .with("total_amount", yuan(t.total_fen));
    if paid {
        o = o
            .with("buyer_logon_id", SANDBOX_BUYER_LOGON_ID)
            .with("buyer_pay_amount", yuan(t.total_fen))
            .with("receipt_amount", yuan(t.total_fen))
            .with("point_amount", "0.00")
            .with("invoice_amount", yuan(t.total_fen))
            .with_opt("send_pay_date", t.paid_ms.map(china_time))
            .with_opt("buyer_open_id", t.buyer_open_id.as_deref());
        if t.buyer_open_id.is_none() {
            o = o.with(
                "buyer_user_id",
                t.buyer_id.as_deref().unwrap_or(SANDBOX_BUYER_ID),
            );
        }
    }
    o
}

fn query(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    update(sim, |s| find(s, call).map(|t| trade_obj(t)))
}

fn close(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let t = update(sim, |s| {
        let t = find(s, call)?;
        match t.status {
            Status::WaitBuyerPay => {
                t.status = Status::TradeClosed;
                t.closed_ms = Some(now_ms());
                Ok(t.clone())
            }
            Status::TradeSuccess | Status::TradeFinished | Status::TradeClosed => Err(
                Refusal::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
            ),
        }
    })?;
    Ok(Obj::success()
        .with("trade_no", t.trade_no.as_str())
        .with("out_trade_no", t.out_trade_no.as_str()))
}

fn refund(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let amount_fen = amount(call, "refund_amount")?;
    // Without out_request_no Alipay takes the whole-trade refund's number to be the out_trade_no.
    let out_request_no = text(call, "out_request_no");
    let reason = text(call, "refund_reason");
    let now = now_ms();
    let (t, fund_change) = update(sim, |s| {
        let t = find(s, call)?;
        let request_no = out_request_no
            .clone()
            .unwrap_or_else(|| t.out_trade_no.clone());
        if let Some(earlier) = t.refunds.iter().find(|r| r.out_request_no == request_no) {
            // An idempotent repeat answers the same without moving money again.
            return if earlier.amount_fen == amount_fen {
                Ok((t.clone(), false))
            } else {
                Err(Refusal::business(
                    "ACQ.DISCORDANT_REPEAT_REQUEST",
                    "不一致的请求",
                ))
            };
        }
        match t.status {
            Status::TradeSuccess => {}
            Status::TradeFinished => {
                return Err(Refusal::business("ACQ.TRADE_HAS_FINISHED", "交易已完结"));
            }
            Status::TradeClosed => {
                return Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"));
            }
            Status::WaitBuyerPay => {
                return Err(Refusal::business(
                    "ACQ.TRADE_STATUS_ERROR",
                    "交易状态不合法",
                ));
            }
        }
        if t.refunded_fen() + amount_fen > t.total_fen {
            return Err(Refusal::business(
                "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                "退款金额超限",
            ));
        }
        t.refunds.push(Refund {
            out_request_no: request_no,
            amount_fen,
            reason: reason.clone(),
            at_ms: now,
        });
        if t.refunded_fen() == t.total_fen {
            t.status = Status::TradeClosed;
            t.closed_ms = Some(now);
        }
        Ok((t.clone(), true))
    })?;
    if fund_change {
        notify::send(sim, &t, notify::Event::Refund);
    }
    Ok(Obj::success()
        .with("trade_no", t.trade_no.as_str())
        .with("out_trade_no", t.out_trade_no.as_str())
        .with("buyer_logon_id", SANDBOX_BUYER_LOGON_ID)
        .with("fund_change", if fund_change { "Y" } else { "N" })
        .with("refund_fee", yuan(t.refunded_fen()))
        .with_opt(
            "gmt_refund_pay",
            t.refunds.last().map(|r| china_time(r.at_ms)),
        )
        .with(
            "buyer_user_id",
            t.buyer_id.as_deref().unwrap_or(SANDBOX_BUYER_ID),
        )
        .with("seller_id", SELLER_ID))
}

fn refund_query(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let request_no = required(call, "out_request_no")?;
    update(sim, |s| {
        let t = find(s, call)?;
        let o = Obj::success()
            .with("trade_no", t.trade_no.as_str())
            .with("out_trade_no", t.out_trade_no.as_str());
        // An unknown refund is a success with no refund fields: "not received or failed".
        Ok(
            match t.refunds.iter().find(|r| r.out_request_no == request_no) {
                None => o,
                Some(r) => o
                    .with("out_request_no", r.out_request_no.as_str())
                    .with("total_amount", yuan(t.total_fen))
                    .with("refund_amount", yuan(r.amount_fen))
                    .with("refund_status", "REFUND_SUCCESS")
                    .with("gmt_refund_pay", china_time(r.at_ms)),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_express_forms() {
        assert_eq!(parse_timeout_express("90m", 0), Some(90 * 60_000));
        assert_eq!(parse_timeout_express("2h", 0), Some(2 * 3_600_000));
        assert_eq!(parse_timeout_express("15d", 0), Some(15 * 86_400_000));
        assert_eq!(parse_timeout_express("16d", 0), None);
        assert_eq!(parse_timeout_express("0m", 0), None);
        assert_eq!(parse_timeout_express("m", 0), None);
        assert_eq!(parse_timeout_express("", 0), None);
        // 1c at 1970-01-01 08:00 China time: 16 h to midnight.
        assert_eq!(parse_timeout_express("1c", 0), Some(16 * 3_600_000));
    }

    #[test]
    fn trade_numbers_look_like_alipays() {
        let no = new_trade_no(0);
        assert_eq!(no.len(), 28);
        assert!(no.starts_with("19700101"));
        assert!(no.bytes().all(|b| b.is_ascii_digit()));
    }
}
