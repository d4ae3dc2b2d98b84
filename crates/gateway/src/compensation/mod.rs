//! Compensation and expiry: the `check_order` job, which finds out what became of an order whose
//! callback never came, and closes it when it expires; the `check_refund` job, which does the
//! same for a refund (`refunds.rs`), and the `check_split` job, for a split (`splits.rs`); and the
//! `split_paid_order` job, which makes a paid order's planned splits (`planned_splits.rs`).
//!
//! Every open order has one `check_order` job (inserted with the order, deleted by the store when
//! the order becomes final). [`OrderChecker`] runs it:
//! - before the first check instant, it only reschedules (the API's orders have their job due at
//!   that instant; an order stored otherwise may have it due at `created_at`);
//! - until `expires_at + expiry_grace`, it queries the channel on the escalating schedule and hands
//!   news to `OrderService::apply_upstream` (the one place that changes an order from upstream);
//! - after that, it closes the order upstream, queries once more, and records paid (if the channel
//!   says so) or closed. An unclear answer at any step changes nothing and is retried later.
//!
//! The decisions are pure functions (`decide`, `schedule`); `checker` only does the calls.

mod checker;
mod decide;
mod planned_splits;
mod refunds;
mod schedule;
mod splits;

use std::time::Duration;

pub use checker::OrderChecker;
pub use planned_splits::{DEFAULT_PLANNED_SPLIT_AFTER, PlannedSplitter};
pub use refunds::RefundChecker;
pub use splits::SplitChecker;

/// How often open orders are checked, and when an expired one is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompensationSettings {
    /// Intervals between checks, from the order's creation: the first check comes `schedule[0]`
    /// after creation, the next `schedule[1]` later, and so on; then every `schedule.last()`.
    pub schedule: Vec<Duration>,
    /// How long after `expires_at` the order is closed. The channel may accept a payment made in
    /// the last second a little later; closing at `expires_at` sharp would race with it.
    pub expiry_grace: Duration,
}

impl Default for CompensationSettings {
    /// 1 min, 2 min, then every 5 min (seed 000 checks every 5 min; the first minutes matter most,
    /// since most payers who pay do so right away); 30 s of grace.
    fn default() -> Self {
        Self {
            schedule: vec![
                Duration::from_secs(60),
                Duration::from_secs(120),
                Duration::from_secs(300),
            ],
            expiry_grace: Duration::from_secs(30),
        }
    }
}

/// Why [`CompensationSettings::checked`] refused a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSchedule {
    #[error("the order-check schedule is empty")]
    Empty,
    #[error("the order-check schedule has a zero interval (step {0})")]
    ZeroStep(usize),
}

impl CompensationSettings {
    /// The settings, if the schedule can drive checks: non-empty, and no zero interval (a zero
    /// last step would query the channel in a tight loop).
    ///
    /// # Errors
    /// `Empty`, `ZeroStep`.
    pub fn checked(self) -> Result<Self, InvalidSchedule> {
        if self.schedule.is_empty() {
            return Err(InvalidSchedule::Empty);
        }
        if let Some(i) = self.schedule.iter().position(Duration::is_zero) {
            return Err(InvalidSchedule::ZeroStep(i));
        }
        Ok(self)
    }

    /// The schedule to check by: these settings', or the default's when theirs cannot drive
    /// checks.
    #[must_use]
    pub(crate) fn usable_schedule(&self) -> Vec<Duration> {
        self.clone()
            .checked()
            .map_or_else(|_| Self::default().schedule, |s| s.schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_valid_and_escalates() {
        let s = CompensationSettings::default().checked().unwrap();
        assert_eq!(s.schedule.first(), Some(&Duration::from_secs(60)));
        assert_eq!(s.schedule.last(), Some(&Duration::from_secs(300)));
    }

    #[test]
    fn degenerate_schedules_are_refused() {
        let with = |schedule| CompensationSettings {
            schedule,
            expiry_grace: Duration::ZERO,
        };
        assert_eq!(with(vec![]).checked(), Err(InvalidSchedule::Empty));
        assert_eq!(
            with(vec![Duration::from_secs(1), Duration::ZERO]).checked(),
            Err(InvalidSchedule::ZeroStep(1))
        );
    }
}
