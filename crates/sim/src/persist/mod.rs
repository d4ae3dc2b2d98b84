//! State that survives a restart: a snapshot per store plus a journal of the changes made since.
//!
//! A [`Store`] keeps its state in memory. With a state dir, each update also appends one record to
//! the journal `<name>.log`: the entries the update changed, not the whole state (the state says
//! what changed: [`Journaled`], built from [`TrackedMap`] and [`TrackedValue`]). The record is on
//! disk before [`Store::update`] returns, so a simulator answer (or a callback) never reports
//! something that a crash or a power loss would forget. Concurrent updates share their flushes
//! (group commit, `writer.rs`); the state lock is held for the change and its encoding only.
//!
//! The snapshot `<name>` holds the state as of some record; opening reads it, replays the journal
//! after it, and writes a fresh snapshot (emptying the journal); so does an update once the
//! journal has grown past both the snapshot's size and 1 MiB, which keeps the files and the time
//! to open proportional to the state while costing each update O(its change) on average. The
//! formats, and what a crash can leave, are in `files.rs`. A state dir written before there was a
//! journal (a snapshot alone) loads as is.
//!
//! Debug builds also replay each update's record onto a copy of the state and compare the two
//! after every update, which costs O(state) per update there (release builds do not).
//!
//! The state holds the sandbox accounts' private keys: its files are readable by their owner only
//! (0600, in a 0700 dir), from the first byte written.
//!
//! Reads see every change made so far, including one whose update is still waiting for its
//! record to reach the disk; only the updater answers for it, once it is there.
//!
//! ```ignore
//! let store: Store<MyState> = Store::open(ctx.state_dir(), "alipay.json")?;
//! store.update(|s| s.trades.insert(no, trade)).await?;
//! let n = store.read(|s| s.trades.len());
//! ```

mod files;
pub mod tracked;
mod writer;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) use tracked::journaled;
pub use tracked::{Journaled, Tracked, TrackedMap, TrackedValue};

use crate::SimError;
use files::{Files, Paths};
use writer::Writer;

/// The journal is compacted into a new snapshot once it is larger than the snapshot and this.
const MIN_COMPACTION_BYTES: u64 = 1 << 20;

/// A value of `T` kept in memory and, when a directory is given, in `<dir>/<name>` and its
/// journal.
pub struct Store<T> {
    live: Mutex<Live<T>>,
    /// `None`: memory only.
    writer: Option<Writer>,
    paths: Option<Paths>,
}

/// What the state lock guards.
struct Live<T> {
    state: T,
    /// The number of the last record (or snapshot) made.
    seq: u64,
    /// Bytes of records handed to the writer since the last snapshot, and that snapshot's size.
    journal_bytes: u64,
    snapshot_bytes: u64,
    compact_after: u64,
    /// A change is in memory but in no record yet (it could not be encoded, or its snapshot could
    /// not be made): the next update hands over a snapshot.
    unsaved: bool,
    /// Scratch space for a record's changes.
    changes: Vec<u8>,
    /// Debug builds replay every record onto a second copy of the state and compare: a change the
    /// state did not report would show as a difference at once, not as a loss after a restart.
    #[cfg(debug_assertions)]
    replayed: T,
}

impl<T: Journaled> Store<T> {
    /// Loads `<dir>/<name>` and its journal if they exist, else starts from `T::default()`. No
    /// dir: memory only.
    ///
    /// # Errors
    /// A file exists but cannot be read or parsed, or the new snapshot cannot be written
    /// (refusing is better than silently starting empty and forgetting orders).
    pub fn open(dir: Option<&Path>, name: &str) -> Result<Self, SimError> {
        Self::open_with(dir, name, |_| Ok(()))
    }

    /// [`Store::open`], then `init` on the state before anything is written: what `init` sets is
    /// in the first snapshot, so it is on disk before the store is used.
    ///
    /// # Errors
    /// As [`Store::open`], or `init` fails.
    pub fn open_with(
        dir: Option<&Path>,
        name: &str,
        init: impl FnOnce(&mut T) -> Result<(), SimError>,
    ) -> Result<Self, SimError> {
        let paths = dir.map(|d| Paths::new(d, name));
        let loaded = match &paths {
            Some(paths) => {
                // Written by an older simulator, or copied in by hand: owner-only from now on
                // (the journal is, when opened for appending below).
                if paths.snapshot.exists() {
                    owner_only(&paths.snapshot).map_err(files::io_error(&paths.snapshot))?;
                }
                files::load(paths)?
            }
            None => None,
        };
        let (mut state, seq) = loaded.map_or_else(|| (T::default(), 0), |l| (l.state, l.seq));
        init(&mut state)?;
        // `init`'s changes are in the snapshot below: nothing to journal.
        let mut changes = Vec::new();
        state
            .write_changes(&mut changes)
            .map_err(|source| state_error(paths.as_ref(), name, source))?;
        let snapshot = if paths.is_some() || cfg!(debug_assertions) {
            files::snapshot(&state, seq)
                .map_err(|source| state_error(paths.as_ref(), name, source))?
        } else {
            Vec::new()
        };
        let writer = match &paths {
            Some(paths) => {
                let mut files = Files::open(paths.clone())?;
                files.compact(&snapshot)?;
                let writer =
                    Writer::start(files, seq, name).map_err(files::io_error(&paths.journal))?;
                Some(writer)
            }
            None => None,
        };
        #[cfg(debug_assertions)]
        let replayed = serde_json::from_slice(&snapshot)
            .map_err(|source| state_error(paths.as_ref(), name, source))?;
        Ok(Self {
            live: Mutex::new(Live {
                state,
                seq,
                journal_bytes: 0,
                snapshot_bytes: snapshot.len() as u64,
                compact_after: MIN_COMPACTION_BYTES,
                unsaved: false,
                changes,
                #[cfg(debug_assertions)]
                replayed,
            }),
            writer,
            paths,
        })
    }

