//! What the console shows and does, for its signed-in users: the dashboard's figures, the order
//! search, an order with everything that happened to it, the actions on an order, the days'
//! reconciliation and the sites' statements. Every read is scoped in its query by the user's role
//! (`Scope`); every action checks that the role may act, goes through the same service call as the
//! API and CLI (`OrderService::refund`, `close`, `NotificationService::resend`…) and is written to
//! the audit log with who, what, on which order and from which address.

mod actions;
mod dashboard;
mod days;
mod detail;
mod protocols;
mod reconciliation;
mod sites;

use std::sync::Arc;

use crate::domain::{
    AnomalyNote, AuditAction, AuditEntry, NotificationStatus, Role, Scope, Site, SiteId, Timestamp,
    User,
};
use crate::store::{ListedAnomaly, ListedEvent, OrderPage, OrderSearch, Store, StoreError};

use super::{NotificationService, OrderService, ServiceError, SiteService};

pub use actions::Acting;
pub use dashboard::{Dashboard, DayPoint, PeriodFigures, PeriodView, STUCK_AFTER};
pub use days::{
    CONSOLE_UTC_OFFSET, local_date, local_day, local_day_start, local_time, parse_local_date,
};
pub use detail::OrderDetail;
pub use protocols::ProtocolChange;
pub use reconciliation::{DayLine, DayPage, DayReport, may_run};
pub use sites::{KEY_DISPLAY_TTL, SiteChange, site_right};

/// Why the console could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No such object within the user's scope (another site's objects are not found either).
    #[error("not found")]
    NotFound,
    /// The user's role may look but not act.
    #[error("this account may not change anything")]
    NotAllowed,
    /// What the service said about the action (a refusal, an upstream failure…).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        Self::Service(ServiceError::Store(e))
    }
}

/// The console's reads and actions. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleService {
    store: Store,
    orders: OrderService,
    notifications: NotificationService,
    sites: SiteService,
    /// The dashboard's days before yesterday, as this node last summed them.
    settled: Arc<dashboard::SettledDays>,
}

impl ConsoleService {
    #[must_use]
    pub fn new(
        store: Store,
        orders: OrderService,
        notifications: NotificationService,
        sites: SiteService,
    ) -> Self {
        Self {
            store,
            orders,
            notifications,
            sites,
            settled: Arc::default(),
        }
    }

    /// One page of the orders `search` asks for (its scope is in it), newest first.
    ///
    /// # Errors
    /// `Service(Store)`.
    pub async fn search(&self, search: &OrderSearch) -> Result<OrderPage, ConsoleError> {
        Ok(self.store.search_orders(search).await?)
    }

    /// The latest `limit` notifications in `status` within `scope` (of one site, with `site`),
    /// newest first, and how many there are in all.
    ///
    /// # Errors
    /// `Service(Store)`.
    pub async fn notifications(
        &self,
        scope: &Scope,
        site: Option<&SiteId>,
        status: NotificationStatus,
        limit: u32,
    ) -> Result<(Vec<ListedEvent>, i64), ConsoleError> {
        let events = self
            .store
            .list_events_in_scope(scope, site, status, limit)
            .await?;
        let count = self
            .store
            .count_events_in_scope(scope, site, status)
            .await?;
        Ok((events, count))
    }

    /// Queues every failed notification of site `site` for delivery again
    /// (`NotificationService::resend_failed`, as `paygate notify resend --failed` does; audited
    /// there); how many.
    ///
    /// # Errors
    /// `NotAllowed` for a viewer, `NotFound` for a site outside the user's scope,
    /// `Service(Store)`.
    pub async fn resend_failed(
        &self,
        acting: Acting<'_>,
        site: &SiteId,
    ) -> Result<u64, ConsoleError> {
        let scope = acting_scope(acting.user)?;
        let site = self.site(&scope, site).await?;
        Ok(self
            .notifications
            .resend_failed(&site.id, &acting.acted_by())
            .await?)
    }

    /// The latest `limit` anomalies within `scope` (the open ones only with `open_only`), newest
    /// first.
    ///
    /// # Errors
    /// `Service(Store)`.
    pub async fn anomalies(
        &self,
        scope: &Scope,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<ListedAnomaly>, ConsoleError> {
        Ok(self
            .store
            .list_anomalies_in_scope(scope, open_only, limit)
            .await?)
    }

    /// Marks anomaly `id` seen to, with `note` (admins only: an anomaly is the operator's to
    /// settle with the channel, and an acknowledged one leaves the dashboard's count), written
    /// with its audit entry.
    ///
    /// # Errors
    /// `NotAllowed` for anyone but an admin, `NotFound`, `Service(Store)`.
    pub async fn acknowledge_anomaly(
        &self,
        acting: Acting<'_>,
        id: i64,
        note: &AnomalyNote,
    ) -> Result<(), ConsoleError> {
        if acting.user.role != Role::Admin {
            return Err(ConsoleError::NotAllowed);
        }
        let at = Timestamp::now();
        let audit = AuditEntry::by(at, &acting.acted_by(), AuditAction::AnomalyAcknowledge)
            .on("anomaly", &id.to_string())
            .detail(note.as_str());
        let found = self
            .store
            .acknowledge_anomaly(id, at, &acting.user.email, note, &audit)
            .await?;
        if found {
            Ok(())
        } else {
            Err(ConsoleError::NotFound)
        }
    }

    /// The sites within `scope`, oldest first (for names and the site filter).
    ///
    /// # Errors
    /// `Service(Store)`.
    pub async fn sites(&self, scope: &Scope) -> Result<Vec<Site>, ConsoleError> {
        match scope {
            Scope::All => Ok(self.store.list_sites().await?),
            Scope::Site(id) => Ok(self.store.find_site(id).await?.into_iter().collect()),
        }
    }
}

/// The scope `user` may act within; `NotAllowed` for a role that may only look.
fn acting_scope(user: &User) -> Result<Scope, ConsoleError> {
    if user.role.may_act() {
        Ok(user.role.scope())
    } else {
        Err(ConsoleError::NotAllowed)
    }
}
