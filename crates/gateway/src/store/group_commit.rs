//! Group commit for SQLite: one `fdatasync` makes every commit made before it durable.
//!
//! SQLite runs with `synchronous=NORMAL` in WAL mode: a commit writes its frames to the WAL file
//! but does not sync it (with `FULL` it syncs the WAL after every commit, one at a time, while
//! the next writer waits). Durability is kept here instead: a writer that has committed waits in
//! [`GroupCommit::durable`] until the WAL has been synced after its commit, and only then is
//! anyone told (the site answered, a callback acknowledged). While one sync runs, the writers that
//! commit meanwhile queue behind it, and the next sync covers all of them: the write gate is free
//! again as soon as a writer has committed, not once its fsync is done.
//!
//! The WAL is what a commit wrote, and `fdatasync` of it is the sync `FULL` would have made. If
//! there is no WAL (no connection has one open), the database file is synced instead; a database
//! with no file at all (in memory) has nothing to sync.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// Commits waiting to be synced, for one database file. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    database: PathBuf,
    wal: PathBuf,
    state: Mutex<State>,
    /// What the syncs so far have covered.
    progress: watch::Sender<Progress>,
    /// The file synced last and its inode: reopened when SQLite has made a new one.
    open: Mutex<Option<(File, u64)>>,
}

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out: one per writer that asked, after its commit.
    issued: u64,
    /// A sync is running (it publishes its outcome, then the next may start).
    syncing: bool,
}

#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every commit up to this ticket is on disk.
    synced: u64,
    /// A sync that failed, the last ticket it was to cover, and why: those commits may not be on
    /// disk, and no later sync says otherwise (a failed sync may have dropped their pages).
    failed: Option<(u64, String)>,
}

impl GroupCommit {
    /// For the database file `database` (its WAL beside it, `<file>-wal`).
    pub(crate) fn for_file(database: &Path) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self(Arc::new(Inner {
            database: database.to_owned(),
            wal: PathBuf::from(wal),
            state: Mutex::new(State::default()),
            progress: watch::Sender::new(Progress::default()),
            open: Mutex::new(None),
        }))
    }

    /// Returns once everything committed before this call is on disk. The first writer to find
    /// no sync running starts one for everyone who asked before it; the others wait for it, or
    /// for the one after it. A sync runs in a task of its own, so a writer whose future is
    /// dropped (its client went away) never leaves the others waiting for a sync nobody runs.
    ///
    /// # Errors
    /// The error of the sync that was to cover this commit: whether it is on disk is unknown.
    pub(crate) async fn durable(&self) -> io::Result<()> {
        let inner = &self.0;
        let ticket = {
            let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.issued += 1;
            state.issued
        };
        let mut progress = inner.progress.subscribe();
        loop {
            {
                let now = progress.borrow_and_update();
                if let Some((through, why)) = &now.failed
                    && ticket <= *through
                {
                    return Err(io::Error::other(why.clone()));
                }
                if now.synced >= ticket {
                    return Ok(());
                }
            }
            self.start_sync();
            // A sync is running; it, or the one after it, covers this ticket. A publish made
            // after the look above wakes this at once.
            if progress.changed().await.is_err() {
                return Err(io::Error::other("the group commit was dropped"));
            }
        }
    }

    /// Starts a sync of every ticket issued so far, unless one is running.
    fn start_sync(&self) {
        let covered = {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.syncing {
                return;
            }
            state.syncing = true;
            state.issued
        };
        let inner = Arc::clone(&self.0);
        tokio::spawn(async move {
            let sync = Arc::clone(&inner);
            let result = tokio::task::spawn_blocking(move || sync.sync())
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)));
            inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .syncing = false;
            inner.progress.send_modify(|p| match result {
                Ok(()) => p.synced = p.synced.max(covered),
                Err(e) => p.failed = Some((covered, e.to_string())),
            });
        });
    }
}

#[cfg(test)]
impl GroupCommit {
    /// Tickets issued, and the ticket up to which every commit is on disk.
    pub(crate) fn tickets(&self) -> (u64, u64) {
        let issued = self.0.state.lock().unwrap().issued;
        (issued, self.0.progress.borrow().synced)
    }
}

impl Inner {
    fn sync(&self) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (path, meta) = match std::fs::metadata(&self.wal) {
            Ok(meta) => (&self.wal, meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match std::fs::metadata(&self.database) {
                    Ok(meta) => (&self.database, meta),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if open.as_ref().is_none_or(|(_, ino)| *ino != meta.ino()) {
            *open = Some((File::open(path)?, meta.ino()));
        }
        match open.as_ref() {
            Some((file, _)) => file.sync_data(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_all_return_once_a_sync_has_covered_them() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("paygate.db");
        let mut wal = File::create(dir.path().join("paygate.db-wal")).unwrap();
        wal.write_all(b"frames").unwrap();
        let group = GroupCommit::for_file(&database);
        let done = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..64)
            .map(|_| {
                let (group, done) = (group.clone(), Arc::clone(&done));
                tokio::spawn(async move {
                    group.durable().await.unwrap();
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 64);
        assert_eq!(group.tickets(), (64, 64), "every ticket is covered");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_dropped_while_its_sync_runs_leaves_no_one_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("paygate.db");
        File::create(dir.path().join("paygate.db-wal")).unwrap();
        let group = GroupCommit::for_file(&database);
        // Polled once (it starts the sync), then dropped, as a request whose client went away.
        assert!(group.durable().now_or_never().is_none());
        tokio::time::timeout(Duration::from_secs(10), group.durable())
            .await
            .expect("a later writer is not left waiting")
            .unwrap();
    }

    #[tokio::test]
    async fn without_a_wal_the_database_file_is_synced_and_without_either_nothing_is() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("paygate.db");
        let group = GroupCommit::for_file(&database);
        group.durable().await.unwrap();
        File::create(&database).unwrap();
        group.durable().await.unwrap();
        let opened = group.0.open.lock().unwrap().as_ref().map(|(_, ino)| *ino);
        assert_eq!(opened, Some(std::fs::metadata(&database).unwrap().ino()));
        // SQLite made a new WAL: the new file is the one synced.
        File::create(dir.path().join("paygate.db-wal")).unwrap();
        group.durable().await.unwrap();
        let wal = std::fs::metadata(dir.path().join("paygate.db-wal")).unwrap();
        let opened = group.0.open.lock().unwrap().as_ref().map(|(_, ino)| *ino);
        assert_eq!(opened, Some(wal.ino()));
    }
}
