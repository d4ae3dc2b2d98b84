//! The one place where what a channel says about an order (a callback, a query answer) changes the
//! order. Everything that learns an upstream result — callbacks, the order-check job — comes here,
//! so the amount check, idempotency and the anomaly record cannot be forgotten by one of them.
//!
//! Idempotent by construction: the change is a compare-and-set on the status, so a duplicate,
//! out-of-order or concurrent delivery of the same news loses the race and is answered `Unchanged`
//! (never an error), and of any number of concurrent deliveries exactly one writes.

use crate::channels::UpstreamStatus;
use crate::domain::{AnomalyKind, Channel, Order, OrderStatus, Timestamp, UpstreamFields};
use crate::store::{Transition, TransitionOutcome};

use super::{OrderService, ServiceError};

/// Where an upstream result came from: recorded in the order's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSource {
    /// The channel called back (verified).
    Callback,
    /// paygate asked the channel.
    Query,
    /// paygate asked the channel because its bill lists a payment paygate did not know of.
    Reconciliation,
}

impl ResultSource {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::Query => "query",
            Self::Reconciliation => "reconciliation",
        }
    }
}

/// What [`OrderService::apply_upstream`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// This call changed the order; the order as it is now.
    Changed(Order),
    /// Nothing to change: no news, a duplicate, or the order is already past it. The order as it
    /// is now.
    Unchanged(Order),
    /// The news contradicts the order (recorded as this anomaly); nothing was changed.
    Refused(AnomalyKind),
}

/// Bound on compare-and-set retries. Each lost race means the status moved forward, and the
/// longest chain (created → pending → failed → paid) is three moves, so this is never reached in
/// practice; it only keeps the loop obviously finite.
const MAX_ATTEMPTS: usize = 4;

