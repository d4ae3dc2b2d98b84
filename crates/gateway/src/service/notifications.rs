//! A site's notifications as the merchant API shows them (the events of an order with their
//! delivery attempts, and a resend), and the operator's resends (`paygate notify resend`, the
//! console): one event, or every failed one of a site at once.

use crate::domain::{
    ActedBy, Attempt, AuditAction, AuditEntry, NotificationEvent, OutTradeNo, Site, SiteId,
    Timestamp,
};
use crate::store::Store;

use super::ServiceError;

/// An event and its delivery attempts, oldest first.
#[derive(Debug, Clone)]
pub struct EventHistory {
    pub event: NotificationEvent,
    pub attempts: Vec<Attempt>,
}

/// The sites' notification events. Cheap to clone.
#[derive(Clone)]
pub struct NotificationService {
    store: Store,
}

impl NotificationService {
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The events of one of `site`'s orders, with their attempts.
    ///
    /// # Errors
    /// `NotFound` (also for another site's order with the same number), `Store`.
    pub async fn for_order(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
    ) -> Result<Vec<EventHistory>, ServiceError> {
        let order = super::site_order(&self.store, site, out_trade_no).await?;
        let events = self
            .store
            .notifications_for_order(&site.id, order.id)
            .await?;
        let mut histories = Vec::with_capacity(events.len());
        for event in events {
            let attempts = self.store.attempts(&event.id).await?;
            histories.push(EventHistory { event, attempts });
        }
        Ok(histories)
    }

    /// Queues one of `site`'s events for delivery now (whatever its status), with the retry
    /// schedule restarted; `false` when the site has no such event.
    ///
    /// # Errors
    /// `Store`.
    pub async fn resend(&self, site: &Site, event_id: &str) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .requeue_notification(Some(&site.id), event_id, Timestamp::now())
            .await?)
    }

    /// [`Self::resend`] by a person, with `audit` written in the same transaction as the resend
    /// (nothing is written when the site has no such event).
    ///
    /// # Errors
    /// `Store`.
    pub async fn resend_recorded(
        &self,
        site: &Site,
        event_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .requeue_notification_audited(Some(&site.id), event_id, audit.at, audit)
            .await?)
    }

    /// The operator's resend of any site's event (`paygate notify resend`): as [`Self::resend`],
    /// found whatever its site, and recorded (who, which event) in the same transaction.
    ///
    /// # Errors
    /// `Store`.
    pub async fn resend_any(&self, event_id: &str, by: &ActedBy) -> Result<bool, ServiceError> {
        let now = Timestamp::now();
        let audit = AuditEntry::by(now, by, AuditAction::NotificationResend)
            .on("notification", event_id)
            .detail(format!("{event_id} queued"));
        Ok(self
            .store
            .requeue_notification_audited(None, event_id, now, &audit)
            .await?)
    }

    /// Queues every `failed` event of site `site` for delivery now, each with its retry schedule
    /// restarted, and records it (who, which site, how many) in the same transaction; how many
    /// there were.
    ///
    /// # Errors
    /// `Store`.
    pub async fn resend_failed(&self, site: &SiteId, by: &ActedBy) -> Result<u64, ServiceError> {
        let now = Timestamp::now();
        let audit = |n: u64| {
            AuditEntry::by(now, by, AuditAction::NotificationResendFailed)
                .on("site", site.as_str())
                .detail(format!("{n} failed notifications queued"))
        };
        Ok(self
            .store
            .requeue_failed_notifications(site, now, audit)
            .await?)
    }
}
