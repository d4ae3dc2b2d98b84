//! How a channel adapter hands a bill to a run: lines in chunks over a small bounded channel (so
//! a bill of a million rows is never in memory at once, and a reader waits while the run looks
//! lines up), then the totals once the whole file was read and checked.

use std::path::Path;

use tokio::sync::mpsc;

use super::run::{BillChunk, BillError, BillLine};
use crate::domain::BillTotals;

/// Lines per chunk.
const CHUNK: usize = 1000;

/// The sending end, for a reader on a blocking thread.
pub(super) struct LineSender {
    tx: mpsc::Sender<Result<BillChunk, BillError>>,
    chunk: Vec<BillLine>,
    counted: BillTotals,
}

/// The run no longer listens: the reader stops.
pub(super) struct Stopped;

impl LineSender {
    /// A sender and the receiver a run reads.
    pub(super) fn new() -> (Self, mpsc::Receiver<Result<BillChunk, BillError>>) {
        let (tx, rx) = mpsc::channel(2);
        (
            Self {
                tx,
                chunk: Vec::with_capacity(CHUNK),
                counted: BillTotals::default(),
            },
            rx,
        )
    }

    /// What the lines sent so far add up to.
    pub(super) fn counted(&self) -> &BillTotals {
        &self.counted
    }

    /// Says how many lines the bill holds, before sending them.
    pub(super) fn announce(&mut self, lines: i64) -> Result<(), Stopped> {
        self.tx
            .blocking_send(Ok(BillChunk::Total(lines)))
            .map_err(|_| Stopped)
    }

    pub(super) fn push(&mut self, line: BillLine) -> Result<(), Stopped> {
        line.add_to(&mut self.counted);
        self.chunk.push(line);
        if self.chunk.len() == CHUNK {
            let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            self.tx
                .blocking_send(Ok(BillChunk::Lines(full)))
                .map_err(|_| Stopped)?;
        }
        Ok(())
    }

    /// The last lines, then the totals: the bill was read whole.
    pub(super) fn finish(mut self) {
        let chunk = std::mem::take(&mut self.chunk);
        if !chunk.is_empty() && self.tx.blocking_send(Ok(BillChunk::Lines(chunk))).is_err() {
            return;
        }
        let _ = self.tx.blocking_send(Ok(BillChunk::Summary(self.counted)));
    }

    /// The bill could not be read whole.
    pub(super) fn fail(self, e: BillError) {
        let _ = self.tx.blocking_send(Err(e));
    }
}

/// A bill downloaded to disk: the temporary file (removed when dropped) and where to write it.
pub(super) struct BillFile {
    file: tempfile::NamedTempFile,
    pub(super) out: tokio::fs::File,
}

impl BillFile {
    pub(super) fn new() -> Result<Self, BillError> {
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| BillError::Unusable(format!("no temporary file for the bill: {e}")))?;
        let out = file
            .reopen()
            .map_err(|e| BillError::Unusable(format!("the bill's temporary file: {e}")))?;
        Ok(Self {
            file,
            out: tokio::fs::File::from_std(out),
        })
    }

    /// Reads the downloaded file with `read` on a blocking thread (the readers are plain file
    /// I/O); the run reads the lines it sends. The file is removed once `read` is done.
    pub(super) fn read_with(
        self,
        read: fn(&Path, LineSender),
    ) -> mpsc::Receiver<Result<BillChunk, BillError>> {
        let Self { file, out } = self;
        drop(out);
        let (lines, rx) = LineSender::new();
        tokio::task::spawn_blocking(move || read(file.path(), lines));
        rx
    }
}
