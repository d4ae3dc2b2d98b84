//! Group commit: a thread per store appends the journal records that updates hand it and flushes
//! them to disk, one flush for every record that arrived while the previous flush ran.
//!
//! Updates hand their records over under the state lock, so the journal's order is the order the
//! state changed in, and they wait for the flush without the lock (and, being async, without a
//! runtime thread). The thread also writes the snapshots updates hand it (compaction), in the same
//! order: a snapshot replaces the records handed over before it, which it includes.
//!
//! A failed write leaves the journal possibly ending in half a batch: nothing more is appended to
//! it until a snapshot has been written, which empties it. Until then every update hands over a
//! snapshot instead of a record ([`Writer::needs_snapshot`]), as the whole-file store did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::files::Files;

pub(super) struct Writer {
    shared: Arc<Shared>,
    progress: watch::Receiver<Progress>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// A write failed and no snapshot has been written since.
    broken: AtomicBool,
}

/// What updates handed over since the thread last took it.
#[derive(Default)]
struct Pending {
    snapshot: Option<Vec<u8>>,
    /// Records after the snapshot (or after what is already written), whole lines.
    records: Vec<u8>,
    /// The number of the last record or snapshot handed over.
    last: u64,
    closing: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.records.is_empty()
    }
}

/// How far the journal is on disk: records up to `durable` are; those up to `failed` that are
/// not were in a write that failed with `error`.
#[derive(Debug, Clone, Default)]
struct Progress {
    durable: u64,
    failed: u64,
    error: Option<Arc<str>>,
}

impl Writer {
    /// Starts the thread on files whose content is durable up to record `durable`.
    pub fn start(files: Files, durable: u64, name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            broken: AtomicBool::new(false),
        });
        let (progress_tx, progress) = watch::channel(Progress {
            durable,
            ..Progress::default()
        });
        let thread = std::thread::Builder::new()
            .name(format!("sim-journal-{name}"))
            .spawn({
                let shared = shared.clone();
                move || run(&shared, files, &progress_tx)
            })?;
        Ok(Self {
            shared,
            progress,
            thread: Some(thread),
        })
    }

    /// Whether the next handover must be a snapshot (a write failed since the last one).
    pub fn needs_snapshot(&self) -> bool {
        self.shared.broken.load(Ordering::Acquire)
    }

    /// Hands over record `seq` (one journal line). Call under the state lock.
    pub fn record(&self, seq: u64, line: &[u8]) {
        let mut pending = self.shared.lock();
        pending.records.extend_from_slice(line);
        pending.last = seq;
        self.shared.wake.notify_one();
    }

    /// Hands over a snapshot including every record up to `seq`. Call under the state lock.
    pub fn snapshot(&self, seq: u64, bytes: Vec<u8>) {
        let mut pending = self.shared.lock();
        pending.snapshot = Some(bytes);
        // Included in the snapshot: writing them would only be undone by the compaction.
        pending.records.clear();
        pending.last = seq;
        self.shared.wake.notify_one();
    }

    /// Waits until record (or snapshot) `seq` is on disk.
    ///
    /// # Errors
    /// The write that held it failed (the message), or the thread is gone.
    pub async fn durable(&self, seq: u64) -> Result<(), Arc<str>> {
        let mut progress = self.progress.clone();
        let reached = progress
            .wait_for(|p| p.durable >= seq || p.failed >= seq)
            .await
            .map(|p| {
                if p.durable >= seq {
                    Ok(())
                } else {
                    Err(p.error.clone().unwrap_or_else(|| "write failed".into()))
                }
            });
        reached.unwrap_or_else(|_| Err("the journal writer stopped".into()))
    }
}

impl Drop for Writer {
    /// Lets the thread write what is pending, then waits for it to end.
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn run(shared: &Shared, mut files: Files, progress: &watch::Sender<Progress>) {
    loop {
        let batch = {
            let mut pending = shared.lock();
            while pending.is_empty() && !pending.closing {
                pending = shared
                    .wake
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if pending.is_empty() {
                return;
            }
            Pending {
                snapshot: pending.snapshot.take(),
                records: std::mem::take(&mut pending.records),
                last: pending.last,
                closing: false,
            }
        };
        let written = write(&mut files, shared, &batch);
        progress.send_modify(|p| match written {
            Ok(()) => p.durable = batch.last,
            Err(e) => {
                p.failed = batch.last;
                p.error = Some(e);
            }
        });
    }
}

fn write(files: &mut Files, shared: &Shared, batch: &Pending) -> Result<(), Arc<str>> {
    let failed = |e: crate::SimError| -> Arc<str> {
        shared.broken.store(true, Ordering::Release);
        tracing::error!(error = %e, "simulator state not saved");
        e.to_string().into()
    };
    if let Some(snapshot) = &batch.snapshot {
        files.compact(snapshot).map_err(failed)?;
        shared.broken.store(false, Ordering::Release);
    } else if shared.broken.load(Ordering::Acquire) {
        // Appending after a failed write could leave its half batch in the middle of the journal.
        return Err(
            "an earlier write failed; the state is saved again with the next update".into(),
        );
    }
    if !batch.records.is_empty() {
        files.append(&batch.records).map_err(failed)?;
    }
    Ok(())
}
