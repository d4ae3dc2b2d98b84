//! Verified news about an order: found, read by its channel, confirmed where it must be, applied.
//!
//! A verified callback is still matched against paygate's order (channel, merchant, app, amount):
//! the channel reads it against the order, and [`OrderService::apply_upstream`] (the one place an
//! upstream result changes an order) checks the amount. Some news is confirmed by a query first
//! (see [`Confirm`]): every Alipay notification that would change an order (its signed text can be
//! re-cut into other fields), and a payment of an order paygate has closed (money for a closed
//! order is an anomaly; the channel's answer says what really happened).

use crate::channels::{Confirm, NewsRefusal, TradeNews, UpstreamStatus};
use crate::domain::{Channel, Order, OrderStatus, UpstreamOrderNo};
use crate::service::{AnomalyKind, Applied, OrderService, QueryReason, ResultSource};

use super::State;
use super::outcome::{Answer, Outcome};

/// Applies verified news from `channel`.
pub(super) async fn handle(state: &State, channel: Channel, news: &TradeNews) -> Answer {
    match resolve(state, channel, news).await {
        Ok((order, status)) => settle(&state.orders, &order, &status, news.confirm()).await,
        Err(answer) => answer,
    }
}

/// Applies verified news about several orders paid together (a combined order's sub-orders): all
/// of it, or none when any piece contradicts its order. A piece with another amount than its
/// order's is recorded (by the one door, which refuses it) and the others are not applied: a
/// payment that is wrong in part is not believed in part.
pub(super) async fn handle_all(state: &State, channel: Channel, all: &[TradeNews]) -> Answer {
    let service = &state.orders;
    let mut resolved = Vec::with_capacity(all.len());
    for news in all {
        match resolve(state, channel, news).await {
            Ok(found) => resolved.push((found, news.confirm())),
            Err(answer) => return answer,
        }
    }
    for ((order, status), _) in &resolved {
        if let UpstreamStatus::Paid { amount, .. } = status {
            if *amount != order.amount.fen() {
                return apply(service, order, status, ResultSource::Callback).await;
            }
        }
    }
    let mut answer = None;
    for ((order, status), confirm) in &resolved {
        let this = settle(service, order, status, *confirm).await;
        answer = Some(match answer {
            Some(earlier) => Answer::worse(earlier, this),
            None => this,
        });
    }
    answer.unwrap_or(Answer::ok(Outcome::Ignored))
}

/// The order verified news is about and what it means for it; or the answer when it cannot be
/// applied (no such order, another merchant's, malformed).
async fn resolve(
    state: &State,
    channel: Channel,
    news: &TradeNews,
) -> Result<(Order, UpstreamStatus), Answer> {
    let service = &state.orders;
    let order = order_for(service, channel, news.out_trade_no()).await?;
    match state.channels.read_news(news, &order) {
        Ok(status) => Ok((order, status)),
        Err(NewsRefusal::Mismatch(detail)) => {
            Err(mismatched(service, channel, &order, detail).await)
        }
        Err(NewsRefusal::Malformed(detail)) => {
            tracing::error!(order = order.id.as_i64(), %detail, "verified callback without what it must carry");
            Err(Answer::fail(Outcome::Invalid, "malformed notification"))
        }
    }
}

/// Applies what verified news means for `order`, confirmed first where `confirm` says so.
async fn settle(
    service: &OrderService,
    order: &Order,
    status: &UpstreamStatus,
    confirm: Confirm,
) -> Answer {
    match status {
        // Nothing to record: the buyer has not paid yet.
        UpstreamStatus::NotPaid | UpstreamStatus::Paying | UpstreamStatus::NotFound => {
            Answer::ok(Outcome::Ignored)
        }
        UpstreamStatus::Paid { .. }
        | UpstreamStatus::Failed
        | UpstreamStatus::Closed
        | UpstreamStatus::Refunded => confirm_and_apply(service, order, status, confirm).await,
    }
}

/// The order a verified callback is about, by paygate's upstream order number, and of the channel
/// the callback came from. A missing order or one of the other channel is an anomaly.
async fn order_for(
    service: &OrderService,
    channel: Channel,
    upstream_no: &str,
) -> Result<Order, Answer> {
    let found = match UpstreamOrderNo::parse(upstream_no) {
        Ok(no) => service.order_by_upstream_no(&no).await,
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
            return Err(Answer::error());
        }
    };
    if order.pay_method.channel() != channel {
        let detail = format!(
            "verified {} callback for order {} ({upstream_no}), which is a {} order",
            channel.as_str(),
            order.id.as_i64(),
            order.pay_method
        );
        return Err(mismatched(service, channel, &order, detail).await);
    }
    Ok(order)
}

/// Verified news about an order of another merchant, app or channel: an anomaly, refused.
async fn mismatched(
    service: &OrderService,
    channel: Channel,
    order: &Order,
    detail: String,
) -> Answer {
    service
        .report_anomaly(
            AnomalyKind::MerchantMismatch,
            channel,
            Some(order.id),
            detail,
        )
        .await;
    Answer::mismatch()
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
/// [`CALLBACK_QUERY_GAP`](crate::service::CALLBACK_QUERY_GAP). An unreachable channel leaves the
/// order as it is, for its check job.
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
        return Answer::mismatch();
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
        Ok(Applied::Refused(_)) => Answer::mismatch(),
        Err(e) => {
            tracing::error!(order = order.id.as_i64(), error = %e, "callback: could not apply");
            Answer::error()
        }
    }
}
