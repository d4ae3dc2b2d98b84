//! The dashboard: today, the last 7 and the last 30 days (each ending now, starting at a console
//! midnight), what needs a person, and the paid amount of each of the last 30 days for the chart.

use std::time::Duration;

use crate::domain::{Scope, Timestamp};
use crate::store::{OpenCounts, Period, PeriodFigures, Tally};

use super::days::{CONSOLE_UTC_OFFSET, local_day, local_day_start};
use super::{ConsoleError, ConsoleService};

/// How long an order may stay `created`, or `pending` past its expiry, before it counts as stuck:
/// the order check and the expiry close normally move it within a minute or two.
pub const STUCK_AFTER: Duration = Duration::from_secs(10 * 60);

/// One of the dashboard's periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodView {
    /// How many console days it covers, today included (1, 7, 30).
    pub days: u32,
    pub figures: PeriodFigures,
}

impl PeriodView {
    /// The share of the period's new orders that were paid, in tenths of a percent; `None`
    /// without new orders.
    #[must_use]
    pub fn success_permille(&self) -> Option<i64> {
        (self.figures.created > 0).then(|| self.figures.created_paid * 1000 / self.figures.created)
    }
}

/// One day of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPoint {
    /// The console day (see [`local_day`]).
    pub day: i64,
    pub paid: Tally,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Today, 7 days, 30 days.
    pub periods: Vec<PeriodView>,
    /// The last 30 console days, oldest first, today last; days without payments too.
    pub chart: Vec<DayPoint>,
    pub open: OpenCounts,
    /// The instant before which an open order counts as stuck (for the link to them).
    pub stuck_before: Timestamp,
}

impl ConsoleService {
    /// The dashboard of `scope` at `now`.
    ///
    /// # Errors
    /// `Service(Store)`.
    pub async fn dashboard(
        &self,
        scope: &Scope,
        now: Timestamp,
    ) -> Result<Dashboard, ConsoleError> {
        let today = local_day(now);
        let to = now.plus(Duration::from_millis(1));
        let mut periods = Vec::with_capacity(3);
        for days in [1_u32, 7, 30] {
            let period = Period {
                from: local_day_start(today - i64::from(days) + 1),
                to,
            };
            let figures = self.store.period_figures(scope, period).await?;
            periods.push(PeriodView { days, figures });
        }
        let month = Period {
            from: local_day_start(today - 29),
            to,
        };
        let offset = i64::try_from(CONSOLE_UTC_OFFSET.as_millis()).unwrap_or(0);
        let paid = self.store.paid_per_day(scope, month, offset).await?;
        let chart = fill_days(today - 29, today, &paid);
        let stuck_before = now.minus(STUCK_AFTER);
        let open = self.store.open_counts(scope, stuck_before).await?;
        Ok(Dashboard {
            periods,
            chart,
            open,
            stuck_before,
        })
    }
}

/// Every day from `first` to `last`, with what `paid` has for it (nothing for the days it lacks).
fn fill_days(first: i64, last: i64, paid: &[(i64, Tally)]) -> Vec<DayPoint> {
    (first..=last)
        .map(|day| DayPoint {
            day,
            paid: paid
                .iter()
                .find(|(d, _)| *d == day)
                .map_or_else(Tally::default, |(_, t)| *t),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_has_every_day_even_without_payments() {
        let t = |count, fen| Tally { count, fen };
        let chart = fill_days(10, 14, &[(11, t(2, 300)), (14, t(1, 1))]);
        let days: Vec<_> = chart.iter().map(|p| (p.day, p.paid.fen)).collect();
        assert_eq!(days, [(10, 0), (11, 300), (12, 0), (13, 0), (14, 1)]);
    }

    #[test]
    fn the_success_rate_is_whole_tenths_of_a_percent() {
        let view = |created, created_paid| PeriodView {
            days: 1,
            figures: PeriodFigures {
                created,
                created_paid,
                ..PeriodFigures::default()
            },
        };
        assert_eq!(view(0, 0).success_permille(), None);
        assert_eq!(view(3, 2).success_permille(), Some(666));
        assert_eq!(view(4, 4).success_permille(), Some(1000));
    }
}
