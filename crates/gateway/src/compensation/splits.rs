//! The `check_split` job: finds out what became of a split that is still `processing` (WeChat Pay
//! finishes splits later; an answer may have been lost, or paygate stopped before it could send
//! the split), and sends it when the channel never got it. Every split has one, inserted with the
//! split and deleted by the store when the split ends.
//!
//! An unclear answer is never taken as a failure: the split stays `processing`, its amount
//! reserved, and is asked about again on the escalating schedule (the order checks' schedule,
//! counted from the split's creation).

use std::time::Duration;

use crate::channels::SplitState;
use crate::domain::{Job, JobKind, JobSubject, Split, SplitStatus, Timestamp};
use crate::service::OrderService;
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

use super::CompensationSettings;
use super::schedule::{next_check_after, soon_after};

/// What a split check does with the channel's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSplitQuery {
    /// The channel has no split under this number: send it (the same number is the same split).
    Send,
    /// Final: record it.
    Apply,
    /// Still processing upstream: ask again later.
    KeepChecking,
}

#[must_use]
pub(crate) fn on_split_query(state: &SplitState) -> OnSplitQuery {
    match state {
        SplitState::NotFound => OnSplitQuery::Send,
        SplitState::Processing { .. } => OnSplitQuery::KeepChecking,
        SplitState::Finished { .. } => OnSplitQuery::Apply,
    }
}

/// Runs `check_split` jobs (subject: the split id). Cheap to clone.
#[derive(Clone)]
pub struct SplitChecker {
    service: OrderService,
    schedule: Vec<Duration>,
}

impl SplitChecker {
    /// Checks on the schedule of `settings` (the default's if it is invalid).
    #[must_use]
    pub fn new(service: OrderService, settings: &CompensationSettings) -> Self {
        Self {
            service,
            schedule: settings.usable_schedule(),
        }
    }

    /// Checks the split `job` is about as of `now`, and says when to check it again.
    pub async fn check(&self, job: &Job, now: Timestamp) -> JobOutcome {
        let (outcome, what) = self.run(job, now).await;
        metrics::counter!("paygate_split_checks_total", "outcome" => what).increment(1);
        tracing::debug!(job = job.id, split = %job.subject, outcome = what, next = ?outcome, "split checked");
        outcome
    }

    async fn run(&self, job: &Job, now: Timestamp) -> (JobOutcome, &'static str) {
        let JobSubject::Split(id) = job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "check_split job names no split");
            return (JobOutcome::Done, "missing");
        };
        let soon = JobOutcome::RetryAt(soon_after(now, &self.schedule));
        let split = match self.service.split_by_id(id).await {
            Ok(Some(split)) => split,
            Ok(None) => {
                tracing::error!(split = id, "check_split job for an unknown split");
                return (JobOutcome::Done, "missing");
            }
            Err(e) => {
                tracing::error!(split = id, error = %e, "could not load the split to check");
                return (soon, "store_error");
            }
        };
        if split.status != SplitStatus::Processing {
            return (JobOutcome::Done, "settled");
        }
        let order = match self.service.order_by_id(split.order_id).await {
            Ok(Some(order)) => order,
            Ok(None) => {
                tracing::error!(split = id, "split of an unknown order");
                return (JobOutcome::Done, "missing");
            }
            Err(e) => {
                tracing::error!(split = id, error = %e, "could not load the split order");
                return (soon, "store_error");
            }
        };
        let again = JobOutcome::RetryAt(next_check_after(split.created_at, now, &self.schedule));
        let state = match self.service.query_split_channel(&order, &split).await {
            Ok(state) => state,
            // Unclear or refused: nothing learned, and nothing decided.
            Err(_) => return (again, "unknown"),
        };
        let ended = match on_split_query(&state) {
            OnSplitQuery::KeepChecking => return (again, "processing"),
            OnSplitQuery::Send => {
                tracing::info!(split = id, "split not found upstream; sending it");
                self.service.send_split(&order, split).await
            }
            OnSplitQuery::Apply => self.service.apply_split_state(&split, &state).await,
        };
        match ended {
            Ok(Split {
                status: SplitStatus::Processing,
                ..
            }) => (again, "sent"),
            Ok(_) => (JobOutcome::Done, "ended"),
            Err(e) => {
                tracing::error!(split = id, error = %e, "could not record the split's outcome");
                (soon, "store_error")
            }
        }
    }
}

impl JobHandler for SplitChecker {
    fn kind(&self) -> JobKind {
        JobKind::CheckSplit
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move { self.check(&job, Timestamp::now()).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_sent_only_when_the_channel_has_none_and_never_failed_for_being_unclear() {
        assert_eq!(on_split_query(&SplitState::NotFound), OnSplitQuery::Send);
        assert_eq!(
            on_split_query(&SplitState::Processing {
                channel_split_id: None
            }),
            OnSplitQuery::KeepChecking
        );
        let finished = SplitState::Finished {
            channel_split_id: None,
            shares: Vec::new(),
            at: None,
        };
        assert_eq!(on_split_query(&finished), OnSplitQuery::Apply);
    }
}
