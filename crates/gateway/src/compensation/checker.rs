//! The `check_order` job handler: loads the order, takes the step `decide` names, and turns every
//! answer into a job outcome. Nothing here decides what an answer means; `decide` does.

use crate::channels::{ChannelError, UpstreamStatus};
use crate::domain::{Job, JobKind, JobSubject, Order, OrderStatus, Timestamp};
use crate::service::{Applied, OrderService, ResultSource};
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

use super::CompensationSettings;
use super::decide::{self, CloseResult, OnExpiry, OnQuery, Step, Timeline};
use super::schedule::{next_check_after, soon_after};

/// Runs `check_order` jobs (subject: the order id). Cheap to clone.
#[derive(Clone)]
pub struct OrderChecker {
    service: OrderService,
    settings: CompensationSettings,
}

/// What one check did, for `paygate_order_checks_total{outcome}` and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checked {
    /// The job's order does not exist (or the job is not about an order).
    Missing,
    /// Already paid, closed or refunded.
    Settled,
    /// Before the first check instant: rescheduled without asking the channel.
    NotDue,
    /// Asked; still open (not paid, paying, not seen upstream, failed, or news not recordable).
    Open,
    Paid,
    Closed,
    /// Closed upstream at expiry but `failed` here (a failed order cannot become closed).
    FailedAtExpiry,
    /// The channel did not answer clearly: nothing changed, retried later.
    Unknown,
    /// The channel's news contradicts the order (an anomaly was recorded); left to the operator.
    Refused,
    /// paygate's own database failed: retried later.
    StoreError,
}

impl Checked {
    fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Settled => "settled",
            Self::NotDue => "not_due",
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Closed => "closed",
            Self::FailedAtExpiry => "failed_at_expiry",
            Self::Unknown => "unknown",
            Self::Refused => "refused",
            Self::StoreError => "store_error",
        }
    }
}