    /// Reads the state under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock().state)
    }

    /// Changes the state under the lock, now, and resolves once the change is on disk.
    ///
    /// The change is made (and visible to reads) when `update` is called, not when the future is
    /// first polled; the future only waits for the disk. An update that changes nothing writes
    /// nothing, but still waits for the changes it may have seen.
    ///
    /// # Errors
    /// The change could not be written. It stays in memory (the caller may report the error), and
    /// the next update writes it (in a new snapshot).
    pub fn update<'a, R: 'a>(
        &'a self,
        f: impl FnOnce(&mut T) -> R,
    ) -> impl Future<Output = Result<R, SimError>> + 'a {
        let changed = self.change(f);
        async move {
            let (out, seq) = changed?;
            if let Some(writer) = &self.writer {
                writer.durable(seq).await.map_err(|e| self.io_error(&e))?;
            }
            Ok(out)
        }
    }

    /// Runs `f` and hands its record to the writer: the result, and the record to wait for.
    fn change<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<(R, u64), SimError> {
        let mut live = self.lock();
        let live = &mut *live;
        let out = f(&mut live.state);
        let saved = self.save(live);
        #[cfg(debug_assertions)]
        check_replay(live);
        Ok((out, saved?))
    }

    /// Turns what the last change did into a record for the writer (or a snapshot, when the
    /// journal is due for compaction or something is not saved yet); the number to wait for.
    fn save(&self, live: &mut Live<T>) -> Result<u64, SimError> {
        live.changes.clear();
        let line = match live.state.write_changes(&mut live.changes) {
            Ok(true) => Some(files::record_line(live.seq + 1, &live.changes)),
            Ok(false) => None,
            Err(source) => {
                // The change is in memory but in no record: only a snapshot can save it now.
                live.unsaved = true;
                return Err(self.state_error(source));
            }
        };
        if let Some(line) = &line {
            live.seq += 1;
            live.journal_bytes += line.len() as u64;
            #[cfg(debug_assertions)]
            replay(live, line);
        }
        let Some(writer) = &self.writer else {
            return Ok(live.seq);
        };
        let compact_at = live.snapshot_bytes.max(live.compact_after);
        if live.unsaved || writer.needs_snapshot() || live.journal_bytes > compact_at {
            self.snapshot_now(live, writer)?;
        } else if let Some(line) = &line {
            writer.record(live.seq, line);
        }
        // Without a change, this waits for the changes the update may have seen.
        Ok(live.seq)
    }

    /// Hands the writer a snapshot of the whole state, numbered as the next record.
    fn snapshot_now(&self, live: &mut Live<T>, writer: &Writer) -> Result<(), SimError> {
        let seq = live.seq + 1;
        let bytes = files::snapshot(&live.state, seq).map_err(|source| {
            live.unsaved = true;
            self.state_error(source)
        })?;
        live.seq = seq;
        live.unsaved = false;
        live.snapshot_bytes = bytes.len() as u64;
        live.journal_bytes = 0;
        writer.snapshot(seq, bytes);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Live<T>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_error(&self, source: serde_json::Error) -> SimError {
        state_error(self.paths.as_ref(), "memory", source)
    }

    fn io_error(&self, message: &str) -> SimError {
        SimError::Io {
            path: self
                .paths
                .as_ref()
                .map(|p| p.journal.display().to_string())
                .unwrap_or_default(),
            source: std::io::Error::other(message.to_owned()),
        }
    }
}

/// The state in `<dir>/<name>` and its journal, read without opening a store (nothing is written,
/// nothing is locked): for tests and tools that look at a running simulator's state. `None` when
/// there are no files yet.
///
/// # Errors
/// A file cannot be read or parsed.
pub fn load<T: Journaled>(dir: &Path, name: &str) -> Result<Option<T>, SimError> {
    Ok(files::load(&Paths::new(dir, name))?.map(|l| l.state))
}

fn state_error(paths: Option<&Paths>, name: &str, source: serde_json::Error) -> SimError {
    SimError::State {
        path: paths.map_or_else(|| name.to_owned(), |p| p.snapshot.display().to_string()),
        source,
    }
}

/// Applies record `line` to the replayed copy of the state.
#[cfg(debug_assertions)]
fn replay<T: Journaled>(live: &mut Live<T>, line: &[u8]) {
    let applied = files::records(line)
        .next()
        .and_then(|(_, r)| r.ok())
        .map(|r| live.replayed.apply_changes(r.changes));
    assert!(
        matches!(applied, Some(Ok(()))),
        "a journal record does not replay: {}",
        String::from_utf8_lossy(line)
    );
}

/// Compares the state with its replayed copy (after every update, with or without a record).
#[cfg(debug_assertions)]
fn check_replay<T: Journaled>(live: &Live<T>) {
    let state = serde_json::to_vec(&live.state).ok();
    let replayed = serde_json::to_vec(&live.replayed).ok();
    assert!(
        state == replayed,
        "the journal missed a change: replaying it does not give the state (was a tracked field \
         replaced whole?)"
    );
}

/// Creates `dir` (and its parents) for state files: 0700 when created, and tightened to 0700 when
/// it exists with group or other access.
///
/// # Errors
/// The dir cannot be created or its mode changed.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    owner_only(dir)
}

/// Takes group and other access away from `path`.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
