//! Channel callbacks: where WeChat Pay and Alipay tell paygate that an order was paid or closed.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /callbacks/wechat/{mchid}` | WeChat Pay's signed, encrypted envelope | 204; else 4xx/5xx `{"code":"FAIL","message":…}` |
//! | `POST /callbacks/alipay/{app_id}` | Alipay's signed form (`trade_status_sync`) | `success`; else `fail` |
//!
//! Nothing in a callback is believed before its signature verifies: an unverified callback changes
//! nothing, is recorded as an anomaly and, when the order it names can be found without trusting it,
//! makes paygate ask the channel instead (its check is made due now). A verified callback is still
//! matched against paygate's order (merchant, app, amount) by [`OrderService::apply_upstream`],
//! the one place an upstream result changes an order. A failure answer makes the channel retry,
//! which is what a mismatch needs: a human can look meanwhile, and nothing was recorded as paid.

mod alipay;
mod wechat;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use crate::channels::UpstreamStatus;
use crate::domain::{Channel, Order, UpstreamOrderNo};
use crate::service::{AnomalyKind, Applied, OrderService, ResultSource};

/// Callbacks are a few KB (WeChat's envelope, Alipay's form); anything much larger is not one.
const BODY_LIMIT: usize = 16 * 1024;

/// The callback routes, to merge into the API router (which adds request ids, tracing and the
/// request metrics). The state is the order service the API uses.
pub fn routes<S>(service: OrderService) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/callbacks/wechat/{mchid}", post(wechat::receive))
        .route("/callbacks/alipay/{app_id}", post(alipay::receive))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(service)
}

/// What became of one callback: the `outcome` label of `paygate_callbacks_total`, and whether the
/// channel is told it was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The order changed.
    Applied,
    /// Verified and consistent, but nothing to change (a duplicate, or the order is past it).
    Unchanged,
    /// Verified, about something paygate does not act on yet (refunds, waiting for the buyer).
    Ignored,
    /// The signature (or timestamp, key id) did not verify.
    Unverified,
    /// Signed by the channel, but paygate cannot decrypt it (its APIv3 key is wrong).
    Undecryptable,
    /// Verified, but it contradicts the order (amount, merchant, app).
    Refused,
    /// Verified, about an order paygate does not have.
    UnknownOrder,
    /// Not a well-formed notification.
    Invalid,
    /// Addressed to an account paygate does not have (path, or the channel is not configured).
    NotOurs,
    /// paygate could not handle it (database): the channel should retry.
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Ignored => "ignored",
            Self::Unverified => "unverified",
            Self::Undecryptable => "undecryptable",
            Self::Refused => "refused",
            Self::UnknownOrder => "unknown_order",
            Self::Invalid => "invalid",
            Self::NotOurs => "not_ours",
            Self::Error => "error",
        }
    }

    /// Whether the channel is told "received" (and stops retrying).
    fn accepted(self) -> bool {
        match self {
            Self::Applied | Self::Unchanged | Self::Ignored => true,
            Self::Unverified
            | Self::Undecryptable
            | Self::Refused
            | Self::UnknownOrder
            | Self::Invalid
            | Self::NotOurs
            | Self::Error => false,
        }
    }
}

/// An outcome and, for a failure, the message the channel gets (never a secret or a detail that
/// would help a forger).
#[derive(Debug, Clone, Copy)]
struct Answer {
    outcome: Outcome,
    message: &'static str,
}

impl Answer {
    const fn ok(outcome: Outcome) -> Self {
        Self {
            outcome,
            message: "",
        }
    }

    const fn fail(outcome: Outcome, message: &'static str) -> Self {
        Self { outcome, message }
    }
}

/// Counts one callback for `/metrics`.
fn count(channel: Channel, outcome: Outcome) {
    metrics::counter!(
        "paygate_callbacks_total",
        "channel" => channel.as_str(),
        "outcome" => outcome.as_str(),
    )
    .increment(1);
}

/// The order a verified callback is about, by paygate's upstream order number, and of the channel
/// the callback came from. A missing order or one of the other channel is an anomaly.
async fn order_for(
    service: &OrderService,
    channel: Channel,
    upstream_no: &str,
) -> Result<Order, Answer> {
    let found = match UpstreamOrderNo::parse(upstream_no) {
        Ok(no) => service.store().find_order_by_upstream_no(&no).await,
        // Not a number paygate ever makes: certainly not one of its orders.
        Err(_) => Ok(None),
    };
    let order = match found {
        Ok(Some(order)) => order,
        Ok(None) => {
            let detail = format!(
                "verified {} callback for out_trade_no {upstream_no:?}, which paygate does not have",
                channel.as_str()
            );
            service
                .report_anomaly(AnomalyKind::UnknownOrder, channel, None, detail)
                .await;
            return Err(Answer::fail(Outcome::UnknownOrder, "order not found"));
        }
        Err(e) => {
            tracing::error!(error = %e, "callback: order lookup failed");
            return Err(Answer::fail(Outcome::Error, "internal error, retry later"));
        }
    };
    if order.pay_method.channel() != channel {
        let detail = format!(
            "verified {} callback for order {} ({upstream_no}), which is a {} order",
            channel.as_str(),
            order.id.as_i64(),
            order.pay_method
        );
        service
            .report_anomaly(
                AnomalyKind::MerchantMismatch,
                channel,
                Some(order.id),
                detail,
            )
            .await;
        return Err(Answer::fail(
            Outcome::Refused,
            "the notification does not match the order",
        ));
    }
    Ok(order)
}

/// Applies a verified callback's news to its order.
async fn apply(service: &OrderService, order: &Order, status: &UpstreamStatus) -> Answer {
    match service
        .apply_upstream(order, status, ResultSource::Callback)
        .await
    {
        Ok(Applied::Changed(_)) => Answer::ok(Outcome::Applied),
        Ok(Applied::Unchanged(_)) => Answer::ok(Outcome::Unchanged),
        Ok(Applied::Refused(_)) => Answer::fail(
            Outcome::Refused,
            "the notification does not match the order",
        ),
        Err(e) => {
            tracing::error!(order = order.id.as_i64(), error = %e, "callback: could not apply");
            Answer::fail(Outcome::Error, "internal error, retry later")
        }
    }
}

/// The channel's instant in paygate's milliseconds.
fn timestamp_of(t: time::OffsetDateTime) -> crate::domain::Timestamp {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    crate::domain::Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}