impl OrderChecker {
    /// `settings` should come from [`CompensationSettings::checked`]; an invalid schedule is
    /// replaced by the default (and logged) rather than querying in a tight loop.
    #[must_use]
    pub fn new(service: OrderService, settings: CompensationSettings) -> Self {
        let settings = match settings.clone().checked() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "invalid order-check schedule; using the default");
                CompensationSettings {
                    expiry_grace: settings.expiry_grace,
                    ..CompensationSettings::default()
                }
            }
        };
        Self { service, settings }
    }

    /// Checks the order `job` is about as of `now`, and says when to check it again. Taking `now`
    /// (rather than reading the clock) lets tests walk an order through its schedule.
    pub async fn check(&self, job: &Job, now: Timestamp) -> JobOutcome {
        let (outcome, checked) = self.run(job, now).await;
        metrics::counter!("paygate_order_checks_total", "outcome" => checked.as_str()).increment(1);
        tracing::debug!(
            job = job.id,
            order = %job.subject,
            attempt = job.attempt,
            outcome = checked.as_str(),
            next = ?outcome,
            "order checked"
        );
        outcome
    }

    async fn run(&self, job: &Job, now: Timestamp) -> (JobOutcome, Checked) {
        let JobSubject::Order(id) = job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "check_order job names no order");
            return (JobOutcome::Done, Checked::Missing);
        };
        let order = match self.service.order_by_id(id).await {
            Ok(Some(order)) => order,
            Ok(None) => {
                tracing::error!(order = id.as_i64(), "check_order job for an unknown order");
                return (JobOutcome::Done, Checked::Missing);
            }
            Err(e) => {
                tracing::error!(order = id.as_i64(), error = %e, "could not load the order to check");
                return (self.after_store_error(now), Checked::StoreError);
            }
        };
        if order.is_unbound() {
            return self.check_attempts(order, now).await;
        }
        if order.neutral && matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded) {
            return self.after_neutral_payment(order, now).await;
        }
        let schedule = &self.settings.schedule;
        match decide::step(
            Timeline::of(&order),
            now,
            schedule,
            self.settings.expiry_grace,
        ) {
            Step::Settled => (JobOutcome::Done, Checked::Settled),
            Step::WaitUntil(at) => (JobOutcome::RetryAt(at), Checked::NotDue),
            Step::Query { next } => self.query_phase(order, next, now).await,
            Step::Expire => self.expire(order, now).await,
        }
    }

    /// Before the deadline: ask, record news, keep checking until the order settles.
    async fn query_phase(
        &self,
        order: Order,
        next: Timestamp,
        now: Timestamp,
    ) -> (JobOutcome, Checked) {
        let again = JobOutcome::RetryAt(next);
        let status = match self.service.query_channel(&order).await {
            Ok(status) => status,
            // Unknown or refused: nothing learned; the next scheduled check asks again.
            Err(_) => return (again, Checked::Unknown),
        };
        match decide::on_query(&status) {
            OnQuery::KeepChecking => (again, Checked::Open),
            OnQuery::Apply => match self.apply(&order, &status).await {
                Ok(Applied::Changed(now_order) | Applied::Unchanged(now_order)) => {
                    settled_or(&now_order, again)
                }
                Ok(Applied::Refused(_)) => (JobOutcome::Done, Checked::Refused),
                Err(()) => (self.after_store_error(now), Checked::StoreError),
            },
        }
    }

    /// Past the deadline: close upstream, ask once more, then record paid or closed.
    async fn expire(&self, order: Order, now: Timestamp) -> (JobOutcome, Checked) {
        let later = self.after_unclear_expiry(&order, now);
        let closed = self.close(&order).await;
        let close = CloseResult::of(&closed);
        if close == CloseResult::Unknown {
            return (later, Checked::Unknown);
        }
        // Asked even after a successful close: a payment completed just before the close must be
        // recorded as paid, never closed over.
        let status = match self.service.query_channel(&order).await {
            Ok(status) => status,
            Err(_) => return (later, Checked::Unknown),
        };
        match decide::on_expiry(close, &status) {
            OnExpiry::Retry => {
                tracing::warn!(order = order.id.as_i64(), ?close, upstream = ?status, "expired order not closed: the channel's answers disagree; retrying");
                (later, Checked::Unknown)
            }
            OnExpiry::ApplyReported => match self.apply(&order, &status).await {
                Ok(Applied::Changed(o) | Applied::Unchanged(o)) => settled_or(&o, later),
                Ok(Applied::Refused(_)) => (JobOutcome::Done, Checked::Refused),
                Err(()) => (self.after_store_error(now), Checked::StoreError),
            },
            OnExpiry::CloseLocally => match self.apply(&order, &UpstreamStatus::Closed).await {
                Ok(Applied::Changed(o) | Applied::Unchanged(o)) => match o.status {
                    // Closed upstream, so nothing more can happen to a failed order either.
                    OrderStatus::Failed => (JobOutcome::Done, Checked::FailedAtExpiry),
                    OrderStatus::Created
                    | OrderStatus::Pending
                    | OrderStatus::Paid
                    | OrderStatus::Closed
                    | OrderStatus::Refunded => settled_or(&o, later),
                },
                Ok(Applied::Refused(_)) => (JobOutcome::Done, Checked::Refused),
                Err(()) => (self.after_store_error(now), Checked::StoreError),
            },
        }
    }

    /// A channel-neutral order no attempt has paid: each attempt is an upstream order of its own,
    /// asked (and at expiry closed) as a fixed order is. Only a payment through one of them changes
    /// the order before expiry; the order closes once all of them are closed.
    async fn check_attempts(&self, order: Order, now: Timestamp) -> (JobOutcome, Checked) {
        let views = match self.service.open_attempts(&order).await {
            Ok(views) => views,
            Err(e) => {
                tracing::error!(order = order.id.as_i64(), error = %e, "could not read pay attempts");
                return (self.after_store_error(now), Checked::StoreError);
            }
        };
        match decide::step(
            Timeline::of(&order),
            now,
            &self.settings.schedule,
            self.settings.expiry_grace,
        ) {
            Step::Settled => (JobOutcome::Done, Checked::Settled),
            Step::WaitUntil(at) => (JobOutcome::RetryAt(at), Checked::NotDue),
            Step::Query { next } => {
                for view in &views {
                    let Ok(status) = self.service.query_channel(view).await else {
                        continue;
                    };
                    if !matches!(status, UpstreamStatus::Paid { .. }) {
                        continue;
                    }
                    match self.apply(view, &status).await {
                        // Paid: on to closing the other apps' orders, in the same job.
                        Ok(Applied::Changed(o) | Applied::Unchanged(o))
                            if matches!(o.status, OrderStatus::Paid | OrderStatus::Refunded) =>
                        {
                            return self.after_neutral_payment(o, now).await;
                        }
                        Ok(Applied::Changed(o) | Applied::Unchanged(o)) => {
                            return settled_or(&o, JobOutcome::RetryAt(next));
                        }
                        // One app's contradicting news (recorded as an anomaly) says nothing of
                        // the others': keep checking them.
                        Ok(Applied::Refused(_)) => {}
                        Err(()) => return (self.after_store_error(now), Checked::StoreError),
                    }
                }
                (JobOutcome::RetryAt(next), Checked::Open)
            }
            Step::Expire => self.expire_attempts(order, views, now).await,
        }
    }

    /// A channel-neutral order paid through one attempt: its other attempts are closed and asked
    /// until none can be paid (a payment through one is a second payment, recorded as an anomaly by
    /// `apply_upstream`, never applied). An Alipay order the payer never opened is not found, and
    /// can no longer be opened once the order's deadline passed.
    async fn after_neutral_payment(&self, order: Order, now: Timestamp) -> (JobOutcome, Checked) {
        let views = match self.service.open_attempts(&order).await {
            Ok(views) => views,
            Err(e) => {
                tracing::error!(order = order.id.as_i64(), error = %e, "could not read pay attempts");
                return (self.after_store_error(now), Checked::StoreError);
            }
        };
        let open = Timeline {
            status: OrderStatus::Pending,
            ..Timeline::of(&order)
        };
        let schedule = &self.settings.schedule;
        let (past_deadline, again) =
            match decide::step(open, now, schedule, self.settings.expiry_grace) {
                Step::Expire => (true, self.after_unclear_expiry(&order, now)),
                Step::Query { next } => (false, JobOutcome::RetryAt(next)),
                Step::WaitUntil(at) => (false, JobOutcome::RetryAt(at)),
                Step::Settled => (true, JobOutcome::Done),
            };
        let mut left = 0;
        for view in views
            .iter()
            .filter(|v| v.upstream_order_no != order.upstream_order_no)
        {
            // The other app's order is not the one that was paid: asked as an unpaid one (else a
            // closed Alipay trade would read as a refunded payment).
            let view = &Order {
                status: OrderStatus::Pending,
                paid_at: None,
                ..view.clone()
            };
            let close = CloseResult::of(&self.close(view).await);
            let status = self.service.query_channel(view).await;
            let ended = match (&status, close) {
                // Recorded as a second payment; asking again would only count it again.
                (Ok(paid @ UpstreamStatus::Paid { .. }), _) => self.apply(view, paid).await.is_ok(),
                (Ok(UpstreamStatus::Closed), _) | (_, CloseResult::Closed) => true,
                (_, CloseResult::NotFound) => {
                    past_deadline || view.pay_method.channel() != crate::domain::Channel::Alipay
                }
                (_, CloseResult::Refused | CloseResult::Unknown) => false,
            };
            if ended {
                if let Err(e) = self.service.attempt_closed(view).await {
                    tracing::error!(order = order.id.as_i64(), error = %e, "could not record a closed pay attempt");
                    left += 1;
                }
            } else {
                left += 1;
            }
        }
        if left == 0 {
            (JobOutcome::Done, Checked::Settled)
        } else {
            (again, Checked::Open)
        }
    }

    /// Past the deadline: each open attempt is closed and asked as a fixed order would be; the
    /// order is closed here once none can be paid.
    async fn expire_attempts(
        &self,
        order: Order,
        views: Vec<Order>,
        now: Timestamp,
    ) -> (JobOutcome, Checked) {
        let later = self.after_unclear_expiry(&order, now);
        let mut each = Vec::with_capacity(views.len());
        for view in &views {
            let close = CloseResult::of(&self.close(view).await);
            let status = match close {
                CloseResult::Unknown => None,
                _ => self.service.query_channel(view).await.ok(),
            };
            let Some(status) = status else {
                each.push(OnExpiry::Retry);
                continue;
            };
            let end = decide::on_expiry(close, &status);
            match end {
                OnExpiry::ApplyReported => match self.apply(view, &status).await {
                    // Paid: on to closing the other apps' orders, in the same job.
                    Ok(Applied::Changed(o) | Applied::Unchanged(o))
                        if matches!(o.status, OrderStatus::Paid | OrderStatus::Refunded) =>
                    {
                        return self.after_neutral_payment(o, now).await;
                    }
                    Ok(_) => {}
                    Err(()) => return (self.after_store_error(now), Checked::StoreError),
                },
                OnExpiry::CloseLocally => {
                    if let Err(e) = self.service.attempt_closed(view).await {
                        tracing::error!(order = order.id.as_i64(), error = %e, "could not record a closed pay attempt");
                    }
                }
                OnExpiry::Retry => {}
            }
            each.push(end);
        }
        match decide::on_attempts_expiry(&each) {
            OnExpiry::CloseLocally => match self.apply(&order, &UpstreamStatus::Closed).await {
                Ok(Applied::Changed(o) | Applied::Unchanged(o)) => {
                    if o.status == OrderStatus::Closed {
                        self.service.sweep_attempts(&o).await;
                    }
                    settled_or(&o, later)
                }
                Ok(Applied::Refused(_)) => (JobOutcome::Done, Checked::Refused),
                Err(()) => (self.after_store_error(now), Checked::StoreError),
            },
            OnExpiry::ApplyReported | OnExpiry::Retry => (later, Checked::Unknown),
        }
    }

    async fn close(&self, order: &Order) -> Result<(), ChannelError> {
        let result = self.service.close_channel(order).await;
        match &result {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {
                tracing::info!(
                    order = order.id.as_i64(),
                    "expired order unknown upstream; closing it here"
                );
            }
            Err(e) => {
                tracing::warn!(order = order.id.as_i64(), error = %e, "order check: close failed");
            }
        }
        result
    }

    /// The one way this module changes an order. A store failure is logged here; the caller only
    /// needs to know to retry.
    async fn apply(&self, order: &Order, status: &UpstreamStatus) -> Result<Applied, ()> {
        self.service
            .apply_upstream(order, status, ResultSource::Query)
            .await
            .map_err(|e| {
                tracing::error!(order = order.id.as_i64(), error = %e, "could not record the channel's answer");
            })
    }

    /// After paygate's own failure: soon, the shortest interval of the schedule.
    fn after_store_error(&self, now: Timestamp) -> JobOutcome {
        JobOutcome::RetryAt(soon_after(now, &self.settings.schedule))
    }

    /// After an unclear answer past the deadline: the same escalating schedule, counted from the
    /// deadline, so a long outage costs one call per order every `schedule.last()`, not a storm.
    fn after_unclear_expiry(&self, order: &Order, now: Timestamp) -> JobOutcome {
        let deadline = decide::deadline(Timeline::of(order), self.settings.expiry_grace);
        JobOutcome::RetryAt(next_check_after(
            deadline.min(now),
            now,
            &self.settings.schedule,
        ))
    }
}

/// Done once the order is paid, closed or refunded; otherwise `otherwise`.
fn settled_or(order: &Order, otherwise: JobOutcome) -> (JobOutcome, Checked) {
    match order.status {
        OrderStatus::Paid => (JobOutcome::Done, Checked::Paid),
        OrderStatus::Closed => (JobOutcome::Done, Checked::Closed),
        OrderStatus::Refunded => (JobOutcome::Done, Checked::Settled),
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => {
            (otherwise, Checked::Open)
        }
    }
}

impl JobHandler for OrderChecker {
    fn kind(&self) -> JobKind {
        JobKind::CheckOrder
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move { self.check(&job, Timestamp::now()).await })
    }
}
