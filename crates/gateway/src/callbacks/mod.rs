//! Channel callbacks: where WeChat Pay and Alipay tell paygate that an order was paid or closed.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /callbacks/wechat/{mchid}` | WeChat Pay's signed, encrypted envelope | 204; else 4xx/5xx `{"code":"FAIL","message":…}` |
//! | `POST /callbacks/alipay/{app_id}` | Alipay's signed form (`trade_status_sync`) | `success`; else `fail` |
//!
//! Nothing in a callback is believed before its signature verifies: an unverified callback changes
//! nothing, is counted as an anomaly (one row per account and window, however many come) and,
//! when the order it names can be found without trusting it, makes paygate ask the channel instead
//! (its check is made due now, at most once per order every [`CALLBACK_QUERY_GAP`](crate::service::CALLBACK_QUERY_GAP)). A verified
//! callback is still matched against paygate's order (merchant, app, amount) by
//! [`OrderService::apply_upstream`], the one place an upstream result changes an order. A failure
//! answer makes the channel retry, which is what a mismatch needs: a human can look meanwhile, and
//! nothing was recorded as paid.
//!
//! Some verified news is confirmed by a query first (see [`Confirm`]): every Alipay notification
//! that would change an order (its signed text can be re-cut into other fields), and a payment of
//! an order paygate has closed (money for a closed order is an anomaly; the channel's answer
//! says what really happened).

mod alipay;
mod wechat;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use std::time::Duration;

use crate::channels::UpstreamStatus;
use crate::domain::{Channel, Order, OrderId, OrderStatus, Timestamp, UpstreamOrderNo};
use crate::service::{AnomalyKind, Applied, OrderService, QueryReason, ResultSource};

/// Unverified callbacks to one account are counted on one anomaly row per window of this length.
const UNVERIFIED_WINDOW: Duration = Duration::from_secs(600);

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
    /// Verified, but it contradicts the order (amount, merchant, app), or the channel's answer to
    /// a query does not confirm it.
    Refused,
    /// Verified, but not confirmed yet: the query to confirm it failed, or one was made moments
    /// ago. The channel retries, and the order's check asks meanwhile.
    Deferred,
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
            Self::Deferred => "deferred",
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
            | Self::Deferred
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
    // The account is the path segment, which `handle` matched against the configured account.
    let key = format!("{}:{}:{account}:{window}", kind.as_str(), channel.as_str());
    service
        .report_counted_anomaly(kind, channel, order, key, detail)
        .await;
}

/// Which verified news is confirmed with a query before it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// Anything that would change the order (Alipay: a verified notification proves only that
    /// Alipay signed a text `k=v&k=v…` whose raw values may re-split into other fields).
    Changes,
    /// Only a payment of an order paygate has closed (WeChat Pay: the callback's resource is
    /// encrypted and signed as a whole, so it says what it says).
    PaidWhileClosed,
}

/// Whether applying `news` could change `order` (a duplicate, or news the order is past, cannot).
fn would_change(order: &Order, news: &UpstreamStatus) -> bool {
    let open = match order.status {
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => true,
        OrderStatus::Paid | OrderStatus::Closed | OrderStatus::Refunded => false,
    };
    match news {
        UpstreamStatus::Paid { .. } | UpstreamStatus::Closed | UpstreamStatus::Failed => open,
        UpstreamStatus::NotPaid
        | UpstreamStatus::Paying
        | UpstreamStatus::NotFound
        | UpstreamStatus::Refunded => false,
    }
}

fn is_paid(news: &UpstreamStatus) -> bool {
    matches!(news, UpstreamStatus::Paid { .. })
}

/// Applies a verified callback's news to its order, after confirming it with the channel where
/// `confirm` says so. One query per payment: a duplicate of news already recorded is applied
/// (as a no-op) without asking, and at most one confirming query per order is made every
/// [`CALLBACK_QUERY_GAP`](crate::service::CALLBACK_QUERY_GAP). An unreachable channel leaves the order as it is, for its check job.
async fn confirm_and_apply(
    service: &OrderService,
    order: &Order,
    news: &UpstreamStatus,
    confirm: Confirm,
) -> Answer {
    let paid_while_closed = is_paid(news) && order.status == OrderStatus::Closed;
    let ask = paid_while_closed
        || match confirm {
            Confirm::Changes => would_change(order, news),
            Confirm::PaidWhileClosed => false,
        };
    if !ask {
        return apply(service, order, news, ResultSource::Callback).await;
    }
    // Where the callback alone is believed, what it says is recorded first (for a closed order,
    // as an anomaly); the query then adds what the channel says now.
    let recorded = match confirm {
        Confirm::PaidWhileClosed => Some(apply(service, order, news, ResultSource::Callback).await),
        Confirm::Changes => None,
    };
    let not_now = |message| recorded.unwrap_or(Answer::fail(Outcome::Deferred, message));
    if !service
        .claim_callback_query(order.id, QueryReason::Confirm)
        .await
    {
        return not_now("asked the channel moments ago; retry later");
    }
    // Unreachable or unclear: nothing is believed, the order stays as it is, and its check job
    // (which keeps asking on its schedule) or the channel's retry finds out.
    let Ok(reported) = service.query_channel(order).await else {
        return not_now("could not confirm with the channel; retry later");
    };
    if is_paid(news) && !is_paid(&reported) {
        report_unconfirmed(service, order, news, &reported).await;
        // What the channel answered is still news (a closed trade closes the order).
        let _ = apply(service, order, &reported, ResultSource::Query).await;
        return Answer::fail(
            Outcome::Refused,
            "the notification does not match the order",
        );
    }
    let applied = apply(service, order, &reported, ResultSource::Query).await;
    recorded.unwrap_or(applied)
}

/// A verified notification says paid; the channel, asked, says otherwise.
async fn report_unconfirmed(
    service: &OrderService,
    order: &Order,
    news: &UpstreamStatus,
    reported: &UpstreamStatus,
) {
    let channel = order.pay_method.channel();
    let claimed = match news {
        UpstreamStatus::Paid { transaction_id, .. } => transaction_id.as_str(),
        _ => "-",
    };
    let detail = format!(
        "verified {} notification says order {} ({}) is paid, transaction {claimed:?}; queried, the channel says {reported:?}",
        channel.as_str(),
        order.id.as_i64(),
        order.upstream_order_no.as_str(),
    );
    let kind = AnomalyKind::UnconfirmedPayment;
    let key = format!("{}:{}", kind.as_str(), order.id.as_i64());
    service
        .report_counted_anomaly(kind, channel, Some(order.id), key, detail)
        .await;
}

/// Applies news (a verified callback's, or a query's that confirmed one) to its order.
async fn apply(
    service: &OrderService,
    order: &Order,
    status: &UpstreamStatus,
    source: ResultSource,
) -> Answer {
    match service.apply_upstream(order, status, source).await {
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
