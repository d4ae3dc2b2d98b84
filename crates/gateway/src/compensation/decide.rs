//! The checker's decisions, as pure functions of what paygate and the channel said, so every
//! branch that moves money can be tested without a database or a channel.

use std::time::Duration;

use crate::channels::{ChannelError, UpstreamStatus};
use crate::domain::{Order, OrderStatus, Timestamp};

use super::schedule::{first_check, next_check_after};

/// What to do with an order when its check job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing left to find out: paid, closed or refunded (the store deletes the job when it
    /// writes those; a job that still runs raced with that write).
    Settled,
    /// Too early for the first query: come back then.
    WaitUntil(Timestamp),
    /// Ask the channel; unless the answer settles the order, come back at `next`.
    Query { next: Timestamp },
    /// Past expiry and grace: close upstream, then here (unless the channel says paid).
    Expire,
}

/// What the decisions need of an order: its status and the instants its schedule hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeline {
    pub status: OrderStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Timeline {
    #[must_use]
    pub(crate) fn of(order: &Order) -> Self {
        Self {
            status: order.status,
            created_at: order.created_at,
            expires_at: order.expires_at,
        }
    }
}

/// The step for `order` at `now`. Open orders are `created` (the channel's answer to the create
/// call never arrived), `pending`, and `failed` (WeChat's PAYERROR: the payer may retry and pay).
#[must_use]
pub(crate) fn step(
    order: Timeline,
    now: Timestamp,
    schedule: &[Duration],
    grace: Duration,
) -> Step {
    match order.status {
        OrderStatus::Paid | OrderStatus::Closed | OrderStatus::Refunded => Step::Settled,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => {
            let deadline = deadline(order, grace);
            if now >= deadline {
                return Step::Expire;
            }
            // The first check waits for `schedule[0]`: a job due at `created_at` would run while
            // the create call is usually still in flight, and the payer has not had time to pay.
            let first = first_check(order.created_at, schedule);
            if now < first {
                return Step::WaitUntil(first.min(deadline));
            }
            let next = next_check_after(order.created_at, now, schedule).min(deadline);
            Step::Query { next }
        }
    }
}

/// When the expire flow runs: `expires_at` plus a grace period, so that a payment the payer
/// completed in the last second (and the channel accepted at `time_expire`) is found, not closed.
#[must_use]
pub(crate) fn deadline(order: Timeline, grace: Duration) -> Timestamp {
    order.expires_at.plus(grace)
}

/// What a query before the deadline asks of the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnQuery {
    /// A result paygate records (paid, closed, failed, refunded): hand it to `apply_upstream`.
    Apply,
    /// Nothing new (not paid, paying, or not seen upstream yet): keep checking. A `created` order
    /// the channel has not seen is not created upstream here: a background job has no payer
    /// waiting for pay parameters, and the site's next read completes it.
    KeepChecking,
}

#[must_use]
pub(crate) fn on_query(status: &UpstreamStatus) -> OnQuery {
    match status {
        UpstreamStatus::Paid { .. }
        | UpstreamStatus::Refunded
        | UpstreamStatus::Closed
        | UpstreamStatus::Failed => OnQuery::Apply,
        UpstreamStatus::NotPaid | UpstreamStatus::Paying | UpstreamStatus::NotFound => {
            OnQuery::KeepChecking
        }
    }
}

/// How the close call of the expire flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseResult {
    /// Closed now or already: nothing can be paid any more.
    Closed,
    /// The channel has no such order. WeChat: never created, so nothing can be paid. Alipay: a
    /// QR/WAP/page/App trade the payer never opened, which cannot be opened after `time_expire`.
    NotFound,
    /// The channel refused (usually: already paid).
    Refused,
    /// No clear answer (timeout, 5xx), or a channel paygate cannot call as configured: the close
    /// may or may not have happened, or cannot be made; nothing may be concluded.
    Unknown,
}

