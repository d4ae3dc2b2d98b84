//! An order with everything paygate recorded about it, for its page: status history (with what
//! moved it: a callback, a query, the site), pay attempts, refunds, notifications with every
//! delivery attempt, anomalies, and when its next check is due.

use crate::domain::{
    Anomaly, JobSubject, OrderEvent, OrderId, PayAttempt, Refund, Scope, Site, Split, Timestamp,
};
use crate::store::ListedOrder;

use super::super::EventHistory;
use super::{ConsoleError, ConsoleService};

#[derive(Debug, Clone)]
pub struct OrderDetail {
    /// The order and its refund ledger.
    pub listed: ListedOrder,
    pub site: Site,
    pub history: Vec<OrderEvent>,
    /// A channel-neutral order's upstream orders, one per app the payer opened it in.
    pub attempts: Vec<PayAttempt>,
    pub refunds: Vec<Refund>,
    /// Its profit-sharing splits, the site's own and paygate's (none unless it was made for
    /// profit sharing).
    pub splits: Vec<Split>,
    pub notifications: Vec<EventHistory>,
    pub anomalies: Vec<Anomaly>,
    /// When the order check job next asks the channel; `None` once the order is settled.
    pub next_check: Option<Timestamp>,
    /// The fee the channel kept, as its bill states it once the day is reconciled.
    pub billed_fee: Option<i64>,
}

impl ConsoleService {
    /// The order with row id `id`, if it is within `scope` (`NotFound` otherwise, also for
    /// another site's order).
    ///
    /// # Errors
    /// `NotFound`, `Service(Store)`.
    pub async fn order(&self, scope: &Scope, id: OrderId) -> Result<OrderDetail, ConsoleError> {
        let listed = self
            .store
            .order_in_scope(scope, id)
            .await?
            .ok_or(ConsoleError::NotFound)?;
        let order = &listed.order;
        // Everything below is read by the order's own site: the scope was settled above.
        let site_id = &order.site_id;
        let site = self
            .store
            .find_site(site_id)
            .await?
            .ok_or(ConsoleError::NotFound)?;
        let history = self.store.order_events(site_id, order.id).await?;
        let attempts = if order.neutral {
            self.store.pay_attempts(order.id).await?
        } else {
            Vec::new()
        };
        let refunds = self.store.refunds_for_order(site_id, order.id).await?;
        let splits = if order.profit_sharing {
            self.store.splits_for_order(site_id, order.id).await?
        } else {
            Vec::new()
        };
        let events = self
            .store
            .notifications_for_order(site_id, order.id)
            .await?;
        let mut notifications = Vec::with_capacity(events.len());
        for event in events {
            let attempts = self.store.attempts(&event.id).await?;
            notifications.push(EventHistory { event, attempts });
        }
        let anomalies = self.store.anomalies_for_order(order.id).await?;
        let next_check = self
            .store
            .find_job(&JobSubject::Order(order.id))
            .await?
            .map(|job| job.due_at);
        let billed_fee = self.store.billed_fee(order.id).await?;
        Ok(OrderDetail {
            listed,
            site,
            history,
            attempts,
            refunds,
            splits,
            notifications,
            anomalies,
            next_check,
            billed_fee,
        })
    }
}
