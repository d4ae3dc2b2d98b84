//! `POST /callbacks/wechat/{mchid}`: WeChat Pay notifications (TRANSACTION.SUCCESS, REFUND.*).
//!
//! Verified by the merchant's client (signature over the raw body, timestamp skew, key id), then
//! decrypted (AEAD_AES_256_GCM with the APIv3 key). Answered 204 when received, else 4xx/5xx with
//! `{"code":"FAIL","message":…}`, which WeChat Pay retries (15 times over a day).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use channel_core::Fen;
use serde_json::json;
use wechatpay::{NotificationEvent, Transaction};

use super::{
    Answer, Confirm, Outcome, confirm_and_apply, count, count_unverified, order_for, timestamp_of,
};
use crate::channels::{UpstreamStatus, WechatAccount, WechatAppIds};
use crate::domain::{Channel, Method, Order};
use crate::log_gate::{self, LogGate};
use crate::service::{AnomalyKind, OrderService};

pub(super) async fn receive(
    State(service): State<OrderService>,
    Path(mchid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = handle(&service, &mchid, &headers, &body).await;
    count(Channel::Wechat, answer.outcome);
    respond(answer)
}

async fn handle(service: &OrderService, mchid: &str, headers: &HeaderMap, body: &[u8]) -> Answer {
    let Some(account) = service.channels().wechat().filter(|a| a.mchid == mchid) else {
        static GATE: LogGate = LogGate::new();
        if let Some(occurrences) = GATE.pass() {
            tracing::warn!(
                mchid = ?log_gate::bounded(mchid),
                occurrences,
                "WeChat Pay callback for a merchant paygate does not have"
            );
        }
        return Answer::fail(Outcome::NotOurs, "unknown merchant");
    };
    let notification = match account.client.verify_notification(headers, body).await {
        Ok(n) => n,
        Err(e) => return refuse_unverified(service, mchid, &e).await,
    };
    match notification.event {
        NotificationEvent::TransactionSuccess(t) => paid(service, account, &t).await,
        NotificationEvent::Refund(r) => {
            // Refunds are a later issue: acknowledged so WeChat Pay stops retrying, and logged.
            tracing::info!(event = %notification.event_type, out_trade_no = %r.out_trade_no, out_refund_no = %r.out_refund_no, "WeChat Pay refund notification received; refunds are not recorded yet");
            Answer::ok(Outcome::Ignored)
        }
        // paygate never creates service-provider or combined orders, so these cannot be about one
        // of its orders; retrying would not change that.
        NotificationEvent::PartnerTransactionSuccess(_)
        | NotificationEvent::CombineTransactionSuccess(_)
        | NotificationEvent::Unmodelled => {
            tracing::warn!(event = %notification.event_type, id = %notification.id, "WeChat Pay notification paygate does not handle");
            Answer::ok(Outcome::Ignored)
        }
    }
}

/// A callback that did not verify changes nothing and is recorded. Its order cannot be identified
/// without trusting it (the resource is encrypted, and decrypting what failed its signature would
/// be trusting it), so no check is expedited: the order's scheduled check still finds out.
async fn refuse_unverified(service: &OrderService, mchid: &str, e: &wechatpay::Error) -> Answer {
    let answer = match e {
        wechatpay::Error::Signature(_) => {
            Answer::fail(Outcome::Unverified, "signature verification failed")
        }
        // The signature verified, so this is WeChat Pay's message and paygate cannot read it: its
        // APIv3 key is wrong. A 5xx keeps WeChat Pay retrying until the operator fixes it.
        wechatpay::Error::Decrypt => {
            Answer::fail(Outcome::Undecryptable, "cannot decrypt resource")
        }
        wechatpay::Error::Decode(_) => Answer::fail(Outcome::Invalid, "malformed notification"),
        wechatpay::Error::Transport(_)
        | wechatpay::Error::Upstream { .. }
        | wechatpay::Error::BillHashMismatch { .. }
        | wechatpay::Error::Config(_)
        | wechatpay::Error::InvalidRequest(_) => {
            Answer::fail(Outcome::Error, "internal error, retry later")
        }
    };
    match answer.outcome {
        Outcome::Unverified | Outcome::Undecryptable => {
            // The error names what failed (bad signature, stale timestamp, unknown serial): never
            // the signature itself or anything secret.
            let detail = format!("WeChat Pay callback to merchant {mchid} not accepted: {e}");
            count_unverified(service, Channel::Wechat, mchid, None, detail).await;
        }
        // Garbled bodies are anyone's to send: logged like the other unauthenticated lines.
        Outcome::Invalid => {
            static GATE: LogGate = LogGate::new();
            if let Some(occurrences) = GATE.pass() {
                tracing::warn!(error = %e, occurrences, "malformed WeChat Pay callback");
            }
        }
        _ => tracing::error!(error = %e, "WeChat Pay callback could not be handled"),
    }
    answer
}

/// TRANSACTION.SUCCESS: the order must be ours, of this merchant and app, and of this amount.
async fn paid(service: &OrderService, account: &WechatAccount, t: &Transaction) -> Answer {
    let order = match order_for(service, Channel::Wechat, &t.out_trade_no).await {
        Ok(order) => order,
        Err(answer) => return answer,
    };
    let expected_appid = appid_of(&order, &account.appids);
    if t.merchant.mchid != account.mchid || expected_appid != Some(t.merchant.appid.as_str()) {
        let detail = format!(
            "verified TRANSACTION.SUCCESS for order {} names mchid {} appid {}; the order is mchid {} appid {}",
            order.id.as_i64(),
            t.merchant.mchid,
            t.merchant.appid,
            account.mchid,
            expected_appid.unwrap_or("-"),
        );
        service
            .report_anomaly(
                AnomalyKind::MerchantMismatch,
                Channel::Wechat,
                Some(order.id),
                detail,
            )
            .await;
        return Answer::fail(
            Outcome::Refused,
            "the notification does not match the order",
        );
    }
    // A success without the fields a payment carries is not one paygate can record.
    let (Some(transaction_id), Some(amount)) = (&t.transaction_id, &t.amount) else {
        tracing::error!(
            order = order.id.as_i64(),
            "TRANSACTION.SUCCESS without transaction_id or amount"
        );
        return Answer::fail(Outcome::Invalid, "malformed notification");
    };
    let status = UpstreamStatus::Paid {
        transaction_id: transaction_id.clone(),
        paid_at: t.success_time.map(timestamp_of),
        // The order total, not what the payer paid after discounts.
        amount: Fen(amount.total),
    };
    confirm_and_apply(service, &order, &status, Confirm::PaidWhileClosed).await
}

/// The appid the order's method pays under (as `channels` creates it).
fn appid_of<'a>(order: &Order, ids: &'a WechatAppIds) -> Option<&'a str> {
    match order.pay_method.method() {
        Method::Native | Method::Jsapi | Method::H5 => Some(&ids.mp),
        Method::Miniapp => ids.miniapp.as_deref(),
        Method::App => ids.app.as_deref(),
        // Not WeChat Pay methods; `order_for` already refused orders of the other channel.
        Method::Qr | Method::Wap | Method::Page => None,
    }
}

fn respond(answer: Answer) -> Response {
    if answer.outcome.accepted() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let status = match answer.outcome {
        Outcome::Unverified => StatusCode::UNAUTHORIZED,
        Outcome::Refused | Outcome::Invalid => StatusCode::BAD_REQUEST,
        Outcome::UnknownOrder | Outcome::NotOurs => StatusCode::NOT_FOUND,
        Outcome::Deferred => StatusCode::SERVICE_UNAVAILABLE,
        Outcome::Undecryptable
        | Outcome::Error
        | Outcome::Applied
        | Outcome::Unchanged
        | Outcome::Ignored => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        Json(json!({ "code": "FAIL", "message": answer.message })),
    )
        .into_response()
}