impl OrderService {
    /// Applies what the channel says about `order`.
    ///
    /// - `Paid`: the amount must be the order's, else `Refused(AmountMismatch)` (recorded, nothing
    ///   changed). Otherwise created/pending/failed → paid, with the transaction id (WeChat Pay's
    ///   `transaction_id`, Alipay's `trade_no`) and the channel's payment time. A closed order
    ///   paid upstream is a `paid_while_closed` anomaly, and paid when the channel answered a
    ///   query (a callback's word alone leaves it closed until the query it triggers).
    /// - `Closed` → closed (from created/pending); `Failed` → failed (from created/pending).
    /// - `NotPaid`, `Paying`, `NotFound`: nothing to record. `Refunded`: nothing either; refunds
    ///   are recorded from their own answers ([`OrderService::apply_refund_state`]), which keep
    ///   the ledger, not from the trade's state; logged.
    ///
    /// `order` may be stale: a lost compare-and-set re-reads it and tries again from what it is.
    ///
    /// # Errors
    /// `Store` only; duplicates and already-final orders are `Unchanged`.
    pub async fn apply_upstream(
        &self,
        order: &Order,
        status: &UpstreamStatus,
        source: ResultSource,
    ) -> Result<Applied, ServiceError> {
        let channel = order.pay_method.channel();
        let now = Timestamp::now();
        // One app's upstream order of a channel-neutral order ending unpaid (closed, failed) ends
        // nothing: the payer may still pay in another app. Only its payment counts.
        if order.attempt.is_some() && !matches!(status, UpstreamStatus::Paid { .. }) {
            return Ok(Applied::Unchanged(self.current(order).await?));
        }
        let (to, fields, at) = match status {
            UpstreamStatus::Paid {
                transaction_id,
                paid_at,
                amount,
            } => {
                if *amount != order.amount.fen() {
                    let detail = format!(
                        "{} reports {} fen paid for order {} ({}) of {} fen; source {}",
                        channel.as_str(),
                        amount.0,
                        order.id.as_i64(),
                        order.upstream_order_no.as_str(),
                        order.amount.as_i64(),
                        source.as_str(),
                    );
                    let kind = AnomalyKind::AmountMismatch;
                    self.report_anomaly(kind, channel, Some(order.id), detail)
                        .await;
                    return Ok(Applied::Refused(kind));
                }
                // The channel's payment time when it is not in the future (clock skew), since the
                // site is told when the payer paid, not when paygate heard of it.
                let at = paid_at.filter(|t| *t <= now).unwrap_or(now);
                (OrderStatus::Paid, paid_fields(channel, transaction_id), at)
            }
            UpstreamStatus::Closed => (OrderStatus::Closed, UpstreamFields::default(), now),
            UpstreamStatus::Failed => (OrderStatus::Failed, UpstreamFields::default(), now),
            UpstreamStatus::NotPaid | UpstreamStatus::Paying | UpstreamStatus::NotFound => {
                return Ok(Applied::Unchanged(self.current(order).await?));
            }
            UpstreamStatus::Refunded => {
                // The trade's state says some refund happened, not which or how much: the refund
                // records keep the ledger. A refund of an order paygate never saw paid means a
                // payment was missed; say so loudly, but record nothing from this alone.
                let known_paid = matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded);
                if known_paid {
                    tracing::info!(
                        order = order.id.as_i64(),
                        source = source.as_str(),
                        "channel reports the order refunded; its refunds record that"
                    );
                } else {
                    tracing::warn!(
                        order = order.id.as_i64(),
                        status = order.status.as_str(),
                        source = source.as_str(),
                        "channel reports a refund of an order paygate does not know as paid"
                    );
                }
                return Ok(Applied::Unchanged(self.current(order).await?));
            }
        };
        self.transition_to(order, to, fields, at, source).await
    }

    /// The order as stored now (`order` may be stale), so that `Unchanged` always shows it.
    async fn current(&self, order: &Order) -> Result<Order, ServiceError> {
        Ok(self
            .store
            .order_by_id(order.id)
            .await?
            .unwrap_or_else(|| order.clone()))
    }

    /// Compare-and-set from whatever the order is now, until it wins, is already there, or can no
    /// longer get there.
    async fn transition_to(
        &self,
        order: &Order,
        to: OrderStatus,
        fields: UpstreamFields,
        at: Timestamp,
        source: ResultSource,
    ) -> Result<Applied, ServiceError> {
        // Paid through a pay attempt: the order takes the attempt's method and upstream number.
        let through = (to == OrderStatus::Paid && order.attempt.is_some()).then_some(order);
        // A view through an attempt shows the attempt's number, not the one the order was paid
        // through: what is compared is the order as stored.
        let mut current = if through.is_some() {
            self.current(order).await?
        } else {
            order.clone()
        };
        for _ in 0..MAX_ATTEMPTS {
            let already_paid = matches!(current.status, OrderStatus::Paid | OrderStatus::Refunded);
            if to == OrderStatus::Paid && already_paid {
                self.check_same_payment(&current, order, &fields).await;
                return Ok(Applied::Unchanged(current));
            }
            if current.status == to {
                return Ok(Applied::Unchanged(current));
            }
            if to == OrderStatus::Paid && current.status == OrderStatus::Closed {
                // Money for an order the site was told is closed: the operator sees it (named by
                // the upstream order it was paid through), and once the channel itself answers
                // that it is paid, the order is paid and the site told so, to deliver or refund.
                // A callback alone does not reopen an order; the query it triggers does.
                let paid_through = if through.is_some() { order } else { &current };
                self.report_paid_while_closed(paid_through, &fields, source)
                    .await;
                if source == ResultSource::Callback {
                    return Ok(Applied::Unchanged(current));
                }
            }
            if !current.status.can_become(to) {
                // Already final or past it (paid, then closed news arrives late): nothing to do.
                tracing::debug!(
                    order = current.id.as_i64(),
                    status = current.status.as_str(),
                    to = to.as_str(),
                    "upstream news does not apply to the order's status"
                );
                return Ok(Applied::Unchanged(current));
            }
            let transition = Transition {
                order_id: current.id,
                from: current.status,
                to,
                reason: format!("{} {}", source.as_str(), to.as_str()),
                upstream: fields.clone(),
                at,
            };
            match self.store.transition_through(&transition, through).await? {
                TransitionOutcome::Applied { order: changed, .. } => {
                    if let Some(attempt) = through.and_then(|view| view.attempt) {
                        self.close_other_attempts(&changed, attempt);
                    }
                    tracing::info!(
                        order = changed.id.as_i64(),
                        from = transition.from.as_str(),
                        to = to.as_str(),
                        source = source.as_str(),
                        "order status changed by the channel's news"
                    );
                    return Ok(Applied::Changed(changed));
                }
                TransitionOutcome::Lost(latest) => current = latest,
            }
        }
        Ok(Applied::Unchanged(current))
    }

    /// A paid order reported paid again: the same payment, unless the id differs (which would be a
    /// second payment of one order, or a confused channel), or the news is about another of a
    /// channel-neutral order's upstream orders than the one that paid it: the payer paid twice,
    /// in two apps, before the other was closed. Never applied; a human refunds one.
    async fn check_same_payment(&self, order: &Order, news_about: &Order, fields: &UpstreamFields) {
        if news_about.upstream_order_no != order.upstream_order_no {
            let reported = fields
                .transaction_id
                .as_deref()
                .or(fields.trade_no.as_deref())
                .unwrap_or("-");
            let detail = format!(
                "order {} was paid through {} ({}); {} ({}) reports a second payment, transaction {reported}",
                order.id.as_i64(),
                order.upstream_order_no.as_str(),
                order.pay_method,
                news_about.upstream_order_no.as_str(),
                news_about.pay_method,
            );
            let kind = AnomalyKind::SecondPayment;
            let key = format!(
                "{}:{}",
                kind.as_str(),
                news_about.upstream_order_no.as_str()
            );
            self.report_counted_anomaly(
                kind,
                news_about.pay_method.channel(),
                Some(order.id),
                key,
                detail,
            )
            .await;
            return;
        }
        let stored = match order.pay_method.channel() {
            Channel::Wechat => (&order.upstream.transaction_id, &fields.transaction_id),
            Channel::Alipay => (&order.upstream.trade_no, &fields.trade_no),
        };
        if let (Some(known), Some(reported)) = stored
            && known != reported
        {
            let detail = format!(
                "order {} ({}) is paid with {known}; the channel now reports {reported}",
                order.id.as_i64(),
                order.upstream_order_no.as_str()
            );
            let channel = order.pay_method.channel();
            self.report_anomaly(
                AnomalyKind::TransactionMismatch,
                channel,
                Some(order.id),
                detail,
            )
            .await;
        }
    }

    async fn report_paid_while_closed(
        &self,
        order: &Order,
        fields: &UpstreamFields,
        source: ResultSource,
    ) {
        let channel = order.pay_method.channel();
        let reported = fields
            .transaction_id
            .as_deref()
            .or(fields.trade_no.as_deref())
            .unwrap_or("-");
        let detail = format!(
            "{} reports order {} ({}) of {} fen paid, transaction {reported}, but paygate closed it; source {}",
            channel.as_str(),
            order.id.as_i64(),
            order.upstream_order_no.as_str(),
            order.amount.as_i64(),
            source.as_str(),
        );
        // One row per order and source: the callback's claim, and what a query found.
        let key = format!(
            "{}:{}:{}",
            AnomalyKind::PaidWhileClosed.as_str(),
            order.id.as_i64(),
            source.as_str()
        );
        self.report_counted_anomaly(
            AnomalyKind::PaidWhileClosed,
            channel,
            Some(order.id),
            key,
            detail,
        )
        .await;
    }
}

/// The paid order's upstream id, in the field its channel's id belongs in.
fn paid_fields(channel: Channel, id: &str) -> UpstreamFields {
    match channel {
        Channel::Wechat => UpstreamFields {
            transaction_id: Some(id.to_owned()),
            ..UpstreamFields::default()
        },
        Channel::Alipay => UpstreamFields {
            trade_no: Some(id.to_owned()),
            ..UpstreamFields::default()
        },
    }
}
