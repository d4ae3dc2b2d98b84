//! Reconciliation in the console, for operators only: a channel account's day covers every site,
//! so a site user sees none of it (`NotAllowed`). The days, newest first, a page at a time, with
//! each channel account's run and what is planned; one day's report of a channel with its
//! discrepancies; and an admin's request to run a day again, written to the audit log before the
//! day is planned (as `paygate reconcile --date` plans it).

use std::collections::{BTreeSet, HashMap};

use crate::domain::{
    AuditAction, AuditEntry, BillDay, Channel, Discrepancy, OrderId, Reconciliation, Role,
    Timestamp,
};
use crate::store::{ListedRun, PlannedRun};

use super::{Acting, ConsoleError, ConsoleService};

/// One line of the list: a channel account's run of a day, the day's plan, or both.
#[derive(Debug, Clone)]
pub struct DayLine {
    pub day: BillDay,
    pub channel: Channel,
    /// The run, once the day has one (of this account).
    pub run: Option<ListedRun>,
    /// When the day's planned run is due, while it is.
    pub planned: Option<Timestamp>,
}

/// A page of days.
#[derive(Debug, Clone)]
pub struct DayPage {
    /// Newest day first; within a day by channel, then account.
    pub lines: Vec<DayLine>,
    /// Where the next page starts: the days before this one.
    pub next: Option<BillDay>,
}

/// One channel's day: each account's run with its discrepancies, what is planned, and the order
/// numbers of the orders the discrepancies are about.
#[derive(Debug, Clone)]
pub struct DayReport {
    pub channel: Channel,
    pub day: BillDay,
    pub runs: Vec<(Reconciliation, Vec<Discrepancy>)>,
    pub planned: Option<Timestamp>,
    pub order_numbers: HashMap<OrderId, String>,
}

/// Whether `day` may be run at `now`: it has begun, in China.
#[must_use]
pub fn may_run(day: BillDay, now: Timestamp) -> bool {
    day <= BillDay::of(now)
}

/// Operators see reconciliation: admins and viewers.
fn operator(role: &Role) -> Result<(), ConsoleError> {
    match role {
        Role::Admin | Role::Viewer => Ok(()),
        Role::Site(_) => Err(ConsoleError::NotAllowed),
    }
}

impl ConsoleService {
    /// Up to `days` days that have a run or a plan, before `before` (from the newest without it).
    ///
    /// # Errors
    /// `NotAllowed` for a site user, `Service(Store)`.
    pub async fn reconciliation_days(
        &self,
        role: &Role,
        before: Option<BillDay>,
        days: u32,
    ) -> Result<DayPage, ConsoleError> {
        operator(role)?;
        let planned: Vec<PlannedRun> = self
            .store
            .planned_reconciliations()
            .await?
            .into_iter()
            .filter(|p| before.is_none_or(|b| p.day < b))
            .collect();
        // The page's days: the newest of those with a run and those planned, one more than shown
        // to tell whether a next page exists.
        let mut chosen: BTreeSet<BillDay> = self
            .store
            .reconciled_days(before, days.saturating_add(1))
            .await?
            .into_iter()
            .collect();
        chosen.extend(planned.iter().map(|p| p.day));
        let mut newest_first: Vec<BillDay> = chosen.into_iter().rev().collect();
        let shown = usize::try_from(days).unwrap_or(usize::MAX);
        let more = newest_first.len() > shown;
        newest_first.truncate(shown);
        let (Some(&newest), Some(&oldest)) = (newest_first.first(), newest_first.last()) else {
            return Ok(DayPage {
                lines: Vec::new(),
                next: None,
            });
        };
        let runs = self.store.reconciliation_runs(oldest, newest).await?;
        let due = |channel: Channel, day: BillDay| {
            planned
                .iter()
                .find(|p| p.channel == channel && p.day == day)
                .map(|p| p.due_at)
        };
        let mut lines: Vec<DayLine> = runs
            .into_iter()
            .map(|run| DayLine {
                day: run.run.day,
                channel: run.run.channel,
                planned: due(run.run.channel, run.run.day),
                run: Some(run),
            })
            .collect();
        // A day planned for a channel that has no run of it yet is a line of its own.
        for p in planned.iter().filter(|p| p.day >= oldest) {
            if !lines
                .iter()
                .any(|l| l.channel == p.channel && l.day == p.day)
            {
                lines.push(DayLine {
                    day: p.day,
                    channel: p.channel,
                    run: None,
                    planned: Some(p.due_at),
                });
            }
        }
        lines.sort_by(|a, b| {
            let account = |l: &DayLine| l.run.as_ref().map(|r| r.run.account.clone());
            b.day
                .cmp(&a.day)
                .then(a.channel.as_str().cmp(b.channel.as_str()))
                .then(account(a).cmp(&account(b)))
        });
        Ok(DayPage {
            lines,
            next: more.then_some(oldest),
        })
    }

    /// `channel`'s `day`: each account's run with its discrepancies, and its plan. `NotFound`
    /// for a day that has neither.
    ///
    /// # Errors
    /// `NotAllowed` for a site user, `NotFound`, `Service(Store)`.
    pub async fn reconciliation_day(
        &self,
        role: &Role,
        channel: Channel,
        day: BillDay,
    ) -> Result<DayReport, ConsoleError> {
        operator(role)?;
        let runs: Vec<_> = self
            .store
            .reconciliations_of(day)
            .await?
            .into_iter()
            .filter(|(run, _)| run.channel == channel)
            .collect();
        let planned = self
            .store
            .find_job(&crate::domain::JobSubject::Bill(channel, day))
            .await?
            .map(|job| job.due_at);
        if runs.is_empty() && planned.is_none() {
            return Err(ConsoleError::NotFound);
        }
        let mut ids: Vec<OrderId> = runs
            .iter()
            .flat_map(|(_, found)| found.iter().filter_map(|d| d.order_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let order_numbers = self.store.order_numbers(&ids).await?;
        Ok(DayReport {
            channel,
            day,
            runs,
            planned,
            order_numbers,
        })
    }

    /// Plans `channel`'s `day` to be reconciled again now (admins only): the entry in the audit
    /// log first, then the day's job, due at once, for a node's workers to run. `NotFound` for a
    /// day the console does not show (neither run nor planned) and for a day not begun yet (the
    /// next day is planned when its bill is due, and has no bill before).
    ///
    /// # Errors
    /// `NotAllowed` for anyone but an admin, `NotFound`, `Service(Store)`.
    pub async fn request_reconciliation(
        &self,
        acting: Acting<'_>,
        channel: Channel,
        day: BillDay,
    ) -> Result<(), ConsoleError> {
        if acting.user.role != Role::Admin {
            return Err(ConsoleError::NotAllowed);
        }
        let now = Timestamp::now();
        if !may_run(day, now) {
            return Err(ConsoleError::NotFound);
        }
        self.reconciliation_day(&acting.user.role, channel, day)
            .await?;
        let entry = AuditEntry::by(now, &acting.acted_by(), AuditAction::ReconciliationRequest)
            .on("reconciliation", &format!("{}:{day}", channel.as_str()))
            .detail(format!("{} {day}: run again", channel.as_str()));
        self.store.record_audit(&entry).await?;
        self.store.request_reconciliation(channel, day, now).await?;
        Ok(())
    }
}
