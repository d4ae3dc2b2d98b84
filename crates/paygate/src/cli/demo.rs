//! `paygate demo`: the whole round trip a site makes, on a throwaway sandbox, in a few seconds —
//! for a newcomer to see paygate work before reading about it.
//!
//! paygate runs in this process as `serve` runs it (`instance.rs`), on a temporary SQLite data dir
//! that is removed at the end; the demo plays the site (`../merchant.rs`: signed requests, the
//! notification check, from the README) with a notification endpoint of its own (`receiver.rs`),
//! through the steps in `tour.rs`.
//! Each step prints one line as it ends, with its time; the first failure ends the demo, which
//! then still stops paygate and removes the data dir, and exits non-zero.

mod instance;
mod receiver;
mod tour;

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use clap::Args;

use self::tour::{STEPS, start, tour};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The longest any one wait may take: paygate starting, an answer, a notification arriving.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    timeout: String,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let timeout = gateway::config::parse_duration(&args.timeout)
        .map_err(|reason| anyhow!("--timeout {:?} {reason}", args.timeout))?;
    // Zero would fail every wait at once: no run could hold.
    ensure!(!timeout.is_zero(), "--timeout must be more than zero");
    // Installed first: Ctrl-C must still stop paygate and remove the data dir.
    let interrupted = super::signal::shutdown_signal();
    tokio::pin!(interrupted);
    let dir = temp_data_dir()?;
    println!(
        "paygate demo: a sandbox (no real money moves) on a temporary data dir, {}",
        dir.path().display()
    );
    let began = Instant::now();
    let mut steps = Steps::default();

    let started = tokio::select! {
        started = steps.run("paygate started", start(dir.path(), timeout)) => Some(started),
        () = &mut interrupted => None,
    };
    // Outlives paygate: a delivery still in flight when the tour ends gets its answer.
    let mut receiver = None;
    let (outcome, stopped) = match started.unwrap_or_else(|| Err(steps.interrupted())) {
        Ok(paygate) => {
            let outcome = tokio::select! {
                outcome = tour(&mut steps, &paygate, &mut receiver, timeout) => Some(outcome),
                () = &mut interrupted => None,
            };
            let outcome = outcome.unwrap_or_else(|| Err(steps.interrupted()));
            (outcome, paygate.stop(timeout).await)
        }
        // Nothing to stop: the start did not finish.
        Err(e) => (Err(e), Ok(())),
    };
    drop(receiver);
    let removed = remove_data_dir(dir).await;
    let took = began.elapsed().as_millis();
    let cleaned = match (stopped, removed) {
        (Ok(()), Ok(path)) => {
            match &outcome {
                Ok(()) => println!(
                    "✓ all {STEPS} steps held in {took} ms; paygate stopped, {path} removed"
                ),
                Err(_) => println!(
                    "✗ step {} of {STEPS} failed after {took} ms; paygate stopped, {path} removed",
                    steps.current
                ),
            }
            Ok(())
        }
        (Err(e), _) | (_, Err(e)) => {
            println!("✗ cleaning up after {took} ms: {e:#}");
            Err(e)
        }
    };
    // The failed step comes first: it is why the demo did not hold.
    outcome.and(cleaned)
}

/// A fresh data dir under the system's temp dir, `0700` from the start as paygate wants its data
/// dir (it would tighten a wider one, with a warning).
fn temp_data_dir() -> anyhow::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("paygate-demo-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir().context("creating a temporary data dir")
}

/// Removes the data dir and says which it was. A start that timed out was dropped, not stopped,
/// and its database may still be closing its files in there: a failed removal is tried again for
/// a while.
async fn remove_data_dir(dir: tempfile::TempDir) -> anyhow::Result<String> {
    const RETRY_FOR: Duration = Duration::from_secs(5);
    let path = dir.keep();
    let shown = path.display().to_string();
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match std::fs::remove_dir_all(&path) {
            Ok(()) => return Ok(shown),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(shown),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("removing the temporary data dir {shown}"));
            }
        }
    }
}

/// Numbers the steps and prints each as it ends: ✓ or ✗, what it is, how long it took, and what
/// happened or why it failed.
#[derive(Default)]
struct Steps {
    /// The step running (or the last one run).
    current: usize,
}

impl Steps {
    /// Runs `work`, which returns its value and a line saying what happened; prints that line.
    async fn run<T>(
        &mut self,
        title: &str,
        work: impl Future<Output = anyhow::Result<(T, String)>>,
    ) -> anyhow::Result<T> {
        self.current += 1;
        let n = self.current;
        let began = Instant::now();
        let outcome = work.await;
        let ms = began.elapsed().as_millis();
        match outcome {
            Ok((value, said)) => {
                println!("✓ {n:>2}. {title:<24}{ms:>6} ms  {said}");
                Ok(value)
            }
            Err(e) => {
                println!("✗ {n:>2}. {title:<24}{ms:>6} ms  {e:#}");
                Err(e.context(format!("step {n} ({title}) failed")))
            }
        }
    }

    /// Ctrl-C (or SIGTERM) during the current step.
    fn interrupted(&self) -> anyhow::Error {
        println!("✗ {:>2}. interrupted", self.current);
        anyhow!("interrupted during step {}", self.current)
    }
}

/// `10 s`, `1.5 s`, `0.001 s`: a deadline as a person reads it.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
