//! The `reconcile_day` job: one channel's bill of one day, read and reconciled by whichever node
//! claims it. Each channel's days are planned one after another: a day reconciled completely plans
//! the next one for when its bill is published (WeChat Pay from 10:00 the next morning, China
//! time); a bill not published yet is asked for again in half an hour; any other failure (the
//! channel unreachable, a file that cannot be read) is retried later, backing off to a few hours.
//! An operator's `paygate reconcile` asks for a day at once through the same job.
//!
//! A run is safe to repeat and to run twice at once (see `run.rs`): a node taking over a run whose
//! lease ran out repeats nothing another node did.

use std::time::Duration;

use crate::channels::Channels;
use crate::domain::{BillDay, Channel, Job, JobKind, JobSubject, Timestamp};
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

use super::funds::{FundsChunk, MovementTotals};
use super::run::{BillError, ReconcileError, Reconciler};

/// When each channel's bills are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// How long after the end of a day (midnight, China time) its bill is asked for.
    pub publish_after: Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        // WeChat Pay publishes the day's bills from 10:00 the next morning; Alipay's are ready
        // earlier. One setting for both keeps each day's runs together.
        Self {
            publish_after: Duration::from_secs(10 * 3600),
        }
    }
}

/// How long to wait before asking again for a bill that is not published yet.
const NOT_YET_RETRY: Duration = Duration::from_secs(30 * 60);
/// The longest wait between two tries of a day that failed otherwise.
const MAX_BACKOFF: Duration = Duration::from_secs(4 * 3600);

/// How many days back a starting node plans the days not reconciled yet (a gateway that was down
/// catches up on them).
pub const CATCH_UP_DAYS: i64 = 7;

/// Plans the last [`CATCH_UP_DAYS`] days of every channel in `channels` that are not reconciled or
/// planned yet, each due when its bill is published (at once for days past it). Called when a
/// node starts; the days after chain from there.
///
/// # Errors
/// `Database`.
pub async fn plan_recent_days(
    store: &crate::store::Store,
    channels: &Channels,
    settings: ReconcileSettings,
    now: Timestamp,
) -> Result<(), crate::store::StoreError> {
    let today = BillDay::of(now);
    for channel in [Channel::Wechat, Channel::Alipay] {
        if ReconcileJob::account(channels, channel).is_none() {
            continue;
        }
        let mut day = today;
        for _ in 0..CATCH_UP_DAYS {
            day = day.previous();
            store
                .plan_reconciliation(channel, day, due_at(day, settings))
                .await?;
        }
    }
    Ok(())
}

/// When `day`'s bill is asked for under `settings`.
#[must_use]
pub fn due_at(day: BillDay, settings: ReconcileSettings) -> Timestamp {
    day.bounds().1.plus(settings.publish_after)
}

/// When to try a day again after its `attempt`-th failure (0 for the first): a minute, doubling
/// to [`MAX_BACKOFF`].
#[must_use]
pub fn retry_after(attempt: i32) -> Duration {
    let minutes = 1_u64 << u32::try_from(attempt.clamp(0, 16)).unwrap_or(16);
    Duration::from_secs(minutes * 60).min(MAX_BACKOFF)
}

/// Runs `reconcile_day` jobs.
#[derive(Clone)]
pub struct ReconcileJob {
    reconciler: Reconciler,
    channels: Channels,
    settings: ReconcileSettings,
}

impl ReconcileJob {
    #[must_use]
    pub fn new(reconciler: Reconciler, channels: Channels, settings: ReconcileSettings) -> Self {
        Self {
            reconciler,
            channels,
            settings,
        }
    }

    /// The merchant account of `channel` that paygate uses, when configured.
    #[must_use]
    pub fn account(channels: &Channels, channel: Channel) -> Option<String> {
        match channel {
            Channel::Wechat => channels.wechat_account().map(|w| w.mchid.clone()),
            Channel::Alipay => channels.alipay_account().map(|a| a.app_id.clone()),
        }
    }