impl CloseResult {
    #[must_use]
    pub(crate) fn of(result: &Result<(), ChannelError>) -> Self {
        match result {
            Ok(()) => Self::Closed,
            Err(e) if e.is_not_found() => Self::NotFound,
            Err(ChannelError::Refused { .. }) => Self::Refused,
            Err(
                ChannelError::Unknown { .. }
                | ChannelError::NotConfigured(_)
                | ChannelError::Invalid(_),
            ) => Self::Unknown,
        }
    }
}

/// What the expire flow does once it has closed (or tried to) and queried once more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnExpiry {
    /// The channel reports the money as received: record the payment (never close a paid order).
    ApplyReported,
    /// Nothing was or can be paid: close here (`apply_upstream` with `Closed`).
    CloseLocally,
    /// The answers do not allow a conclusion yet: try again later.
    Retry,
}

#[must_use]
pub(crate) fn on_expiry(close: CloseResult, status: &UpstreamStatus) -> OnExpiry {
    match status {
        UpstreamStatus::Paid { .. } | UpstreamStatus::Refunded => OnExpiry::ApplyReported,
        UpstreamStatus::Closed => OnExpiry::CloseLocally,
        // The payer is in the middle of paying: the close did not stop it, or will be refused.
        UpstreamStatus::Paying => OnExpiry::Retry,
        UpstreamStatus::NotPaid | UpstreamStatus::Failed | UpstreamStatus::NotFound => {
            match close {
                CloseResult::Closed | CloseResult::NotFound => OnExpiry::CloseLocally,
                // Refused to close, yet not paid: something paygate does not understand; closing
                // here could hide a payment, so ask again later.
                CloseResult::Refused | CloseResult::Unknown => OnExpiry::Retry,
            }
        }
    }
}

/// How the expiry of a channel-neutral order ends, from how each of its pay attempts' did: a
/// payment through any of them is the order's; the order is closed only once every attempt is
/// closed (or was never made upstream), since any one left open could still be paid.
#[must_use]
pub(crate) fn on_attempts_expiry(each: &[OnExpiry]) -> OnExpiry {
    if each.contains(&OnExpiry::ApplyReported) {
        OnExpiry::ApplyReported
    } else if each.contains(&OnExpiry::Retry) {
        OnExpiry::Retry
    } else {
        OnExpiry::CloseLocally
    }
}

#[cfg(test)]
mod tests {
    use channel_core::Fen;

    use super::*;
    use crate::channels::UpstreamStatus as U;
    use crate::domain::Channel;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn t(n: i64) -> Timestamp {
        Timestamp::from_millis(n)
    }

    fn schedule() -> Vec<Duration> {
        vec![ms(60), ms(120), ms(300)]
    }

    fn order(status: OrderStatus, created: i64, expires: i64) -> Timeline {
        Timeline {
            status,
            created_at: t(created),
            expires_at: t(expires),
        }
    }

    fn paid() -> U {
        U::Paid {
            transaction_id: "4200000001".into(),
            paid_at: None,
            amount: Fen(2990),
        }
    }

    const GRACE: Duration = Duration::from_millis(30);

    #[test]
    fn settled_orders_are_done_whatever_the_time() {
        for s in [
            OrderStatus::Paid,
            OrderStatus::Closed,
            OrderStatus::Refunded,
        ] {
            for now in [0, 500, 10_000] {
                assert_eq!(
                    step(order(s, 0, 900), t(now), &schedule(), GRACE),
                    Step::Settled
                );
            }
        }
    }

    #[test]
    fn open_orders_wait_query_on_schedule_then_expire() {
        for s in [
            OrderStatus::Created,
            OrderStatus::Pending,
            OrderStatus::Failed,
        ] {
            let o = order(s, 0, 900);
            let at = |now| step(o, t(now), &schedule(), GRACE);
            assert_eq!(at(0), Step::WaitUntil(t(60)), "{s:?}");
            assert_eq!(at(60), Step::Query { next: t(180) });
            assert_eq!(at(180), Step::Query { next: t(480) });
            assert_eq!(at(480), Step::Query { next: t(780) });
            // The next instant (1080) is past the deadline: come back at the deadline instead.
            assert_eq!(at(780), Step::Query { next: t(930) });
            assert_eq!(at(929), Step::Query { next: t(930) });
            assert_eq!(at(930), Step::Expire);
            assert_eq!(at(100_000), Step::Expire);
        }
    }

