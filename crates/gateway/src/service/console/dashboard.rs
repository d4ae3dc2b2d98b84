//! The dashboard: today, the last 7 and the last 30 days (each ending now, starting at a console
//! midnight), what needs a person, and the paid amount of each of the last 30 days for the chart.
//!
//! The store sums each console day once (three statements for the month, one for the open
//! counts); the periods, breakdowns and chart are added up here from those days. Days before
//! yesterday hardly change (a late callback, a repair), so each node keeps them for a few minutes
//! per scope and asks only for yesterday and today on every view.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::{Scope, Timestamp};
use crate::store::{DailyFigures, OpenCounts, Period, Tally};

use super::days::{CONSOLE_UTC_OFFSET, local_day, local_day_start};
use super::{ConsoleError, ConsoleService};

/// How long an order may stay `created`, or `pending` past its expiry, before it counts as stuck:
/// the order check and the expiry close normally move it within a minute or two.
pub const STUCK_AFTER: Duration = Duration::from_secs(10 * 60);

/// How long a node reuses the days before yesterday that it summed.
const SETTLED_DAYS_FOR: Duration = Duration::from_secs(5 * 60);

/// The dashboard's periods, in console days (today included).
const PERIODS: [u32; 3] = [1, 7, 30];
const CHART_DAYS: i64 = 30;

/// A period's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodFigures {
    /// Orders paid in the period (by when they were paid; refunded ones too: they were paid).
    pub paid: Tally,
    /// Orders created in the period...
    pub created: i64,
    /// ... of which paid by now.
    pub created_paid: i64,
    /// Refunds that reached the payer in the period.
    pub refunded: Tally,
    /// `paid` by channel name, largest amount first.
    pub by_channel: Vec<(String, Tally)>,
    /// `paid` by site id, largest amount first.
    pub by_site: Vec<(String, Tally)>,
}

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

/// The days before yesterday of the month on screen, per scope (`None`: every site), as one node
/// last summed them.
#[derive(Default)]
pub(super) struct SettledDays {
    by_scope: Mutex<HashMap<Option<String>, Settled>>,
}

struct Settled {
    /// The console day they were summed on; they are of no use on another.
    today: i64,
    at: Instant,
    figures: Arc<DailyFigures>,
}

impl SettledDays {
    fn get(&self, scope: Option<String>, today: i64) -> Option<Arc<DailyFigures>> {
        let map = self.by_scope.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&scope)
            .filter(|s| s.today == today && s.at.elapsed() < SETTLED_DAYS_FOR)
            .map(|s| Arc::clone(&s.figures))
    }

    fn put(&self, scope: Option<String>, today: i64, figures: Arc<DailyFigures>) {
        let mut map = self.by_scope.lock().unwrap_or_else(PoisonError::into_inner);
        // Scopes nobody looked at lately go, so that the map stays as small as the set of
        // sites whose users are signed in.
        map.retain(|_, s| s.at.elapsed() < SETTLED_DAYS_FOR);
        map.insert(
            scope,
            Settled {
                today,
                at: Instant::now(),
                figures,
            },
        );
    }
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
        let offset = i64::try_from(CONSOLE_UTC_OFFSET.as_millis()).unwrap_or(0);
        let first = today - (CHART_DAYS - 1);
        let recent_from = today - 1;
        let key = scope.site().map(|s| s.as_str().to_owned());
        let settled = match self.settled.get(key.clone(), today) {
            Some(settled) => settled,
            None => {
                let period = Period {
                    from: local_day_start(first),
                    to: local_day_start(recent_from),
                };
                let settled = Arc::new(self.store.daily_figures(scope, period, offset).await?);
                self.settled.put(key, today, Arc::clone(&settled));
                settled
            }
        };
        let recent = Period {
            from: local_day_start(recent_from),
            to: now.plus(Duration::from_millis(1)),
        };
        let recent = self.store.daily_figures(scope, recent, offset).await?;
        let stuck_before = now.minus(STUCK_AFTER);
        let open = self.store.open_counts(scope, stuck_before).await?;
        let days = [settled.as_ref(), &recent];
        Ok(Dashboard {
            periods: PERIODS
                .iter()
                .map(|&n| PeriodView {
                    days: n,
                    figures: period_figures(&days, today - i64::from(n) + 1),
                })
                .collect(),
            chart: chart(&days, first, today),
            open,
            stuck_before,
        })
    }
}

