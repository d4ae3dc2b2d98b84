//! How a channel adapter hands a bill to a run: lines in chunks over a small bounded channel (so
//! a bill of a million rows is never in memory at once, and a reader waits while the run looks
//! lines up), then the totals once the whole file was read and checked. The same for both bills:
//! the trade bill's lines and the account bill's movements.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::funds::{FundsChunk, FundsMovement, MovementTotals};
use super::run::{BillChunk, BillError, BillLine};
use crate::domain::BillTotals;

/// Lines per chunk.
const CHUNK: usize = 1000;

/// A line of a bill, and how a stream of them is sent.
pub(super) trait Line: Sized + Send + 'static {
    type Totals: Default + Copy + Send + 'static;
    type Chunk: Send + 'static;
    fn add_to(&self, totals: &mut Self::Totals);
    fn lines(lines: Vec<Self>) -> Self::Chunk;
    fn summary(totals: Self::Totals) -> Self::Chunk;
}

impl Line for BillLine {
    type Totals = BillTotals;
    type Chunk = BillChunk;
    fn add_to(&self, totals: &mut BillTotals) {
        Self::add_to(self, totals);
    }
    fn lines(lines: Vec<Self>) -> BillChunk {
        BillChunk::Lines(lines)
    }
    fn summary(totals: BillTotals) -> BillChunk {
        BillChunk::Summary(totals)
    }
}

impl Line for FundsMovement {
    type Totals = MovementTotals;
    type Chunk = FundsChunk;
    fn add_to(&self, totals: &mut MovementTotals) {
        Self::add_to(self, totals);
    }
    fn lines(lines: Vec<Self>) -> FundsChunk {
        FundsChunk::Movements(lines)
    }
    fn summary(totals: MovementTotals) -> FundsChunk {
        FundsChunk::Summary(totals)
    }
}

/// The sending end, for a reader on a blocking thread.
pub(super) struct LineSender<L: Line = BillLine> {
    tx: mpsc::Sender<Result<L::Chunk, BillError>>,
    chunk: Vec<L>,
    counted: L::Totals,
}

/// The run no longer listens: the reader stops.
pub(super) struct Stopped;

impl LineSender<BillLine> {
    /// Says how many lines the bill holds, before sending them.
    pub(super) fn announce(&mut self, lines: i64) -> Result<(), Stopped> {
        self.tx
            .blocking_send(Ok(BillChunk::Total(lines)))
            .map_err(|_| Stopped)
    }
}

impl<L: Line> LineSender<L> {
    /// A sender and the receiver a run reads.
    pub(super) fn new() -> (Self, mpsc::Receiver<Result<L::Chunk, BillError>>) {
        let (tx, rx) = mpsc::channel(2);
        (
            Self {
                tx,
                chunk: Vec::with_capacity(CHUNK),
                counted: L::Totals::default(),
            },
            rx,
        )
    }

    /// What the lines sent so far add up to.
    pub(super) fn counted(&self) -> &L::Totals {
        &self.counted
    }

    pub(super) fn push(&mut self, line: L) -> Result<(), Stopped> {
        line.add_to(&mut self.counted);
        self.chunk.push(line);
        if self.chunk.len() == CHUNK {
            let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            self.tx
                .blocking_send(Ok(L::lines(full)))
                .map_err(|_| Stopped)?;
        }
        Ok(())
    }

    /// The last lines, then the totals: the bill was read whole.
    pub(super) fn finish(mut self) {
        let chunk = std::mem::take(&mut self.chunk);
        if !chunk.is_empty() && self.tx.blocking_send(Ok(L::lines(chunk))).is_err() {
            return;
        }
        let _ = self.tx.blocking_send(Ok(L::summary(self.counted)));
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
    pub(super) fn read_with<L: Line>(
        self,
        read: fn(&Path, LineSender<L>),
    ) -> mpsc::Receiver<Result<L::Chunk, BillError>> {
        let Self { file, out } = self;
        drop(out);
        let (lines, rx) = LineSender::new();
        tokio::task::spawn_blocking(move || read(file.path(), lines));
        rx
    }
}

/// Reads the bill file at `path` with `read` on a blocking thread, as [`BillFile::read_with`]
/// does once a download is done.
pub(super) fn read_path<L: Line>(
    path: PathBuf,
    read: fn(&Path, LineSender<L>),
) -> mpsc::Receiver<Result<L::Chunk, BillError>> {
    let (lines, rx) = LineSender::new();
    tokio::task::spawn_blocking(move || read(&path, lines));
    rx
}
