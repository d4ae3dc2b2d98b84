//! How `paygate reconcile` shows the runs it waits for while they read their bills: a bar per run
//! on a terminal; otherwise (output piped or logged, or `--json`) a plain line on stderr now and
//! then, and one when each run ends. Stdout is left to the report.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use gateway::domain::{Reconciliation, ReconciliationStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The least time between two plain lines of one run.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub enum Progress {
    Bars {
        bars: MultiProgress,
        by_run: HashMap<i64, ProgressBar>,
    },
    Lines {
        /// Per run: the lines read when last said, and when.
        said: HashMap<i64, (i64, Instant)>,
    },
}

impl Progress {
    /// Bars when stderr is a terminal and the report is not JSON.
    pub fn new(json: bool) -> Self {
        if !json && std::io::stderr().is_terminal() {
            Self::Bars {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                by_run: HashMap::new(),
            }
        } else {
            Self::Lines {
                said: HashMap::new(),
            }
        }
    }

    /// A run still reading its bill.
    pub fn running(&mut self, run: &Reconciliation) {
        match self {
            Self::Bars { bars, by_run } => {
                let bar = by_run
                    .entry(run.id)
                    .or_insert_with(|| bars.add(new_bar(run)));
                if let Some(total) = run.lines_total.and_then(|t| u64::try_from(t).ok()) {
                    if bar.length() != Some(total) {
                        bar.set_length(total);
                        bar.set_style(counted());
                    }
                }
                bar.set_position(u64::try_from(run.lines_read).unwrap_or(0));
            }
            Self::Lines { said } => {
                let now = Instant::now();
                let due = said
                    .get(&run.id)
                    .is_none_or(|(lines, at)| *lines != run.lines_read && now - *at >= LINE_EVERY);
                if due {
                    said.insert(run.id, (run.lines_read, now));
                    eprintln!("{}: running, {}", name(run), read(run));
                }
            }
        }
    }

    /// A run that ended.
    pub fn ended(&mut self, run: &Reconciliation) {
        let said = format!("{}, {}", run.status.as_str(), read(run));
        match self {
            Self::Bars { by_run, bars } => {
                let bar = by_run
                    .remove(&run.id)
                    .unwrap_or_else(|| bars.add(new_bar(run)));
                bar.set_position(u64::try_from(run.lines_read).unwrap_or(0));
                bar.set_style(
                    ProgressStyle::with_template("{msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                if run.status == ReconciliationStatus::Complete {
                    bar.finish_with_message(format!("{}: {said}", name(run)));
                } else {
                    bar.abandon_with_message(format!("{}: {said}", name(run)));
                }
            }
            Self::Lines { said: lines } => {
                lines.remove(&run.id);
                eprintln!("{}: {said}", name(run));
            }
        }
    }
}

fn name(run: &Reconciliation) -> String {
    format!("{} {}", run.channel.as_str(), run.account)
}

/// `1 line read`, `5000 of 10000 lines read (50 %)`.
fn read(run: &Reconciliation) -> String {
    let n = run.lines_read;
    match run.lines_total {
        Some(total) if total > 0 && run.status == ReconciliationStatus::Running => {
            format!("{n} of {total} lines read ({} %)", n * 100 / total)
        }
        _ if n == 1 => "1 line read".to_owned(),
        _ => format!("{n} lines read"),
    }
}

fn new_bar(run: &Reconciliation) -> ProgressBar {
    let bar = ProgressBar::no_length().with_style(uncounted());
    bar.set_message(name(run));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bill whose length is not known yet (WeChat Pay's says it in its last row).
fn uncounted() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}: {human_pos} lines read ({per_sec}) {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn counted() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg}: [{bar:40}] {human_pos}/{human_len} lines ({per_sec}, {eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}