/// The figures of the days from `since` on, out of `days`.
fn period_figures(days: &[&DailyFigures], since: i64) -> PeriodFigures {
    let mut figures = PeriodFigures::default();
    let mut by_channel: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_site: BTreeMap<&str, Tally> = BTreeMap::new();
    for d in days {
        for g in d.paid.iter().filter(|g| g.day >= since) {
            figures.paid.add(g.paid);
            by_channel.entry(&g.channel).or_default().add(g.paid);
            by_site.entry(&g.site_id).or_default().add(g.paid);
        }
        for c in d.created.iter().filter(|c| c.day >= since) {
            figures.created += c.created;
            figures.created_paid += c.paid;
        }
        for (_, t) in d.refunded.iter().filter(|(day, _)| *day >= since) {
            figures.refunded.add(*t);
        }
    }
    figures.by_channel = largest_first(by_channel);
    figures.by_site = largest_first(by_site);
    figures
}

/// Largest amount first, then by key.
fn largest_first(tallies: BTreeMap<&str, Tally>) -> Vec<(String, Tally)> {
    let mut v: Vec<(String, Tally)> = tallies
        .into_iter()
        .map(|(k, t)| (k.to_owned(), t))
        .collect();
    v.sort_by(|(ka, a), (kb, b)| b.fen.cmp(&a.fen).then_with(|| ka.cmp(kb)));
    v
}

/// Every day from `first` to `last` with what was paid on it (nothing for the days without).
fn chart(days: &[&DailyFigures], first: i64, last: i64) -> Vec<DayPoint> {
    let mut chart: Vec<DayPoint> = (first..=last)
        .map(|day| DayPoint {
            day,
            paid: Tally::default(),
        })
        .collect();
    for g in days.iter().flat_map(|d| &d.paid) {
        if let Some(point) = usize::try_from(g.day - first)
            .ok()
            .and_then(|i| chart.get_mut(i))
        {
            point.paid.add(g.paid);
        }
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CreatedDay, PaidGroup};

    fn t(count: i64, fen: i64) -> Tally {
        Tally { count, fen }
    }

    fn paid(day: i64, site: &str, channel: &str, tally: Tally) -> PaidGroup {
        PaidGroup {
            day,
            site_id: site.to_owned(),
            channel: channel.to_owned(),
            paid: tally,
        }
    }

    #[test]
    fn the_chart_has_every_day_even_without_payments() {
        let days = DailyFigures {
            paid: vec![
                paid(11, "a", "wechat", t(2, 300)),
                paid(14, "a", "wechat", t(1, 1)),
                paid(14, "b", "alipay", t(1, 9)),
                // Outside the chart: left out, not a panic.
                paid(9, "a", "wechat", t(1, 5)),
            ],
            ..DailyFigures::default()
        };
        let chart = chart(&[&days], 10, 14);
        let fen: Vec<_> = chart.iter().map(|p| (p.day, p.paid.fen)).collect();
        assert_eq!(fen, [(10, 0), (11, 300), (12, 0), (13, 0), (14, 10)]);
    }

    #[test]
    fn a_period_adds_up_its_days_from_both_halves_and_ranks_its_breakdowns() {
        let settled = DailyFigures {
            paid: vec![
                paid(3, "a", "wechat", t(1, 100)),
                paid(5, "b", "alipay", t(2, 700)),
            ],
            created: vec![CreatedDay {
                day: 5,
                created: 4,
                paid: 2,
            }],
            refunded: vec![(3, t(1, 50))],
        };
        let recent = DailyFigures {
            paid: vec![paid(7, "a", "wechat", t(3, 900))],
            created: vec![CreatedDay {
                day: 7,
                created: 3,
                paid: 3,
            }],
            refunded: vec![(7, t(1, 10))],
        };
        let days = [&settled, &recent];
        let all = period_figures(&days, 1);
        assert_eq!(all.paid, t(6, 1700));
        assert_eq!((all.created, all.created_paid), (7, 5));
        assert_eq!(all.refunded, t(2, 60));
        assert_eq!(
            all.by_channel,
            [
                ("wechat".to_owned(), t(4, 1000)),
                ("alipay".to_owned(), t(2, 700))
            ]
        );
        assert_eq!(
            all.by_site,
            [("a".to_owned(), t(4, 1000)), ("b".to_owned(), t(2, 700))]
        );
        let last = period_figures(&days, 5);
        assert_eq!(last.paid, t(5, 1600));
        assert_eq!(last.refunded, t(1, 10));
        assert_eq!(
            last.by_site,
            [("a".to_owned(), t(3, 900)), ("b".to_owned(), t(2, 700))]
        );
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

    #[test]
    fn settled_days_serve_their_scope_on_their_day_only() {
        let cache = SettledDays::default();
        let figures = Arc::new(DailyFigures::default());
        cache.put(Some("a".to_owned()), 10, Arc::clone(&figures));
        assert!(cache.get(Some("a".to_owned()), 10).is_some());
        assert!(cache.get(Some("a".to_owned()), 11).is_none());
        assert!(cache.get(None, 10).is_none());
        assert!(cache.get(Some("b".to_owned()), 10).is_none());
    }
}
