//! `POST /callbacks/alipay/{app_id}`: Alipay's `trade_status_sync` notifications.
//!
//! Verified by the app's client (RSA2 over the sorted fields without `sign` and `sign_type`;
//! `sign_type` must be `RSA2`, and the notification must name this app and its merchant account,
//! `seller_id`). Then confirmed: Alipay signs raw `k=v&k=v` text, so a notification's fields are
//! not proof of what they say (a `subject` holding `&trade_status=TRADE_SUCCESS…` re-splits into
//! other fields under the same signature). News that would change the order is checked with
//! `alipay.trade.query` and the query's answer is what gets applied. Answered with the plain text
//! `success` when handled, which includes duplicates; anything else makes Alipay retry (about 8
//! times over 25 hours).

use ::alipay::{NOTIFICATION_ACK, Notification, TradeStatus};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{
    Answer, Confirm, Outcome, confirm_and_apply, count, count_unverified, order_for, timestamp_of,
};
use crate::channels::UpstreamStatus;
use crate::domain::{Channel, Order, OrderStatus, UpstreamOrderNo};
use crate::log_gate::{self, LogGate};
use crate::service::OrderService;

pub(super) async fn receive(
    State(service): State<OrderService>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let answer = handle(&service, &app_id, &body).await;
    count(Channel::Alipay, answer.outcome);
    respond(answer)
}

async fn handle(service: &OrderService, app_id: &str, body: &[u8]) -> Answer {
    let Some(account) = service.channels().alipay().filter(|a| a.app_id == app_id) else {
        static GATE: LogGate = LogGate::new();
        if let Some(occurrences) = GATE.pass() {
            tracing::warn!(
                app_id = ?log_gate::bounded(app_id),
                occurrences,
                "Alipay notification for an app paygate does not have"
            );
        }
        return Answer::fail(Outcome::NotOurs, "unknown app");
    };
    match account.client.verify_notification(body) {
        Ok(n) => verified(service, &n).await,
        Err(::alipay::Error::Signature(failure)) => {
            refuse_unverified(service, app_id, &failure, body).await
        }
        Err(::alipay::Error::Decode(message)) => {
            static GATE: LogGate = LogGate::new();
            if let Some(occurrences) = GATE.pass() {
                tracing::warn!(%message, occurrences, "malformed Alipay notification");
            }
            Answer::fail(Outcome::Invalid, "malformed notification")
        }
        Err(
            e @ (::alipay::Error::Transport(_)
            | ::alipay::Error::Upstream { .. }
            | ::alipay::Error::Config(_)),
        ) => {
            tracing::error!(error = %e, "Alipay notification could not be handled");
            Answer::fail(Outcome::Error, "internal error")
        }
    }
}

/// Changes nothing and is counted; the order it names (read from the form, not trusted) is
/// checked with Alipay now instead (at most once per order every few minutes), which is how a
/// real payment behind a garbled notification still gets recorded.
async fn refuse_unverified(
    service: &OrderService,
    app_id: &str,
    failure: &::alipay::SignatureFailure,
    body: &[u8],
) -> Answer {
    let claimed = claimed_field(body, "out_trade_no");
    let order = match claimed.as_deref().map(UpstreamOrderNo::parse) {
        Some(Ok(no)) => match service.store().find_order_by_upstream_no(&no).await {
            Ok(order) => order.filter(|o| o.pay_method.channel() == Channel::Alipay),
            Err(e) => {
                tracing::error!(error = %e, "order lookup for an unverified notification failed");
                None
            }
        },
        Some(Err(_)) | None => None,
    };
    // The claimed number is attacker-controlled text: quoted, and bounded by the anomaly record.
    let detail = format!(
        "Alipay notification to app {app_id} not accepted: {failure}; it claims out_trade_no {:?}, trade_status {:?}",
        claimed.as_deref().unwrap_or("-"),
        claimed_field(body, "trade_status")
            .as_deref()
            .unwrap_or("-"),
    );
    let order_id = order.as_ref().map(|o| o.id);
    count_unverified(service, Channel::Alipay, app_id, order_id, detail).await;
    if let Some(id) = order_id {
        service.expedite_check(id).await;
    }
    Answer::fail(Outcome::Unverified, "signature verification failed")
}

/// A field of the form as sent, for identifying what an unverified notification is about only.
fn claimed_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.chars().take(64).collect())
}

async fn verified(service: &OrderService, n: &Notification) -> Answer {
    let order = match order_for(service, Channel::Alipay, &n.out_trade_no).await {
        Ok(order) => order,
        Err(answer) => return answer,
    };
    let status = match n.trade_status {
        // Created, not paid: nothing to record.
        TradeStatus::WaitBuyerPay => return Answer::ok(Outcome::Ignored),
        // Refund notifications also say TRADE_SUCCESS (with `refund_fee`): the trade was paid, so
        // for an order paygate already has as paid this is a duplicate, and for one it missed it
        // is the payment.
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => UpstreamStatus::Paid {
            transaction_id: n.trade_no.clone(),
            paid_at: n.gmt_payment.map(timestamp_of),
            amount: n.total_amount,
        },
        TradeStatus::TradeClosed => closed_or_refunded(n, &order),
    };
    confirm_and_apply(service, &order, &status, Confirm::Changes).await
}

/// `TRADE_CLOSED` is both "closed unpaid" and "refunded in full"; a trade that was ever paid shows
/// it (refund fields, a payment time), and paygate's own record of the payment settles it.
fn closed_or_refunded(n: &Notification, order: &Order) -> UpstreamStatus {
    let known_paid = match order.status {
        OrderStatus::Paid | OrderStatus::Refunded => true,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed | OrderStatus::Closed => {
            false
        }
    };
    if known_paid || n.refund_fee.is_some() || n.gmt_payment.is_some() || n.gmt_refund.is_some() {
        UpstreamStatus::Refunded
    } else {
        UpstreamStatus::Closed
    }
}

fn respond(answer: Answer) -> Response {
    let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if answer.outcome.accepted() {
        return (StatusCode::OK, plain, NOTIFICATION_ACK).into_response();
    }
    // Alipay only looks for the exact body `success`; the status is for logs and people.
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
    (status, plain, "fail").into_response()
}
