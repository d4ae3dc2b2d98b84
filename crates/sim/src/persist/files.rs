//! A store's two files and their formats: the snapshot `<name>` and the journal beside it.
//!
//! The snapshot is the state's JSON plus `journal_seq`, the number of the last journal record it
//! includes (absent, so 0, in a snapshot written before there was a journal). It is replaced
//! whole: written to `<name>.tmp`, flushed, renamed over the old one, and the dir flushed.
//!
//! The journal holds one record per line, appended after the snapshot was written:
//! `CRC32 JSON\n`, the CRC (8 hex digits) of the JSON text `{"seq":N,"changes":{…}}`, where `N`
//! counts on from the snapshot's `journal_seq` and `changes` is [`Journaled::write_changes`]'s
//! object. Reading it back:
//! - the last line may be incomplete (no newline) or fail its CRC: a crash cut its append short,
//!   before any update waiting for it returned. It is ignored.
//! - any other line that does not read is corruption, and so is a gap in the numbers: the store
//!   refuses to open rather than start without what came after.
//! - records the snapshot already includes (`seq <= journal_seq`: a crash came between writing a
//!   new snapshot and emptying the journal) are skipped, so nothing is applied twice.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Journaled;
use crate::SimError;

/// The paths of one store's files.
#[derive(Debug, Clone)]
pub(super) struct Paths {
    pub dir: PathBuf,
    pub snapshot: PathBuf,
    pub journal: PathBuf,
}

impl Paths {
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            dir: dir.to_owned(),
            snapshot: dir.join(name),
            journal: dir.join(format!("{name}.log")),
        }
    }
}

/// Maps an i/o error on `path` to the simulator's error.
pub(super) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> SimError + use<> {
    let path = path.display().to_string();
    move |source| SimError::Io {
        path: path.clone(),
        source,
    }
}

/// A state as its files hold it: the state and the number of its last record.
pub(super) struct Loaded<T> {
    pub state: T,
    pub seq: u64,
}

/// Reads the snapshot and replays the journal after it; `None` when neither file exists.
///
/// The journal is read before the snapshot, so a reader beside a running store sees a consistent
/// state: a snapshot written in between includes every record the journal held before it was
/// emptied (those records are then skipped).
pub(super) fn load<T: Journaled>(paths: &Paths) -> Result<Option<Loaded<T>>, SimError> {
    let journal = read_if_exists(&paths.journal).map_err(io_error(&paths.journal))?;
    let snapshot = read_if_exists(&paths.snapshot).map_err(io_error(&paths.snapshot))?;
    if journal.is_none() && snapshot.is_none() {
        return Ok(None);
    }
    let bad_state = |source| SimError::State {
        path: paths.snapshot.display().to_string(),
        source,
    };
    let (mut state, mut seq) = match snapshot {
        Some(bytes) => {
            let meta: SnapshotMeta = serde_json::from_slice(&bytes).map_err(bad_state)?;
            let state: T = serde_json::from_slice(&bytes).map_err(bad_state)?;
            (state, meta.journal_seq)
        }
        None => (T::default(), 0),
    };
    let bad_journal = |line: usize, why: String| SimError::State {
        path: paths.journal.display().to_string(),
        source: <serde_json::Error as serde::de::Error>::custom(format!("line {line}: {why}")),
    };
    for (line, record) in records(journal.as_deref().unwrap_or_default()) {
        let record = record.map_err(|why| bad_journal(line, why.to_owned()))?;
        if record.seq <= seq {
            continue;
        }
        if record.seq != seq + 1 {
            return Err(bad_journal(
                line,
                format!("record {} follows record {seq}", record.seq),
            ));
        }
        state
            .apply_changes(record.changes)
            .map_err(|e| bad_journal(line, e.to_string()))?;
        seq = record.seq;
    }
    Ok(Some(Loaded { state, seq }))
}

fn read_if_exists(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct SnapshotMeta {
    #[serde(default)]
    journal_seq: u64,
}

#[derive(Serialize)]
struct SnapshotOut<'a, T> {
    journal_seq: u64,
    #[serde(flatten)]
    state: &'a T,
}

