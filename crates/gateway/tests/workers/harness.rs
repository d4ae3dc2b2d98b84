//! A scriptable job handler and a worker that can be started and stopped.

// Test helpers: a failure here is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use gateway::domain::{Job, JobKind};
use gateway::store::Store;
use gateway::workers::{self, BoxFuture, JobHandler, JobOutcome, WorkerSettings};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::support::TestDb;

/// Generous bound for anything awaited: a hang fails instead of blocking the suite.
pub const PATIENCE: Duration = Duration::from_secs(20);

type Script = dyn Fn(&Job) -> JobOutcome + Send + Sync;

/// Reports every job it starts (with the node it runs on), optionally waits at a gate, then does
/// what its script says (which may panic).
pub struct TestHandler {
    kind: JobKind,
    node: String,
    started: mpsc::UnboundedSender<(String, Job)>,
    gate: Option<Arc<Semaphore>>,
    script: Box<Script>,
}

impl JobHandler for TestHandler {
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move {
            self.started.send((self.node.clone(), job.clone())).unwrap();
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
            }
            (self.script)(&job)
        })
    }
}

/// What the handlers of a test report: `(node, job)` as each job starts.
pub struct Reports(mpsc::UnboundedReceiver<(String, Job)>);

impl Reports {
    pub async fn next(&mut self) -> (String, Job) {
        tokio::time::timeout(PATIENCE, self.0.recv())
            .await
            .expect("no job ran in time")
            .unwrap()
    }

    /// The subjects of the next `n` jobs to start, in any order, sorted.
    pub async fn subjects(&mut self, n: usize) -> Vec<String> {
        let mut seen = Vec::with_capacity(n);
        for _ in 0..n {
            seen.push(self.next().await.1.subject.to_string());
        }
        seen.sort();
        seen
    }

    pub fn nothing_more(&mut self) -> bool {
        self.0.try_recv().is_err()
    }
}

pub fn reports() -> (mpsc::UnboundedSender<(String, Job)>, Reports) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Reports(rx))
}

pub fn handler(
    kind: JobKind,
    node: &str,
    started: &mpsc::UnboundedSender<(String, Job)>,
    gate: Option<Arc<Semaphore>>,
    script: impl Fn(&Job) -> JobOutcome + Send + Sync + 'static,
) -> Arc<dyn JobHandler> {
    Arc::new(TestHandler {
        kind,
        node: node.to_owned(),
        started: started.clone(),
        gate,
        script: Box::new(script),
    })
}

pub fn settings(node: &str) -> WorkerSettings {
    WorkerSettings {
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(60),
        batch: 4,
        node_id: node.to_owned(),
    }
}

/// `workers::run` in a task, with its shutdown trigger.
pub struct Worker {
    stop: oneshot::Sender<()>,
    stop_seen: oneshot::Receiver<()>,
    task: JoinHandle<()>,
}

/// A worker told to stop.
pub struct Stopping {
    /// Resolves once the loop has seen the signal (its shutdown future completed): from then on it
    /// is stopping.
    pub seen: oneshot::Receiver<()>,
    /// The loop's task, finished when the loop returned.
    pub task: JoinHandle<()>,
}

impl Worker {
    pub fn start(
        store: &Store,
        handlers: Vec<Arc<dyn JobHandler>>,
        settings: WorkerSettings,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let (seen, stop_seen) = oneshot::channel::<()>();
        let task = tokio::spawn(workers::run(
            store.clone(),
            handlers,
            settings,
            async move {
                let _ = stopped.await;
                let _ = seen.send(());
            },
        ));
        Self {
            stop,
            stop_seen,
            task,
        }
    }

    /// Signals shutdown and waits for the loop to return.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("worker did not stop")
            .unwrap();
    }

    /// Ends the loop as a crash would: its jobs stop where they are, nothing is recorded or
    /// released, and no lease is renewed again.
    pub async fn kill(self) {
        self.task.abort();
        let ended = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("worker did not end");
        assert!(
            ended.is_err_and(|e| e.is_cancelled()),
            "the worker ended before it was killed"
        );
    }

    /// Signals shutdown without waiting.
    pub fn signal_stop(self) -> Stopping {
        self.stop.send(()).unwrap();
        Stopping {
            seen: self.stop_seen,
            task: self.task,
        }
    }
}

impl TestDb {
    /// A job written directly, as if by any of the store's writers.
    pub async fn stage_job(&self, kind: &str, subject: &str, due_at: i64) {
        self.execute(&format!(
            "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ('{kind}', '{subject}', {due_at}, 0)"
        ))
        .await;
    }
}
