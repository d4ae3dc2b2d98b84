//! Reading a trade as Alipay shows it (query) and closing an unpaid one.

use super::super::state::{SANDBOX_BUYER_ID, SANDBOX_BUYER_LOGON_ID, Status, Trade, now_ms};
use super::super::wire::{Obj, Refusal, china_time, yuan};
use super::{Call, Sim, find, update};

fn trade_obj(t: &Trade) -> Obj {
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

pub(super) async fn query(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    update(sim, |s| find(s, call).map(|t| trade_obj(t))).await
}

pub(super) async fn close(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
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
    })
    .await?;
    Ok(Obj::success()
        .with("trade_no", t.trade_no.as_str())
        .with("out_trade_no", t.out_trade_no.as_str()))
}
