//! The `split_paid_order` job: carries out a paid order's split plan (the receivers its site
//! named, the operator's fee from a sub-merchant) a while after the payment, which queued it in
//! its own transaction. The splits it makes have check jobs of their own, which drive them to
//! their end.

use std::time::Duration;

use crate::domain::{Job, JobKind, JobSubject, Timestamp};
use crate::service::{OrderService, PlannedSplits};
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

/// How long after a payment its planned splits are made: WeChat Pay refuses to split an order it
/// has not finished settling, which takes moments after the payment.
pub const DEFAULT_PLANNED_SPLIT_AFTER: Duration = Duration::from_secs(60);

/// When a planned split that could not be made is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// How many times a plan is retried (a minute apart) before what still cannot be done is given
/// up: a fee not taken booked as owed, the rest unfrozen.
const LAST_ATTEMPT: i32 = 60;

/// Runs `split_paid_order` jobs (subject: the order). Cheap to clone.
#[derive(Clone)]
pub struct PlannedSplitter {
    service: OrderService,
    after: Duration,
}

impl PlannedSplitter {
    /// Makes each paid order's planned splits `after` its payment.
    #[must_use]
    pub fn new(service: OrderService, after: Duration) -> Self {
        Self { service, after }
    }

    /// Carries out the plan of the order `job` is about, as of `now`.
    pub async fn run(&self, job: &Job, now: Timestamp) -> JobOutcome {
        let JobSubject::PaidOrder(order) = job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "split_paid_order job names no order");
            return JobOutcome::Done;
        };
        let last_try = job.attempt >= LAST_ATTEMPT;
        match self
            .service
            .split_as_planned(order, self.after, now, last_try)
            .await
        {
            PlannedSplits::Done => JobOutcome::Done,
            PlannedSplits::NotBefore(at) => JobOutcome::RetryAt(at),
            PlannedSplits::Retry => JobOutcome::RetryAt(now.plus(RETRY_AFTER)),
        }
    }
}

impl JobHandler for PlannedSplitter {
    fn kind(&self) -> JobKind {
        JobKind::SplitPaidOrder
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move { self.run(&job, Timestamp::now()).await })
    }
}
