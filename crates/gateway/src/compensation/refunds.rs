//! The `check_refund` job: finds out what became of a refund that is still `processing` (its
//! answer or notification never came, or paygate stopped before it could record or even send it),
//! and sends it when the channel never got it. Every refund has one, inserted with the refund and
//! deleted by the store when the refund ends.
//!
//! An unclear answer is never taken as a failure: the refund stays `processing`, its amount
//! reserved, and is asked about again on the escalating schedule (the order checks' schedule,
//! counted from the refund's creation).

use std::time::Duration;

use crate::channels::RefundState;
use crate::domain::{Job, JobKind, JobSubject, Refund, RefundStatus, Timestamp};
use crate::service::{OrderService, RefundApplied};
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

use super::CompensationSettings;
use super::schedule::{next_check_after, soon_after};

/// What a refund check does with the channel's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnRefundQuery {
    /// The channel has no refund under this number: send it (the same number is the same refund,
    /// so a send racing one still in flight cannot refund twice).
    Send,
    /// Final: record it.
    Apply,
    /// Still processing upstream: ask again later.
    KeepChecking,
}

#[must_use]
pub(crate) fn on_refund_query(state: &RefundState) -> OnRefundQuery {
    match state {
        RefundState::NotFound => OnRefundQuery::Send,
        RefundState::Processing { .. } => OnRefundQuery::KeepChecking,
        RefundState::Succeeded { .. } | RefundState::Closed | RefundState::Abnormal { .. } => {
            OnRefundQuery::Apply
        }
    }
}

/// Runs `check_refund` jobs (subject: the refund id). Cheap to clone.
#[derive(Clone)]
pub struct RefundChecker {
    service: OrderService,
    schedule: Vec<Duration>,
}

impl RefundChecker {
    /// Checks on the schedule of `settings` (the default's if it is invalid).
    #[must_use]
    pub fn new(service: OrderService, settings: &CompensationSettings) -> Self {
        Self {
            service,
            schedule: settings.usable_schedule(),
        }
    }

    /// Checks the refund `job` is about as of `now`, and says when to check it again.
    pub async fn check(&self, job: &Job, now: Timestamp) -> JobOutcome {
        let (outcome, what) = self.run(job, now).await;
        metrics::counter!("paygate_refund_checks_total", "outcome" => what).increment(1);
        tracing::debug!(job = job.id, refund = %job.subject, outcome = what, next = ?outcome, "refund checked");
        outcome
    }

    async fn run(&self, job: &Job, now: Timestamp) -> (JobOutcome, &'static str) {
        let JobSubject::Refund(id) = job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "check_refund job names no refund");
            return (JobOutcome::Done, "missing");
        };
        let soon = JobOutcome::RetryAt(soon_after(now, &self.schedule));
        let refund = match self.service.refund_by_id(id).await {
            Ok(Some(refund)) => refund,
            Ok(None) => {
                tracing::error!(refund = id, "check_refund job for an unknown refund");
                return (JobOutcome::Done, "missing");
            }
            Err(e) => {
                tracing::error!(refund = id, error = %e, "could not load the refund to check");
                return (soon, "store_error");
            }
        };
        if refund.status != RefundStatus::Processing {
            return (JobOutcome::Done, "settled");
        }
        let order = match self.service.order_by_id(refund.order_id).await {
            Ok(Some(order)) => order,
            Ok(None) => {
                tracing::error!(refund = id, "refund of an unknown order");
                return (JobOutcome::Done, "missing");
            }
            Err(e) => {
                tracing::error!(refund = id, error = %e, "could not load the refunded order");
                return (soon, "store_error");
            }
        };
        let again = JobOutcome::RetryAt(next_check_after(refund.created_at, now, &self.schedule));
        let state = match self.service.query_refund_channel(&order, &refund).await {
            Ok(state) => state,
            // Unclear or refused: nothing learned, and nothing decided.
            Err(_) => return (again, "unknown"),
        };
        let ended = match on_refund_query(&state) {
            OnRefundQuery::KeepChecking => return (again, "processing"),
            OnRefundQuery::Send => {
                tracing::info!(refund = id, "refund not found upstream; sending it");
                self.service.send_refund(&order, refund).await.map(Some)
            }
            OnRefundQuery::Apply => self.service.apply_refund_state(&refund, &state).await.map(
                |applied| match applied {
                    RefundApplied::Ended(r) | RefundApplied::Unchanged(r) => Some(r),
                },
            ),
        };
        match ended {
            Ok(Some(Refund {
                status: RefundStatus::Processing,
                ..
            })) => (again, "sent"),
            Ok(_) => (JobOutcome::Done, "ended"),
            Err(e) => {
                tracing::error!(refund = id, error = %e, "could not record the refund's outcome");
                (soon, "store_error")
            }
        }
    }
}

impl JobHandler for RefundChecker {
    fn kind(&self) -> JobKind {
        JobKind::CheckRefund
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move { self.check(&job, Timestamp::now()).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_is_sent_only_when_the_channel_has_none_and_never_failed_for_being_unclear() {
        assert_eq!(on_refund_query(&RefundState::NotFound), OnRefundQuery::Send);
        assert_eq!(
            on_refund_query(&RefundState::Processing {
                channel_refund_id: None
            }),
            OnRefundQuery::KeepChecking
        );
        for final_state in [
            RefundState::Succeeded {
                channel_refund_id: None,
                at: None,
            },
            RefundState::Closed,
            RefundState::Abnormal {
                channel_refund_id: None,
            },
        ] {
            assert_eq!(on_refund_query(&final_state), OnRefundQuery::Apply);
        }
    }
}