/// The snapshot of `state` including the records up to `seq`.
pub(super) fn snapshot<T: Serialize>(state: &T, seq: u64) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec_pretty(&SnapshotOut {
        journal_seq: seq,
        state,
    })
}

/// A journal record as read back.
#[derive(Deserialize)]
pub(super) struct Record {
    pub seq: u64,
    pub changes: serde_json::Map<String, serde_json::Value>,
}

/// The journal line for record `seq` with `changes` (a [`Journaled::write_changes`] object).
pub(super) fn record_line(seq: u64, changes: &[u8]) -> Vec<u8> {
    let mut json = Vec::with_capacity(changes.len() + 40);
    json.extend_from_slice(format!("{{\"seq\":{seq},\"changes\":").as_bytes());
    json.extend_from_slice(changes);
    json.push(b'}');
    let mut line = Vec::with_capacity(json.len() + 10);
    line.extend_from_slice(format!("{:08x} ", crc32fast::hash(&json)).as_bytes());
    line.extend_from_slice(&json);
    line.push(b'\n');
    line
}

/// The records of a journal with their line numbers (from 1), in order, without a torn last line.
pub(super) fn records(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<Record, &'static str>)> {
    // Only whole lines: bytes after the last newline are an append cut short.
    let whole = &bytes[..bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |end| end + 1)];
    let count = whole.iter().filter(|&&b| b == b'\n').count();
    whole
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .filter_map(
            move |(i, line)| match parse_line(line.strip_suffix(b"\n")?) {
                Some(record) => Some((i + 1, Ok(record))),
                // The last line, whole but unreadable: also an append cut short (its bytes reached
                // the disk in another order than they were written).
                None if i + 1 == count => None,
                None => Some((i + 1, Err("unreadable record"))),
            },
        )
}

fn parse_line(line: &[u8]) -> Option<Record> {
    let crc = line.get(..8)?;
    let json = line.get(9..)?;
    if line.get(8) != Some(&b' ') {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// The open files of a store with a state dir, written by one thread at a time.
pub(super) struct Files {
    paths: Paths,
    journal: File,
}

impl Files {
    /// Opens (creating it, owner-only) the journal for appending.
    pub fn open(paths: Paths) -> Result<Self, SimError> {
        let io = io_error(&paths.journal);
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let journal = options.open(&paths.journal).map_err(&io)?;
        // Written by hand or by a process with another umask: owner-only from now on.
        super::owner_only(&paths.journal).map_err(&io)?;
        Ok(Self { paths, journal })
    }

    /// Replaces the snapshot with `bytes` and empties the journal (whose records `bytes` then
    /// includes). A crash between the two leaves a journal of records the snapshot includes,
    /// which loading skips.
    pub fn compact(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        self.write_snapshot(bytes)?;
        let io = io_error(&self.paths.journal);
        self.journal.set_len(0).map_err(&io)?;
        self.journal.sync_all().map_err(&io)
    }

    fn write_snapshot(&self, bytes: &[u8]) -> Result<(), SimError> {
        let path = &self.paths.snapshot;
        let tmp = path.with_file_name(format!(
            "{}.tmp",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let io = io_error(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(&io)?;
        // The mode above applies to a new file only; a stale temporary file keeps its own.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(&io)?;
        }
        file.write_all(bytes).map_err(&io)?;
        file.sync_all().map_err(&io)?;
        std::fs::rename(&tmp, path).map_err(io_error(path))?;
        // The rename (and the journal's creation) last only once the dir is on disk.
        sync_dir(&self.paths.dir).map_err(io_error(&self.paths.dir))
    }

    /// Appends records and waits until they are on disk.
    pub fn append(&mut self, records: &[u8]) -> Result<(), SimError> {
        let io = io_error(&self.paths.journal);
        self.journal.write_all(records).map_err(&io)?;
        self.journal.sync_data().map_err(&io)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
