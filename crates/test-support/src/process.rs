//! A child process whose output is kept for failure messages: stdout and stderr are read line by
//! line into a [`Log`] (shared, so several generations of a restarted process can write to one),
//! and the first stdout line is handed over on its own (paygate's and the simulator's banners are
//! their first stdout line). Killed when dropped, also when the test panics.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long an exited process's last lines may take to reach the log.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Lines printed by one or more processes, in the order they were read.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<LogInner>);

#[derive(Debug, Default)]
struct LogInner {
    lines: Mutex<Lines>,
    grew: Condvar,
}

#[derive(Debug, Default)]
struct Lines {
    text: VecDeque<String>,
    /// Only the last this many lines are kept (`None`: all).
    keep: Option<usize>,
}

impl Log {
    /// A log keeping every line.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A log keeping only the last `lines` lines (for long runs with many restarts).
    #[must_use]
    pub fn keeping(lines: usize) -> Self {
        let log = Self::default();
        log.lines().keep = Some(lines);
        log
    }

    fn lines(&self) -> MutexGuard<'_, Lines> {
        // A panicking reader leaves whole lines behind: still worth showing.
        self.0.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, line: String) {
        let mut lines = self.lines();
        if lines.keep.is_some_and(|keep| lines.text.len() >= keep) {
            lines.text.pop_front();
        }
        lines.text.push_back(line);
        drop(lines);
        self.0.grew.notify_all();
    }

    /// Everything kept, one line each.
    #[must_use]
    pub fn text(&self) -> String {
        let lines = self.lines();
        let mut out = String::new();
        for line in &lines.text {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    #[must_use]
    pub fn contains(&self, needle: &str) -> bool {
        self.lines().text.iter().any(|l| l.contains(needle))
    }

    /// Waits (blocking) until a line contains `needle`; returns that line.
    ///
    /// # Errors
    /// Not within `within`; the error holds the log.
    pub fn wait_for_line(&self, needle: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        let mut lines = self.lines();
        loop {
            if let Some(line) = lines.text.iter().find(|l| l.contains(needle)) {
                return Ok(line.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(lines);
                return Err(format!(
                    "{needle:?} not printed within {within:?}:\n{}",
                    self.text()
                ));
            }
            lines = self
                .0
                .grew
                .wait_timeout(lines, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// What a process's lines are prefixed with in the log.
#[derive(Debug, Clone, Default)]
pub struct Prefixes {
    pub stdout: String,
    pub stderr: String,
}

impl Prefixes {
    /// The same prefix on both streams.
    #[must_use]
    pub fn both(prefix: &str) -> Self {
        Self {
            stdout: prefix.to_owned(),
            stderr: prefix.to_owned(),
        }
    }
}

/// A running child process, killed when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    log: Log,
    first_line: Option<mpsc::Receiver<String>>,
    /// One message per output stream when it reaches its end.
    drained: mpsc::Receiver<()>,
}

impl Process {
    /// Spawns `cmd` with stdin closed and its output read into `log`.
    ///
    /// # Errors
    /// The program cannot be started.
    pub fn spawn(mut cmd: Command, log: &Log, prefixes: &Prefixes) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let (first_tx, first_rx) = mpsc::channel();
        let (drained_tx, drained) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            read_lines(
                stdout,
                log.clone(),
                prefixes.stdout.clone(),
                Some(first_tx),
                drained_tx.clone(),
            );
        }
        if let Some(stderr) = child.stderr.take() {
            read_lines(
                stderr,
                log.clone(),
                prefixes.stderr.clone(),
                None,
                drained_tx,
            );
        }
        Ok(Self {
            child,
            log: log.clone(),
            first_line: Some(first_rx),
            drained,
        })
    }

    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    #[must_use]
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The first line printed on stdout (blocking until it comes). It is in the log already.
    ///
    /// # Errors
    /// None within `within`, or the process ended first; the error says which.
    pub fn first_line(&mut self, within: Duration) -> Result<String, String> {
        let received = self
            .first_line
            .take()
            .ok_or_else(|| "the first line was taken already".to_owned())?
            .recv_timeout(within);
        received.map_err(|_| {
            let status = self.child.try_wait().ok().flatten();
            format!("no line on stdout within {within:?} (exit status {status:?})")
        })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, as in a crash: no shutdown code runs. Returns once the process is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit; the log is complete when this returns.
    ///
    /// # Errors
    /// The signal cannot be sent, or the process is still running after `within`.
    pub fn terminate(&mut self, within: Duration) -> Result<ExitStatus, String> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !sent.as_ref().is_ok_and(ExitStatus::success) {
            return Err(format!("kill -TERM {pid} failed: {sent:?}"));
        }
        let deadline = Instant::now() + within;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    return Err(format!(
                        "still running {within:?} after SIGTERM\n{}",
                        self.log.text()
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {pid}: {e}")),
            }
        };
        self.wait_drained();
        Ok(status)
    }

    /// Waits until both output streams reached their end (the process exited and closed them),
    /// so that the log holds everything it printed.
    fn wait_drained(&self) {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.drained.recv_timeout(left).is_err() {
                return;
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies `reader`'s lines into `log` on a thread; the first also goes to `first` (after it is in
/// the log, so the log never lags the caller).
fn read_lines(
    reader: impl Read + Send + 'static,
    log: Log,
    prefix: String,
    first: Option<mpsc::Sender<String>>,
    drained: mpsc::Sender<()>,
) {
    thread::spawn(move || {
        let mut first = first;
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            log.push(format!("{prefix}{line}"));
            if let Some(tx) = first.take() {
                let _ = tx.send(line);
            }
        }
        let _ = drained.send(());
    });
}