    #[test]
    fn an_order_expiring_before_its_first_check_waits_for_the_deadline() {
        let o = order(OrderStatus::Pending, 0, 10);
        assert_eq!(step(o, t(0), &schedule(), GRACE), Step::WaitUntil(t(40)));
        assert_eq!(step(o, t(40), &schedule(), GRACE), Step::Expire);
    }

    #[test]
    fn only_news_is_applied_before_the_deadline() {
        for s in [paid(), U::Refunded, U::Closed, U::Failed] {
            assert_eq!(on_query(&s), OnQuery::Apply, "{s:?}");
        }
        for s in [U::NotPaid, U::Paying, U::NotFound] {
            assert_eq!(on_query(&s), OnQuery::KeepChecking, "{s:?}");
        }
    }

    #[test]
    fn close_results_are_classified_by_what_they_prove() {
        let refused = |code: &str| {
            Err(ChannelError::Refused {
                channel: Channel::Wechat,
                code: code.into(),
                message: String::new(),
            })
        };
        assert_eq!(CloseResult::of(&Ok(())), CloseResult::Closed);
        assert_eq!(
            CloseResult::of(&refused("ORDER_NOT_EXIST")),
            CloseResult::NotFound
        );
        assert_eq!(
            CloseResult::of(&refused("ACQ.TRADE_NOT_EXIST")),
            CloseResult::NotFound
        );
        assert_eq!(CloseResult::of(&refused("ORDERPAID")), CloseResult::Refused);
        let unknown = Err(ChannelError::Unknown {
            channel: Channel::Alipay,
            message: "timeout".into(),
        });
        assert_eq!(CloseResult::of(&unknown), CloseResult::Unknown);
        assert_eq!(
            CloseResult::of(&Err(ChannelError::Invalid("x".into()))),
            CloseResult::Unknown
        );
    }

    #[test]
    fn a_paid_order_is_never_closed() {
        for close in [
            CloseResult::Closed,
            CloseResult::NotFound,
            CloseResult::Refused,
            CloseResult::Unknown,
        ] {
            assert_eq!(on_expiry(close, &paid()), OnExpiry::ApplyReported);
            assert_eq!(on_expiry(close, &U::Refunded), OnExpiry::ApplyReported);
            assert_eq!(on_expiry(close, &U::Paying), OnExpiry::Retry);
            assert_eq!(on_expiry(close, &U::Closed), OnExpiry::CloseLocally);
        }
    }

    #[test]
    fn unpaid_is_closed_only_when_the_close_proved_it() {
        for s in [U::NotPaid, U::Failed, U::NotFound] {
            assert_eq!(
                on_expiry(CloseResult::Closed, &s),
                OnExpiry::CloseLocally,
                "{s:?}"
            );
            assert_eq!(on_expiry(CloseResult::NotFound, &s), OnExpiry::CloseLocally);
            assert_eq!(on_expiry(CloseResult::Refused, &s), OnExpiry::Retry);
            assert_eq!(on_expiry(CloseResult::Unknown, &s), OnExpiry::Retry);
        }
    }

    #[test]
    fn a_neutral_order_closes_only_once_every_attempt_is_closed() {
        use OnExpiry::{ApplyReported, CloseLocally, Retry};
        assert_eq!(on_attempts_expiry(&[]), CloseLocally);
        assert_eq!(
            on_attempts_expiry(&[CloseLocally, CloseLocally]),
            CloseLocally
        );
        assert_eq!(on_attempts_expiry(&[CloseLocally, Retry]), Retry);
        assert_eq!(on_attempts_expiry(&[Retry, ApplyReported]), ApplyReported);
        assert_eq!(
            on_attempts_expiry(&[ApplyReported, CloseLocally]),
            ApplyReported
        );
    }
}