    async fn run(&self, job: &Job, now: Timestamp) -> JobOutcome {
        let JobSubject::Bill(channel, day) = job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "reconcile_day job names no bill");
            return JobOutcome::Done;
        };
        let (account, bill) = match channel {
            Channel::Alipay => match self.channels.alipay_account() {
                Some(a) => (a.app_id.clone(), super::alipay::open(&a.client, day).await),
                None => return Self::unused(channel, day),
            },
            Channel::Wechat => match self.channels.wechat_account() {
                Some(w) => (w.mchid.clone(), super::wechat::open(&w.client, day).await),
                None => return Self::unused(channel, day),
            },
        };
        let funds = self.open_account_bill(channel, day);
        match self
            .reconciler
            .run(channel, &account, day, bill, funds)
            .await
        {
            Ok(summary) => {
                tracing::info!(
                    channel = channel.as_str(), %day, matched = summary.matched,
                    new_discrepancies = summary.new_discrepancies, "day reconciled"
                );
                // The chain of days goes on from yesterday's run to today's (due tomorrow); an
                // operator's run of an older day plans nothing after it.
                let next = day.next();
                if next >= BillDay::of(now).previous() {
                    let planned = self
                        .reconciler
                        .store()
                        .plan_reconciliation(channel, next, due_at(next, self.settings))
                        .await;
                    if let Err(e) = planned {
                        tracing::error!(error = %e, "planning the next day's reconciliation failed");
                    }
                }
                JobOutcome::Done
            }
            Err(ReconcileError::Bill(BillError::NotYetAvailable(_)))
                if now >= due_at(day.next(), self.settings) =>
            {
                // A day later than its bill was due, and still no bill: the channels publish none
                // for a day without trades. If paygate has no payment of the day either, the day
                // is complete and empty; otherwise the bill is missing, and asked for again.
                match self.empty_day(channel, &account, day).await {
                    Ok(true) => JobOutcome::Done,
                    Ok(false) => JobOutcome::RetryAt(now.plus(NOT_YET_RETRY)),
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciling an empty day failed");
                        JobOutcome::RetryAt(now.plus(retry_after(job.attempt)))
                    }
                }
            }
            Err(ReconcileError::Bill(BillError::NotYetAvailable(_))) => {
                JobOutcome::RetryAt(now.plus(NOT_YET_RETRY))
            }
            Err(e) => {
                tracing::warn!(channel = channel.as_str(), %day, error = %e, "reconciliation failed; tried again later");
                JobOutcome::RetryAt(now.plus(retry_after(job.attempt)))
            }
        }
    }
}

impl ReconcileJob {
    fn unused(channel: Channel, day: BillDay) -> JobOutcome {
        tracing::warn!(channel = channel.as_str(), %day, "reconciliation of a channel paygate does not use: dropped");
        JobOutcome::Done
    }

    /// Opens `day`'s account bill of `channel`: what the run reads once the trade bill is done.
    async fn open_account_bill(
        &self,
        channel: Channel,
        day: BillDay,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<FundsChunk, BillError>>, BillError> {
        let unused = || BillError::Channel(format!("{} is not configured", channel.as_str()));
        match channel {
            Channel::Alipay => {
                let a = self.channels.alipay_account().ok_or_else(unused)?;
                super::alipay_funds::open(&a.client, day).await
            }
            Channel::Wechat => {
                let w = self.channels.wechat_account().ok_or_else(unused)?;
                super::wechat_funds::open(&w.client, day).await
            }
        }
    }

    /// Reconciles `day` as a day without a bill when paygate has no payment of it on `channel`;
    /// whether it did.
    async fn empty_day(
        &self,
        channel: Channel,
        account: &str,
        day: BillDay,
    ) -> Result<bool, ReconcileError> {
        let (from, to) = day.bounds();
        let store = self.reconciler.store();
        if !store
            .paid_orders_between(channel, from, to, None, 1)
            .await?
            .is_empty()
        {
            tracing::warn!(channel = channel.as_str(), %day, "no bill for a day with payments; asked for again");
            return Ok(false);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let _ = tx
            .send(Ok(super::run::BillChunk::Summary(
                crate::domain::BillTotals::default(),
            )))
            .await;
        drop(tx);
        // A day without trades may still have moved the balance (a withdrawal): its account
        // bill, if there is one, is read all the same.
        let funds = async {
            match self.open_account_bill(channel, day).await {
                Err(BillError::NotYetAvailable(_)) => {
                    let (tx, rx) = tokio::sync::mpsc::channel(1);
                    let _ = tx
                        .send(Ok(FundsChunk::Summary(MovementTotals::default())))
                        .await;
                    Ok(rx)
                }
                opened => opened,
            }
        };
        self.reconciler
            .run(channel, account, day, Ok(rx), funds)
            .await?;
        Ok(true)
    }
}

impl JobHandler for ReconcileJob {
    fn kind(&self) -> JobKind {
        JobKind::ReconcileDay
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move { self.run(&job, Timestamp::now()).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_bill_is_asked_for_the_next_morning_and_failures_back_off_to_hours() {
        let day = BillDay::parse("2026-11-29").unwrap();
        assert_eq!(
            due_at(day, ReconcileSettings::default()),
            Timestamp::parse_rfc3339("2026-11-30T02:00:00Z").unwrap(),
            "10:00 in China"
        );
        assert_eq!(retry_after(0), Duration::from_secs(60));
        assert_eq!(retry_after(3), Duration::from_secs(8 * 60));
        assert_eq!(retry_after(10), MAX_BACKOFF);
        assert_eq!(retry_after(i32::MAX), MAX_BACKOFF);
        assert_eq!(retry_after(-1), Duration::from_secs(60));
    }
}
