//! The worker loop. Each job kind has a lane of its own: its own `batch` slots and its own claims,
//! so that deliveries to sites never wait behind a burst of order checks, nor checks behind a site
//! that answers slowly. Within a lane, one task per job, which also records the job's outcome (so
//! that the lane's throughput is its slots', not one commit at a time); completions, the poll
//! timer, wake-ups and shutdown are awaited together so that a slow job never holds up the others.
//! While a lane has jobs in flight it renews their leases every third of the lease, so that a job
//! longer than one lease (a big day's reconciliation) is never taken over while this node lives.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join_all;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::{JobHandler, JobOutcome, WorkerSettings};
use crate::domain::{Job, JobKind, Timestamp};
use crate::store::Store;

/// Runs until `shutdown` resolves: claims due jobs of the handlers' kinds, runs them concurrently
/// (at most `settings.batch` at once of each kind), then completes or reschedules each. A handler
/// that panics is rescheduled with a backoff; a store error is logged and the lane backs off. On
/// shutdown every lane stops claiming and lets its jobs in flight finish (recording their
/// outcome); then this node's leases are released.
pub async fn run(
    store: Store,
    handlers: Vec<Arc<dyn JobHandler>>,
    settings: WorkerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut by_kind: HashMap<JobKind, Arc<dyn JobHandler>> = HashMap::new();
    for handler in handlers {
        if by_kind.insert(handler.kind(), handler).is_some() {
            tracing::warn!("two job handlers for one kind; the last one given is used");
        }
    }
    let node = settings.node_id.as_str();
    let kinds: Vec<JobKind> = by_kind.keys().copied().collect();
    tracing::info!(node, ?kinds, "workers started");
    let shutdown = shutdown.shared();
    let lanes = by_kind
        .into_values()
        .map(|handler| run_lane(&store, handler, &settings, shutdown.clone()));
    join_all(lanes).await;
    // Only once every lane is done: a lease released while its job still ran could let another
    // node run the job at the same time.
    match store.release_leases(node).await {
        Ok(released) => tracing::info!(node, released, "workers stopped"),
        // The leases run out by themselves; other nodes just wait a little longer.
        Err(e) => tracing::error!(node, error = %e, "releasing leases failed"),
    }
}

/// One kind's lane, until `shutdown` and its jobs in flight have finished.
async fn run_lane(
    store: &Store,
    handler: Arc<dyn JobHandler>,
    settings: &WorkerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let kinds = [handler.kind()];
    let batch = settings.batch.max(1);
    let node = settings.node_id.as_str();
    let mut running = Running::default();
    let mut woken = store.work_due();
    // Claim at once on start: jobs may have waited while no node was up.
    let mut next_poll = Instant::now();
    let mut more_due = true;
    let mut failures = 0_u32;
    let mut stopping = false;
    tokio::pin!(shutdown);

    // A claim is a write: under a steady stream of jobs, slots are claimed a quarter of the lane at
    // a time rather than one claim per finished job. The poll still claims any free slot, so a
    // lane whose other slots are held by slow jobs waits at most one poll interval longer.
    let claim_from = (batch / 4).max(1);
    let renew_every = settings.lease / 3;
    let mut next_renewal = Instant::now() + renew_every;
    loop {
        if running.is_empty() {
            // The first job to start is renewed a third of a lease after its claim.
            next_renewal = Instant::now() + renew_every;
        }
        let free = batch.saturating_sub(running.len());
        let poll_due = Instant::now() >= next_poll;
        let worth = free >= claim_from || (free > 0 && poll_due);
        if !stopping && worth && (more_due || poll_due) {
            match store
                .claim_jobs(&kinds, node, Timestamp::now(), settings.lease, free)
                .await
            {
                Ok(claimed) => {
                    failures = 0;
                    // A full claim means more may be due: claim again as soon as a slot frees.
                    more_due = claimed.len() >= free as usize;
                    next_poll = Instant::now() + settings.poll_interval;
                    for job in claimed {
                        running.start(store, node, &handler, job);
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = error_backoff(settings.poll_interval, failures);
                    tracing::error!(node, kind = kinds[0].as_str(), error = %e, ?wait,
                        "claiming jobs failed; backing off");
                    more_due = false;
                    next_poll = Instant::now() + wait;
                }
            }
        }
        if stopping && running.is_empty() {
            return;
        }
        let can_claim = !stopping && running.len() < batch;
        tokio::select! {
            () = &mut shutdown, if !stopping => {
                tracing::info!(node, kind = kinds[0].as_str(), in_flight = running.len(),
                    "workers stopping");
                stopping = true;
            }
            Some(done) = running.set.join_next_with_id() => running.finished(done),
            () = sleep_until(next_renewal), if !running.is_empty() => {
                next_renewal = Instant::now() + renew_every;
                running.renew(store, node, settings.lease).await;
            }
            () = sleep_until(next_poll), if can_claim => {}
            Ok(()) = woken.changed(), if can_claim => more_due = true,
        }
    }
}

/// The jobs in flight, by task.
#[derive(Default)]
struct Running {
    set: JoinSet<()>,
    jobs: HashMap<Id, i64>,
    ids: HashSet<i64>,
}

impl Running {
    fn len(&self) -> u32 {
        u32::try_from(self.jobs.len()).unwrap_or(u32::MAX)
    }

    fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Runs the job in a task of its own, which records its outcome when it ends.
    fn start(&mut self, store: &Store, node: &str, handler: &Arc<dyn JobHandler>, job: Job) {
        // Our own lease ran out while the job was still running and we claimed it again: that
        // renewed the lease, and the job must not run twice on this node.
        if self.ids.contains(&job.id) {
            tracing::warn!(
                job = job.id,
                kind = job.kind().as_str(),
                "job outlived its lease; lease renewed"
            );
            return;
        }
        let (handler, store, node) = (Arc::clone(handler), store.clone(), node.to_owned());
        let job_id = job.id;
        let task = self.set.spawn(async move {
            let outcome = AssertUnwindSafe(handler.handle(job.clone()))
                .catch_unwind()
                .await;
            settle(&store, &node, &job, outcome).await;
        });
        self.ids.insert(job_id);
        self.jobs.insert(task.id(), job_id);
    }

    /// Extends the leases of the jobs in flight. Fewer leases renewed than jobs in flight is
    /// logged: a lease lost (this node could not renew it for a whole lease and another took the
    /// job over, which may now run twice), or a job that ended while its task was finishing.
    async fn renew(&self, store: &Store, node: &str, lease: Duration) {
        let ids: Vec<i64> = self.ids.iter().copied().collect();
        match store
            .renew_leases(node, &ids, Timestamp::now(), lease)
            .await
        {
            Ok(renewed) if renewed < ids.len() as u64 => {
                tracing::warn!(
                    node,
                    running = ids.len(),
                    renewed,
                    "fewer leases renewed than jobs in flight: lost, or the jobs just ended"
                );
            }
            Ok(_) => {}
            // The next renewal tries again; the leases last two more of its intervals.
            Err(e) => {
                tracing::error!(node, error = %e, "renewing the leases of running jobs failed")
            }
        }
    }

    /// A job's task ended: its slot is free.
    fn finished(&mut self, done: Result<(Id, ()), JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            // Only a panic while recording the outcome gets here; the lease runs out and the job
            // runs again.
            Err(e) => {
                tracing::error!(error = %e, "a job's task failed after its handler");
                e.id()
            }
        };
        if let Some(job_id) = self.jobs.remove(&id) {
            self.ids.remove(&job_id);
        }
    }
}

