//! What paygate does, independent of HTTP: orders (create, idempotent and crash-safe; read; close;
//! apply what a channel says), sites (who signed a request) and notifications (what a site was
//! told), console accounts (`accounts`: users, logins, sessions, the audit log), and what the
//! console shows and does (`console`: scoped reads, and actions through the services above). The
//! merchant API, the console, the callbacks and the order checker talk to these services, never to
//! the store; [`Services`] builds each once.
//!
//! The rule that makes create crash-safe: the order row is committed (status `created`) before the
//! channel hears of it, and the channel call is idempotent for the same order (same upstream order
//! number, same stored expiry). So whatever point a crash or a lost answer interrupts, the next
//! create or GET of that order calls the channel again and gets the same upstream order back.

mod accounts;
mod anomalies;
mod attempts;
mod callback_queries;
mod close;
mod combined;
mod compat_keys;
pub mod console;
mod create;
mod error;
mod failpoint;
mod locks;
mod notifications;
mod payments;
mod planned_splits;
mod read;
mod refund_requests;
mod refunds;
mod sites;
mod splits;
mod upstream;

use std::sync::Arc;

pub use crate::domain::AnomalyKind;
pub use accounts::{
    AccountError, AccountPolicy, AccountService, LoginAttempt, PasswordCost, SignedIn,
};
pub use attempts::NEUTRAL_METHODS;
pub use callback_queries::{CALLBACK_QUERY_GAP, QueryReason};
pub use combined::{CombineError, CombinedView};
pub use compat_keys::{CompatKeyService, KeyChange};
pub use console::{
    Acting, ConsoleError, ConsoleService, Dashboard, DayPoint, OrderDetail, PeriodFigures,
    PeriodView, ProtocolChange, SiteChange, site_right,
};
pub use error::{ServiceError, UpstreamOp};
pub use failpoint::Failpoint;
pub use notifications::{EventHistory, NotificationService};
pub use payments::{Applied, ResultSource};
pub use planned_splits::PlannedSplits;
pub use read::ChannelCheck;
pub use refund_requests::{DEFAULT_REFUND_CHECK_AFTER, RefundView, Taken, take_refund};
pub use refunds::{RefundApplied, end_of as refund_end_of};
pub use sites::SiteService;
pub use splits::{SplitView, end_of as split_end_of};

use crate::channels::{ChannelError, Channels, PayParams};
use crate::domain::{Channel, Order, OrderStatus, OutTradeNo, Site};
use crate::store::Store;

use locks::OrderLocks;

/// What the service needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Where payers reach this paygate, without a trailing slash: `checkout_url` is built on it.
    pub public_url: String,
    /// Only ever set in test builds; see [`Failpoint`].
    pub failpoint: Option<Failpoint>,
    /// When the check job first asks about a refund the API sent itself (the refund's answer
    /// usually comes first; the job is for the answers that never do).
    pub refund_check_after: std::time::Duration,
    /// When the check job first asks about a new order: the compensation schedule's first step
    /// (a job due earlier would run only to wait for it, two writes for nothing on the busiest
    /// path). Zero makes it due at creation, from where the checker waits for its schedule.
    pub order_check_after: std::time::Duration,
}

impl ServiceSettings {
    /// Settings for a paygate reached at `public_url`, without failpoint, refunds first checked
    /// after [`DEFAULT_REFUND_CHECK_AFTER`], orders' check jobs due at their creation.
    #[must_use]
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            failpoint: None,
            refund_check_after: DEFAULT_REFUND_CHECK_AFTER,
            order_check_after: std::time::Duration::ZERO,
        }
    }
}

/// An order as the API shows it: the stored order, the pay parameters of its method while it can
/// be paid, and its checkout page.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub pay_params: Option<PayParams>,
    pub checkout_url: String,
}

