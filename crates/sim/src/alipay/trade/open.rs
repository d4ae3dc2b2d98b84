//! Opening a trade: the idempotent create behind precreate, create and the page methods, with
//! its expiry and Alipay-shaped trade numbers.

use super::super::state::{Status, Trade, now_ms, trade_key};
use super::super::wire::{Obj, Refusal, china_time};
use super::{Call, Sim, amount, required, text, update};

/// Alipay's limit on one order: 100,000,000.00 yuan.
const MAX_TOTAL_FEN: i64 = 10_000_000_000;

/// Creates the trade a payment method asks for, or returns the existing one when the same
/// out_trade_no comes again with the same content (Alipay's idempotent re-submission).
pub(crate) async fn open_trade(
    sim: &Sim,
    call: &Call,
    product_code: &str,
) -> Result<Trade, Refusal> {
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
    let key = trade_key(&call.app_id, call.merchant_id(), &out_trade_no);
    let fresh = Trade {
        app_id: call.app_id.clone(),
        merchant: call.merchant.clone(),
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
        billed_fen: None,
        account_fee_fen: None,
        royalty_freeze: royalty_freeze(call),
        royalty_finished: false,
        settlements: Vec::new(),
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
    .await
}

/// `extend_params.royalty_freeze`, which SDKs send as the string `"true"` or as a JSON boolean.
fn royalty_freeze(call: &Call) -> bool {
    match call
        .biz
        .get("extend_params")
        .and_then(|p| p.get("royalty_freeze"))
    {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    }
}

/// When an unpaid trade closes: `time_expire` (absolute, China time), else `timeout_express`
/// (relative, multiplied by the simulator's time scale so tests can watch a trade expire), else
/// Alipay's defaults (2 h for a QR code, 15 d otherwise; not scaled).
fn expiry(sim: &Sim, call: &Call, now: i64, product_code: &str) -> Result<Option<i64>, Refusal> {
    if let Some(at) = text(call, "time_expire") {
        let ms = super::super::wire::parse_china_time(&at)
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
pub(crate) fn new_trade_no(now: i64) -> String {
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

pub(super) async fn precreate(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let t = open_trade(sim, call, "FACE_TO_FACE_PAYMENT").await?;
    Ok(Obj::success()
        .with("out_trade_no", t.out_trade_no.as_str())
        .with(
            "qr_code",
            format!("{}/sim/alipay/cashier/{}", sim.ctx.base_url(), t.trade_no),
        ))
}

pub(super) async fn create(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let product = text(call, "product_code").unwrap_or_else(|| "JSAPI_PAY".to_owned());
    let t = open_trade(sim, call, &product).await?;
    Ok(Obj::success()
        .with("out_trade_no", t.out_trade_no.as_str())
        .with("trade_no", t.trade_no.as_str()))
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