/// Records a job's outcome. A lost lease means another owner has (or had) the job: nothing more is
/// done here. A store failure leaves the job leased; it runs again when the lease expires.
async fn settle(
    store: &Store,
    node: &str,
    job: &Job,
    outcome: Result<JobOutcome, Box<dyn Any + Send>>,
) {
    let kind = job.kind().as_str();
    let result = match outcome {
        Ok(JobOutcome::Done) => store.complete_job(job, node).await,
        Ok(JobOutcome::Completed) => Ok(true),
        Ok(JobOutcome::RetryAt(at)) => store.reschedule_job(job, node, at).await,
        Err(e) => {
            let retry_in = panic_backoff(job.attempt);
            tracing::error!(job = job.id, kind, subject = %job.subject, attempt = job.attempt,
                panic = %panic_message(&*e), ?retry_in, "job handler failed; rescheduled");
            store
                .reschedule_job(job, node, Timestamp::now().plus(retry_in))
                .await
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!(job = job.id, kind, subject = %job.subject,
            "lease lost before the job finished (expired and taken over, or the job was removed)"),
        Err(e) => tracing::error!(job = job.id, kind, subject = %job.subject, error = %e,
            "recording the job's outcome failed; it runs again when its lease expires"),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".to_owned())
}

/// 30 s, doubling with each attempt, at most an hour: a handler that panics on a job will likely
/// panic again, and must not spin.
fn panic_backoff(attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.clamp(0, 7)).unwrap_or(7);
    (Duration::from_secs(30) * 2_u32.pow(doublings)).min(Duration::from_secs(3600))
}

/// The poll interval, doubling with each consecutive failure, at most 30 s.
fn error_backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(2_u32.saturating_pow(failures.min(16)))
        .clamp(poll, Duration::from_secs(30).max(poll))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoffs_grow_and_stay_bounded() {
        assert_eq!(panic_backoff(0), Duration::from_secs(30));
        assert_eq!(panic_backoff(1), Duration::from_secs(60));
        assert_eq!(panic_backoff(100), Duration::from_secs(3600));
        let poll = Duration::from_secs(1);
        assert_eq!(error_backoff(poll, 1), Duration::from_secs(2));
        assert_eq!(error_backoff(poll, 50), Duration::from_secs(30));
    }
}