/// The services over one store and one set of channel accounts, each built once. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub orders: OrderService,
    pub sites: SiteService,
    pub notifications: NotificationService,
    pub accounts: AccountService,
    pub console: ConsoleService,
    pub compat: CompatKeyService,
}

impl Services {
    #[must_use]
    pub fn new(store: Store, channels: Channels, settings: ServiceSettings) -> Self {
        let orders = OrderService::new(store.clone(), channels, settings);
        let notifications = NotificationService::new(store.clone());
        let sites = SiteService::new(store.clone());
        Self {
            console: ConsoleService::new(
                store.clone(),
                orders.clone(),
                notifications.clone(),
                sites.clone(),
            ),
            orders,
            sites,
            notifications,
            compat: CompatKeyService::new(store.clone()),
            accounts: AccountService::new(store, AccountPolicy::default()),
        }
    }
}

/// Orders: create, read, close. Cheap to clone.
#[derive(Clone)]
pub struct OrderService {
    store: Store,
    channels: Channels,
    settings: Arc<ServiceSettings>,
    locks: Arc<OrderLocks>,
}

impl OrderService {
    #[must_use]
    pub fn new(store: Store, channels: Channels, settings: ServiceSettings) -> Self {
        Self {
            store,
            channels,
            settings: Arc::new(settings),
            locks: Arc::new(OrderLocks::default()),
        }
    }

    /// Whether the database answers: this node can take requests.
    ///
    /// # Errors
    /// `Store`.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping().await?)
    }

    /// The checkout page of an order. The path names the order's channel; both paths serve the
    /// same page (seed 000 only knows the WeChat one). A channel-neutral order's names none.
    #[must_use]
    pub fn checkout_url(&self, order: &Order) -> String {
        if order.neutral {
            return format!(
                "{}/checkout/{}",
                self.settings.public_url.trim_end_matches('/'),
                order.checkout_token.as_str()
            );
        }
        format!(
            "{}/pay/{}/checkout?token={}",
            self.settings.public_url.trim_end_matches('/'),
            order.pay_method.channel().as_str(),
            order.checkout_token.as_str()
        )
    }

    /// The view of `order`; pay parameters only while the payer can still pay (`pending`), none
    /// for a channel-neutral order (its checkout page makes them for the payer's app), and none
    /// for a sub-order of a combined order: its channel's parameters pay the whole combined order,
    /// which a page showing this order's amount must not offer (the combined order's answer has
    /// them).
    async fn view(&self, order: Order) -> Result<OrderView, ServiceError> {
        let pay_params = match order.status {
            OrderStatus::Pending if order.is_unbound() || order.combine_no.is_some() => None,
            OrderStatus::Pending => Some(self.pay_params_of(&order).await?),
            OrderStatus::Created
            | OrderStatus::Paid
            | OrderStatus::Failed
            | OrderStatus::Closed
            | OrderStatus::Refunded => None,
        };
        Ok(OrderView {
            checkout_url: self.checkout_url(&order),
            pay_params,
            order,
        })
    }
}

/// One of `site`'s orders by its number; `NotFound` also for another site's order with that number.
async fn site_order(
    store: &Store,
    site: &Site,
    out_trade_no: &OutTradeNo,
) -> Result<Order, ServiceError> {
    store
        .find_order(&site.id, out_trade_no)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Maps a channel failure to the service's vocabulary. `NotConfigured` can reach here only when
/// configuration changed under a running order.
fn channel_error(channel: Channel, op: UpstreamOp, e: ChannelError) -> ServiceError {
    match e {
        ChannelError::NotConfigured(m) => ServiceError::PaymentNotConfigured(m.into()),
        ChannelError::Refused { code, message, .. } => ServiceError::UpstreamRefused {
            op,
            channel,
            code,
            message,
        },
        ChannelError::Unknown { message, .. } => ServiceError::UpstreamUnknown { channel, message },
        ChannelError::Invalid(message) => ServiceError::Channel(message),
    }
}
