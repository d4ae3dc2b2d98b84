//! Callbacks that were not accepted before any order was looked at: addressed to no account of
//! paygate's, failing verification, or garbled. They change nothing.
//!
//! An unverified callback is counted as an anomaly (one row per account and window, however many
//! come) and, when the order it names can be found without trusting it, makes paygate ask the
//! channel instead: its check is made due now, at most once per order every
//! [`CALLBACK_QUERY_GAP`](crate::service::CALLBACK_QUERY_GAP).

use std::time::Duration;

use crate::channels::{Received, Rejection};
use crate::domain::{Channel, OrderId, Timestamp, UpstreamOrderNo};
use crate::log_gate::{self, LogGate};
use crate::service::{AnomalyKind, OrderService};

use super::outcome::{Answer, Outcome};

/// Unverified callbacks to one account are counted on one anomaly row per window of this length.
const UNVERIFIED_WINDOW: Duration = Duration::from_secs(600);

/// Records why a callback was not accepted, and answers it.
pub(super) async fn handle(
    service: &OrderService,
    channel: Channel,
    received: Received<'_>,
    rejection: Rejection,
) -> Answer {
    let account = received.account;
    match rejection {
        Rejection::NotOurs => {
            // Anyone can send these: logged, gated.
            static GATE: LogGate = LogGate::new();
            if let Some(occurrences) = GATE.pass() {
                tracing::warn!(
                    channel = channel.as_str(),
                    account = ?log_gate::bounded(account),
                    occurrences,
                    "callback for an account paygate does not have"
                );
            }
            Answer::fail(Outcome::NotOurs, "unknown account")
        }
        Rejection::Unverified {
            detail,
            claimed_order,
        } => {
            let order = claimed(service, channel, claimed_order.as_deref()).await;
            count_unverified(service, channel, account, order, detail).await;
            if let Some(id) = order {
                service.expedite_check(id).await;
            }
            Answer::fail(Outcome::Unverified, "signature verification failed")
        }
        // A 5xx keeps the channel retrying until the operator fixes the key.
        Rejection::Undecryptable { detail } => {
            count_unverified(service, channel, account, None, detail).await;
            Answer::fail(Outcome::Undecryptable, "cannot decrypt resource")
        }
        Rejection::Invalid(message) => {
            static GATE: LogGate = LogGate::new();
            if let Some(occurrences) = GATE.pass() {
                tracing::warn!(channel = channel.as_str(), %message, occurrences, "malformed callback");
            }
            Answer::fail(Outcome::Invalid, "malformed notification")
        }
        Rejection::Error(message) => {
            tracing::error!(channel = channel.as_str(), %message, "callback could not be checked");
            Answer::error()
        }
    }
}

/// The order an unverified callback claims to be about, if it is one of `channel`'s orders.
async fn claimed(
    service: &OrderService,
    channel: Channel,
    claimed: Option<&str>,
) -> Option<OrderId> {
    let no = UpstreamOrderNo::parse(claimed?).ok()?;
    match service.order_by_upstream_no(&no).await {
        Ok(order) => order
            .filter(|o| o.pay_method.channel() == channel)
            .map(|o| o.id),
        Err(e) => {
            tracing::error!(error = %e, "order lookup for an unverified callback failed");
            None
        }
    }
}

/// Records an unverified callback to `account` of `channel`: counted on one anomaly row per
/// account and [`UNVERIFIED_WINDOW`], whose detail is the window's first callback (and `order`
/// the order it named, if it could be found).
async fn count_unverified(
    service: &OrderService,
    channel: Channel,
    account: &str,
    order: Option<OrderId>,
    detail: String,
) {
    let window_ms = i64::try_from(UNVERIFIED_WINDOW.as_millis()).unwrap_or(i64::MAX);
    let window = Timestamp::now().as_millis() / window_ms;
    let kind = AnomalyKind::CallbackUnverified;
    // The account is the path segment, which the channel matched against its configured account.
    let key = format!("{}:{}:{account}:{window}", kind.as_str(), channel.as_str());
    service
        .report_counted_anomaly(kind, channel, order, key, detail)
        .await;
}
