//! Refunds, whole or partial and idempotent per `out_request_no`, and the refund query.

use super::super::notify;
use super::super::state::{Refund, SANDBOX_BUYER_ID, SANDBOX_BUYER_LOGON_ID, Status, now_ms};
use super::super::wire::{Obj, Refusal, china_time, yuan};
use super::{Call, Sim, amount, find, required, text, update};

pub(super) async fn refund(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
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
        // Money already split to royalty receivers is no longer the merchant's to refund.
        if amount_fen > t.refundable_fen() {
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
    })
    .await?;
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
        .with("seller_id", t.seller_id()))
}

pub(super) async fn refund_query(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
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
    .await
}
