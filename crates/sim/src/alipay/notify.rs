//! `trade_status_sync` notifications: form posts signed as Alipay signs them (sorted fields, `sign`
//! and `sign_type` left out), delivered by the shared callback engine until the receiver answers
//! exactly `success`, on Alipay's schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h, scaled).

use std::sync::Arc;
use std::time::Duration;

use super::state::{SANDBOX_BUYER_ID, SANDBOX_BUYER_LOGON_ID, Status, Trade, now_ms};
use super::wire::{china_time, sign_text, yuan};
use super::{CHANNEL, Sim};
use crate::callbacks::{Delivery, Prepared, Success};

/// What happened to the trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Paid,
    /// Closed unpaid (by the control API's `fail`).
    Closed,
    /// A refund went through (the trade is `TRADE_SUCCESS`, or `TRADE_CLOSED` once fully refunded).
    Refund,
    /// The refund window ended.
    Finished,
}

const RETRY_MINUTES: [u64; 7] = [4, 10, 10, 60, 120, 360, 900];

/// Queues the notification for `trade` if it has somewhere to go (its `notify_url`, else the app's).
pub(crate) fn send(sim: &Sim, trade: &Trade, event: Event) {
    let app_url = sim
        .store
        .read(|s| s.apps.get(&trade.app_id).and_then(|a| a.notify_url.clone()));
    let Some(url) = trade.notify_url.clone().or(app_url) else {
        return;
    };
    let Some(keys) = sim.keys(&trade.app_id) else {
        return;
    };
    let fields = fields(trade, event);
    let notify_id = format!("{}{}", trade.trade_no, channel_core::nonce::alphanumeric(8));
    let prepare = Arc::new(move |_attempt: u32| {
        // Each attempt carries its own notify_time and a signature over it, as Alipay's do.
        let mut f = fields.clone();
        f.push(("notify_id".to_owned(), notify_id.clone()));
        f.push(("notify_time".to_owned(), china_time(now_ms())));
        let sign = keys
            .alipay_private
            .sign_base64(sign_text(&f, false).as_bytes());
        f.push(("sign".to_owned(), sign));
        Prepared {
            headers: vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            )],
            body: serde_urlencoded::to_string(&f).unwrap_or_default(),
        }
    });
    sim.ctx.callbacks().deliver(Delivery {
        channel: CHANNEL.to_owned(),
        event: "trade_status_sync".to_owned(),
        reference: trade.out_trade_no.clone(),
        merchant: trade.app_id.clone(),
        url,
        prepare,
        success: Success::Body("success".to_owned()),
        retry_delays: RETRY_MINUTES
            .iter()
            .map(|m| Duration::from_secs(m * 60))
            .collect(),
    });
}

/// The notification's fields, without the per-attempt ones (`notify_id`, `notify_time`, `sign`).
fn fields(t: &Trade, event: Event) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: String| {
        if !v.is_empty() {
            f.push((k.to_owned(), v));
        }
    };
    add("notify_type", "trade_status_sync".into());
    add("charset", "utf-8".into());
    add("version", "1.0".into());
    add("sign_type", "RSA2".into());
    add("app_id", t.app_id.clone());
    // For a trade an app made with a merchant's token, `auth_app_id` is the merchant's own app and
    // `seller_id` the merchant's account, as Alipay notifies ISV calls.
    add("auth_app_id", t.auth_app_id().to_owned());
    add("trade_no", t.trade_no.clone());
    add("out_trade_no", t.out_trade_no.clone());
    add("trade_status", t.status.as_str().into());
    add("total_amount", yuan(t.total_fen));
    add("subject", t.subject.clone());
    add("body", t.body.clone().unwrap_or_default());
    add(
        "passback_params",
        t.passback_params.clone().unwrap_or_default(),
    );
    add("seller_id", t.seller_id().to_owned());
    add("gmt_create", china_time(t.created_ms));
    if let Some(paid) = t.paid_ms {
        match &t.buyer_open_id {
            Some(open_id) => add("buyer_open_id", open_id.clone()),
            None => add(
                "buyer_id",
                t.buyer_id
                    .clone()
                    .unwrap_or_else(|| SANDBOX_BUYER_ID.into()),
            ),
        }
        add("buyer_logon_id", SANDBOX_BUYER_LOGON_ID.into());
        add("receipt_amount", yuan(t.total_fen));
        add("buyer_pay_amount", yuan(t.total_fen));
        add("invoice_amount", yuan(t.total_fen));
        add("point_amount", "0.00".into());
        add("gmt_payment", china_time(paid));
        add(
            "fund_bill_list",
            format!(
                r#"[{{"amount":"{}","fundChannel":"ALIPAYACCOUNT"}}]"#,
                yuan(t.total_fen)
            ),
        );
    }
    if event == Event::Refund {
        if let Some(last) = t.refunds.last() {
            add("refund_fee", yuan(t.refunded_fen()));
            add("out_biz_no", last.out_request_no.clone());
            // Alipay writes refund times with milliseconds.
            add(
                "gmt_refund",
                format!(
                    "{}.{:03}",
                    china_time(last.at_ms),
                    last.at_ms.rem_euclid(1000)
                ),
            );
        }
    }
    if t.status == Status::TradeClosed {
        add("gmt_close", t.closed_ms.map(china_time).unwrap_or_default());
    }
    f
}
