//! What paygate does with an order, independent of HTTP: create (idempotent, crash-safe), read,
//! close. Used by the merchant API.
//!
//! The rule that makes create crash-safe: the order row is committed (status `created`) before the
//! channel hears of it, and the channel call is idempotent for the same order (same upstream order
//! number, same stored expiry). So whatever point a crash or a lost answer interrupts, the next
//! create or GET of that order calls the channel again and gets the same upstream order back.

mod close;
mod create;
mod error;
mod failpoint;
mod locks;
mod payments;
mod read;

use std::sync::Arc;

pub use error::{ServiceError, UpstreamOp};
pub use failpoint::Failpoint;
pub use payments::{AnomalyKind, Applied, CALLBACK_QUERY_GAP, QueryReason, ResultSource};

use crate::channels::{ChannelError, Channels, PayParams};
use crate::domain::{Channel, Order, OrderStatus};
use crate::store::Store;

use locks::OrderLocks;

/// What the service needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Where payers reach this paygate, without a trailing slash: `checkout_url` is built on it.
    pub public_url: String,
    /// Only ever set in test builds; see [`Failpoint`].
    pub failpoint: Option<Failpoint>,
}

/// An order as the API shows it: the stored order, the pay parameters of its method while it can
/// be paid, and its checkout page.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub pay_params: Option<PayParams>,
    pub checkout_url: String,
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

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The checkout page of an order. The path names the order's channel; both paths serve the
    /// same page (seed 000 only knows the WeChat one).
    #[must_use]
    pub fn checkout_url(&self, order: &Order) -> String {
        format!(
            "{}/pay/{}/checkout?token={}",
            self.settings.public_url.trim_end_matches('/'),
            order.pay_method.channel().as_str(),
            order.checkout_token.as_str()
        )
    }

    /// The view of `order`; pay parameters only while the payer can still pay (`pending`).
    fn view(&self, order: Order) -> Result<OrderView, ServiceError> {
        let pay_params =
            match order.status {
                OrderStatus::Pending => Some(self.channels.pay_params(&order).map_err(|e| {
                    channel_error(order.pay_method.channel(), UpstreamOp::Create, e)
                })?),
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

/// Maps a channel failure to the service's vocabulary. `NotConfigured` can reach here only when
/// configuration changed under a running order.
fn channel_error(channel: Channel, op: UpstreamOp, e: ChannelError) -> ServiceError {
    match e {
        ChannelError::NotConfigured(m) => ServiceError::PaymentNotConfigured(m),
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

/// Counts one upstream call for `/metrics`.
fn count_upstream(channel: Channel, op: &'static str, outcome: &'static str) {
    metrics::counter!(
        "paygate_upstream_calls_total",
        "channel" => channel.as_str(),
        "operation" => op,
        "outcome" => outcome,
    )
    .increment(1);
}

/// The metrics label of a channel call's result.
fn outcome_of<T>(r: &Result<T, ChannelError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(ChannelError::Refused { .. }) => "refused",
        Err(ChannelError::Unknown { .. }) => "unknown",
        Err(ChannelError::NotConfigured(_)) => "not_configured",
        Err(ChannelError::Invalid(_)) => "invalid",
    }
}
