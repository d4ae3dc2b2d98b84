//! Merchant notifications: telling a site, until it confirms, that one of its orders reached a final
//! status. The event row and its `deliver_notification` job are written by `Store::transition` in the
//! same transaction as the status change (the outbox); this module delivers them.
//!
//! - `payload`: the JSON body, built at delivery time from the stored event and order, so that a
//!   resend sends exactly the same bytes.
//! - `sign`: the `X-1Pass-*` headers, HMAC-SHA256 under the site's SK.
//! - `address`: which IP addresses are not public (loopback, private, link-local, metadata…).
//! - `guard`: where a notify URL may lead, checked before the request and again by the HTTP
//!   client's resolver (unless the site may reach private targets).
//! - `client`: the one HTTP client, which connects through that resolver, follows no redirect and
//!   reads a bounded excerpt.
//! - `compat`: the notifications of orders made through another protocol (EPay…), in its format.
//! - `deliver`: the [`Deliverer`] job handler: one attempt per job run, recorded, then done or
//!   retried on the schedule.
//!
//! The event, its status and its attempts are domain types (`crate::domain`); the signature's HMAC
//! is the API's, shared through `crate::signing`.

mod address;
mod client;
mod compat;
mod deliver;
mod guard;
mod payload;
mod sign;

use std::time::Duration;

pub use client::{Attempted, DeliveryError, NotifyClient, Response};
pub use compat::{epay_paid_order, epay_type_name, jeepay_origin, jeepay_pay_order, jeepay_state};
pub use deliver::Deliverer;
pub use guard::{TargetRefused, Targets};
pub use payload::{Payload, RefundPayload, body, trade_state};
pub use sign::{NotificationHeaders, sign_notification, verify_notification};

/// How notifications are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// The wait before each retry: entry `n` is the wait after the `n+1`-th failed attempt. When
    /// it is exhausted the event is marked failed (WeChat Pay's 15 steps by default).
    pub schedule: Vec<Duration>,
    /// An attempt succeeds only with a 2xx answer within this time (10 s).
    pub timeout: Duration,
    /// Let every site reach loopback, private, link-local and other non-public addresses: sandbox
    /// mode only, where the database holds test sites on the developer's machine. Elsewhere the
    /// operator allows it per site (`Site::allow_private_targets`).
    pub allow_private_targets: bool,
    /// How many bytes of the site's answer are kept with the attempt.
    pub excerpt_limit: usize,
}

impl NotifySettings {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_EXCERPT_LIMIT: usize = 2048;

    /// 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h: WeChat Pay's own schedule, about 24 h
    /// 4 m in all.
    #[must_use]
    pub fn default_schedule() -> Vec<Duration> {
        const M: u64 = 60;
        const H: u64 = 3600;
        [
            15,
            15,
            30,
            3 * M,
            10 * M,
            20 * M,
            30 * M,
            30 * M,
            30 * M,
            60 * M,
            3 * H,
            3 * H,
            3 * H,
            6 * H,
            6 * H,
        ]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
    }

    /// The schedule with every wait multiplied by `factor` (tests: `0.001` turns 15 s into 15 ms).
    #[must_use]
    pub fn scaled(mut self, factor: f64) -> Self {
        self.schedule = self
            .schedule
            .iter()
            .map(|d| d.mul_f64(factor.max(0.0)))
            .collect();
        self
    }

    /// The wait after failed attempt number `failed` (0-based), or `None` when the schedule is
    /// exhausted and the event has failed.
    #[must_use]
    pub fn retry_after(&self, failed: u32) -> Option<Duration> {
        usize::try_from(failed)
            .ok()
            .and_then(|i| self.schedule.get(i))
            .copied()
    }
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            schedule: Self::default_schedule(),
            timeout: Self::DEFAULT_TIMEOUT,
            allow_private_targets: false,
            excerpt_limit: Self::DEFAULT_EXCERPT_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_wechat_pays() {
        let s = NotifySettings::default();
        assert_eq!(s.schedule.len(), 15);
        let total: Duration = s.schedule.iter().sum();
        assert_eq!(total, Duration::from_secs(24 * 3600 + 4 * 60));
        assert_eq!(s.retry_after(0), Some(Duration::from_secs(15)));
        assert_eq!(s.retry_after(14), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(s.retry_after(15), None);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert!(!s.allow_private_targets);
    }

    #[test]
    fn scaling_keeps_the_shape() {
        let s = NotifySettings::default().scaled(0.001);
        assert_eq!(s.retry_after(0), Some(Duration::from_millis(15)));
        assert_eq!(s.retry_after(3), Some(Duration::from_millis(180)));
        assert_eq!(s.schedule.len(), 15);
    }
}
