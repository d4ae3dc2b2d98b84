//! Background workers: claim due jobs with a lease, run the handler for each job's kind, then
//! complete or reschedule the job. Handlers live with their concern (`notify/`, `compensation/`);
//! this module only knows the [`JobHandler`] trait. The loop itself is in `run.rs`; the periodic
//! purges of expired API nonces in `nonce_purge.rs`, and of dead console sessions and ended
//! login-failure windows in `account_purge.rs`.

mod account_purge;
mod nonce_purge;
mod run;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use account_purge::{ACCOUNT_PURGE_INTERVAL, purge_accounts};
pub use nonce_purge::purge_nonces;
pub use run::run;

use crate::domain::{Job, JobKind, Timestamp};

/// A boxed, sendable future: what [`JobHandler::handle`] returns (no async-trait crate needed).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the jobs of one kind. A job may run more than once (a node can die after the work but
/// before completing the job), so `handle` must be idempotent. However long it runs, its node
/// renews its lease ([`WorkerSettings::lease`]) every third of it: another node takes the job over
/// only once the node running it has died (or lost the database for a whole lease).
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> JobKind;
    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome>;
}

/// What became of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Nothing more to do: the job is deleted.
    Done,
    /// Nothing more to do, and the handler deleted the job itself, in its own last transaction.
    Completed,
    /// Run it again at this time (its `attempt` goes up by one).
    RetryAt(Timestamp),
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often to look for due jobs when nothing woke the worker sooner.
    pub poll_interval: Duration,
    /// How long a claimed job is this node's without word from it; renewed every third of it while
    /// the job runs, so it bounds how long a dead node's jobs wait, not how long a job may take.
    pub lease: Duration,
    /// How many jobs of each kind run at once (and the most claimed in one go): deliveries,
    /// order checks and refund checks each have this many slots of their own.
    pub batch: u32,
    /// This process's name as a lease owner; unique per process (see [`default_node_id`]).
    pub node_id: String,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            // Renewed every 20 s while a job runs (a day's reconciliation can take minutes): a dead
            // node's jobs wait at most a minute.
            lease: Duration::from_secs(60),
            batch: 16,
            node_id: default_node_id(),
        }
    }
}

/// `hostname-pid-random`: readable in the jobs table and in delivery attempts, and unique even when
/// a restarted process (or another container) has the same host name and pid: a new process must
/// never look like the holder of leases taken by the one before it.
#[must_use]
pub fn default_node_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        channel_core::nonce::alphanumeric(6)
    )
}
