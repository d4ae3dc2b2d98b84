//! Verified news about a refund: the refund and its order found by paygate's numbers, the news read
//! against them by its channel (merchant, numbers, amounts), then ended through
//! [`OrderService::apply_refund_state`], the one place a channel's refund news changes a refund.

use crate::channels::{NewsRefusal, RefundNews};
use crate::domain::{AnomalyKind, Channel, OrderId, UpstreamRefundNo};
use crate::service::{OrderService, RefundApplied};

use super::State;
use super::outcome::{Answer, Outcome};

/// Applies verified refund news from `channel`.
pub(super) async fn handle(state: &State, channel: Channel, news: &RefundNews) -> Answer {
    let service = &state.orders;
    let no = news.out_refund_no();
    let found = match UpstreamRefundNo::parse(no) {
        Ok(no) => service.refund_by_upstream_no(&no).await,
        Err(_) => Ok(None),
    };
    let refund = match found {
        Ok(Some(refund)) => refund,
        Ok(None) => {
            let detail = format!(
                "verified {} refund callback for out_refund_no {no:?}, which paygate does not have",
                channel.as_str()
            );
            service
                .report_anomaly(AnomalyKind::UnknownOrder, channel, None, detail)
                .await;
            return Answer::fail(Outcome::UnknownOrder, "refund not found");
        }
        Err(e) => {
            tracing::error!(error = %e, "refund callback: lookup failed");
            return Answer::error();
        }
    };
    let order = match service.order_by_id(refund.order_id).await {
        Ok(Some(order)) if order.pay_method.channel() == channel => order,
        Ok(found) => {
            let detail = format!(
                "verified {} refund callback for refund {} of order {}, which is {}",
                channel.as_str(),
                refund.id,
                refund.order_id.as_i64(),
                found.map_or_else(
                    || "missing".to_owned(),
                    |o| format!("a {} order", o.pay_method)
                ),
            );
            return refused(service, channel, &refund.order_id, detail).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "refund callback: order lookup failed");
            return Answer::error();
        }
    };
    let reported = match state.channels.read_refund_news(news, &order, &refund) {
        Ok(reported) => reported,
        Err(NewsRefusal::Mismatch(detail) | NewsRefusal::Malformed(detail)) => {
            return refused(service, channel, &order.id, detail).await;
        }
    };
    match service.apply_refund_state(&refund, &reported).await {
        Ok(RefundApplied::Ended(_)) => Answer::ok(Outcome::Applied),
        Ok(RefundApplied::Unchanged(_)) => Answer::ok(Outcome::Unchanged),
        Err(e) => {
            tracing::error!(refund = refund.id, error = %e, "refund callback: could not apply");
            Answer::error()
        }
    }
}

/// Verified refund news that does not match what paygate has: an anomaly, refused.
async fn refused(
    service: &OrderService,
    channel: Channel,
    order: &OrderId,
    detail: String,
) -> Answer {
    service
        .report_anomaly(AnomalyKind::MerchantMismatch, channel, Some(*order), detail)
        .await;
    Answer::mismatch()
}
