//! When an open order is checked: instants fixed by the order's age, not by how often the job ran.
//!
//! The check instants of an order are `origin + s[0]`, `origin + s[0] + s[1]`, … and then every
//! `s.last()`. Computing the next one from `now` (instead of adding a step to the last run) keeps
//! the schedule the same whether the job was due at `created_at`, ran late, or was
//! taken over from a dead node: a late run never makes a burst of catch-up queries, and a run
//! before the first instant only waits for it.

use std::time::Duration;

use crate::domain::Timestamp;

/// The first check instant: `origin + schedule[0]`.
#[must_use]
pub(crate) fn first_check(origin: Timestamp, schedule: &[Duration]) -> Timestamp {
    origin.plus(schedule.first().copied().unwrap_or(Duration::ZERO))
}

/// Soon after `now`: the schedule's first interval (a minute if it has none), for a retry after
/// paygate's own failure.
#[must_use]
pub(crate) fn soon_after(now: Timestamp, schedule: &[Duration]) -> Timestamp {
    now.plus(schedule.first().copied().unwrap_or(Duration::from_secs(60)))
}

/// The first check instant strictly after `now`. An empty schedule, or one ending with a zero
/// step, would never advance; [`super::CompensationSettings::checked`] refuses both, and here the
/// last step is taken as at least one millisecond so the arithmetic stays total.
#[must_use]
pub(crate) fn next_check_after(
    origin: Timestamp,
    now: Timestamp,
    schedule: &[Duration],
) -> Timestamp {
    let mut at = origin;
    for step in schedule {
        at = at.plus(*step);
        if at > now {
            return at;
        }
    }
    let last = schedule
        .last()
        .map_or(1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .max(1);
    // `at <= now` here: skip every whole period already past, then one more.
    let behind = now.as_millis().saturating_sub(at.as_millis());
    let periods = behind / last + 1;
    Timestamp::from_millis(at.as_millis().saturating_add(periods.saturating_mul(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn t(n: i64) -> Timestamp {
        Timestamp::from_millis(n)
    }

    /// 1 min, 2 min, then every 5 min, in "minutes" of 1000 ms to keep the numbers readable.
    const MIN: i64 = 1000;

    fn default_like() -> Vec<Duration> {
        vec![ms(1000), ms(2000), ms(5000)]
    }

    #[test]
    fn escalates_then_repeats_the_last_step() {
        let s = default_like();
        let origin = t(10_000);
        let mut now = origin;
        let mut seen = vec![];
        for _ in 0..6 {
            now = next_check_after(origin, now, &s);
            seen.push((now.as_millis() - origin.as_millis()) / MIN);
        }
        // 1, 1+2, 1+2+5, then every 5.
        assert_eq!(seen, [1, 3, 8, 13, 18, 23]);
    }

    #[test]
    fn a_job_due_at_creation_waits_for_the_first_instant() {
        let s = default_like();
        let origin = t(10_000);
        assert_eq!(next_check_after(origin, origin, &s), t(11_000));
        assert_eq!(first_check(origin, &s), t(11_000));
    }

    #[test]
    fn a_late_run_skips_missed_instants_instead_of_bursting() {
        let s = default_like();
        let origin = t(0);
        // 20.5 "minutes" in: instants 1, 3, 8, 13, 18 are past; the next is 23.
        assert_eq!(next_check_after(origin, t(20_500), &s), t(23_000));
        // Exactly on an instant: the next one, never the same one again.
        assert_eq!(next_check_after(origin, t(18_000), &s), t(23_000));
        assert_eq!(next_check_after(origin, t(3_000), &s), t(8_000));
    }

    #[test]
    fn degenerate_schedules_still_advance() {
        let origin = t(0);
        assert_eq!(next_check_after(origin, t(5), &[]), t(6));
        assert_eq!(next_check_after(origin, t(5), &[ms(0)]), t(6));
        assert_eq!(next_check_after(origin, t(5), &[ms(10)]), t(10));
        assert_eq!(
            next_check_after(origin, t(i64::MAX - 1), &[ms(10)]).as_millis(),
            i64::MAX
        );
    }
}
