//! What the checkout page tells the payer about an order: paygate's recorded status, and whether
//! the order ran out of time. Decided here, on the server; the page's script makes the same
//! decision from the same status as it changes, and never shows success on any other signal.

use crate::domain::{Order, OrderStatus, Timestamp};

/// The state the page shows (`data-status` of its status element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    /// Waiting for the payer: the QR code and the countdown.
    Pending,
    Paid,
    /// Closed before it expired (by the site, or the channel).
    Closed,
    Failed,
    /// Not paid in time: past its expiry while still unpaid, or closed once it expired.
    Expired,
    Refunded,
}

impl PageState {
    /// The state of `order` at `now`.
    #[must_use]
    pub fn of(order: &Order, now: Timestamp) -> Self {
        Self::at(order.status, order.closed_at, order.expires_at, now)
    }

    /// The state of anything the payer pays by a status, a closing time and an expiry (an order,
    /// or a combined order as its sub-orders stand) at `now`.
    #[must_use]
    pub fn at(
        status: OrderStatus,
        closed_at: Option<Timestamp>,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Self {
        let expired_at = |t: Timestamp| t.as_millis() >= expires_at.as_millis();
        match status {
            OrderStatus::Paid => Self::Paid,
            OrderStatus::Refunded => Self::Refunded,
            OrderStatus::Failed => Self::Failed,
            OrderStatus::Closed if expired_at(closed_at.unwrap_or(now)) => Self::Expired,
            OrderStatus::Closed => Self::Closed,
            // A `created` order is one whose channel answer paygate is still waiting for: to the
            // payer it is as payable as a pending one.
            OrderStatus::Created | OrderStatus::Pending if expired_at(now) => Self::Expired,
            OrderStatus::Created | OrderStatus::Pending => Self::Pending,
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Closed => "closed",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }
}

/// Whole seconds from `now` to `expires_at`, never below zero.
#[must_use]
pub fn seconds_left(expires_at: Timestamp, now: Timestamp) -> i64 {
    (expires_at.as_millis() - now.as_millis()).max(0) / 1000
}

/// `mm:ss` (minutes unbounded: a 24-hour order starts at `1440:00`), as the script ticks it.
#[must_use]
pub fn mm_ss(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::test_order::order;

    #[test]
    fn the_recorded_status_decides_and_time_turns_unpaid_into_expired() {
        let before = |o: &Order| Timestamp::from_millis(o.expires_at.as_millis() - 1);
        let after = |o: &Order| Timestamp::from_millis(o.expires_at.as_millis() + 1);
        let cases = [
            (OrderStatus::Created, false, PageState::Pending),
            (OrderStatus::Pending, false, PageState::Pending),
            (OrderStatus::Pending, true, PageState::Expired),
            (OrderStatus::Created, true, PageState::Expired),
            (OrderStatus::Paid, true, PageState::Paid),
            (OrderStatus::Refunded, false, PageState::Refunded),
            (OrderStatus::Failed, true, PageState::Failed),
        ];
        for (status, late, want) in cases {
            let o = order("wechat.native", status);
            let now = if late { after(&o) } else { before(&o) };
            assert_eq!(PageState::of(&o, now), want, "{status:?} late={late}");
        }
        let mut closed = order("wechat.native", OrderStatus::Closed);
        closed.closed_at = Some(before(&closed));
        let now = after(&closed);
        assert_eq!(
            PageState::of(&closed, now),
            PageState::Closed,
            "closed by the site in time"
        );
        closed.closed_at = Some(closed.expires_at);
        assert_eq!(
            PageState::of(&closed, now),
            PageState::Expired,
            "closed as it expired"
        );
    }

    #[test]
    fn countdown_is_minutes_and_seconds() {
        assert_eq!(mm_ss(0), "00:00");
        assert_eq!(mm_ss(-5), "00:00");
        assert_eq!(mm_ss(59), "00:59");
        assert_eq!(mm_ss(15 * 60), "15:00");
        assert_eq!(mm_ss(1440 * 60), "1440:00");
        let at = |ms| Timestamp::from_millis(ms);
        assert_eq!(seconds_left(at(100_999), at(1_000)), 99);
        assert_eq!(seconds_left(at(1_000), at(100_999)), 0);
    }
}
