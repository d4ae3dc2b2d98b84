//! The `paygate` binary as the tests run it. The binary's path comes from the test
//! (`env!("CARGO_BIN_EXE_paygate")`, which only the paygate crate's tests have).
//!
//! - [`command`]: `paygate` with the developer's `PAYGATE_*` variables removed, so that a shell
//!   cannot change what a test sees;
//! - [`start`]: spawns `paygate serve …` or `paygate sim …` and reads its banner (its first stdout
//!   line) for the URL it listens on;
//! - [`SimChild`]: a standalone `paygate sim`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Log, Prefixes, Process};

/// The first stdout line of `paygate serve`, before its URL.
pub const SERVE_BANNER: &str = "paygate listening on ";
/// The first stdout line of `paygate sim`, before its URL.
pub const SIM_BANNER: &str = "paygate sim listening on ";
/// The stderr line announcing the metrics listener, before its URL.
pub const METRICS_BANNER: &str = "paygate metrics on ";

/// How long a simulator may take to print its banner.
const SIM_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a simulator may take to stop after SIGTERM.
const SIM_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// `bin` with the environment cleaned of paygate's own variables, proxies bypassed for loopback,
/// `RUST_LOG=info`, and the metrics listener on port 0 (tests run many paygates at once, which
/// would collide on the default metrics port).
#[must_use]
pub fn command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars() {
        if key.starts_with("PAYGATE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("RUST_LOG", "info")
        .env("PAYGATE_METRICS_LISTEN", "127.0.0.1:0");
    cmd
}

/// The URL after `banner` in `line`, without a trailing slash.
///
/// # Errors
/// `line` is not that banner.
pub fn banner_url(line: &str, banner: &str) -> Result<String, String> {
    line.strip_prefix(banner)
        .map(|url| url.trim().trim_end_matches('/').to_owned())
        .ok_or_else(|| format!("expected {banner:?}…, got {line:?}"))
}

/// Spawns `cmd` (a `paygate serve …` or `paygate sim …`) with its output in `log`, and waits up to
/// `within` for `banner`; returns the process and the URL it announced.
///
/// # Errors
/// It did not start, or printed something else first; the process is killed and the error holds
/// its exit status and output.
pub fn start(
    cmd: Command,
    log: &Log,
    prefixes: &Prefixes,
    banner: &str,
    within: Duration,
) -> Result<(Process, String), String> {
    let mut process = Process::spawn(cmd, log, prefixes)?;
    let url = process
        .first_line(within)
        .and_then(|line| banner_url(&line, banner));
    match url {
        Ok(url) => Ok((process, url)),
        Err(e) => {
            process.kill();
            Err(format!("{e}\n{}", log.text()))
        }
    }
}

/// The metrics URL `paygate serve` announced on stderr, waiting up to `within` for it (stderr is
/// read by a thread, a little behind the banner).
///
/// # Errors
/// Not announced in time.
pub fn metrics_url(log: &Log, within: Duration) -> Result<String, String> {
    let line = log.wait_for_line(METRICS_BANNER, within)?;
    line.split(METRICS_BANNER)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no URL in {line:?}"))
}

/// How to run a standalone simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// `--time-scale`; the simulator's default when `None`.
    pub time_scale: Option<f64>,
    /// `--state-dir`; a fresh temp dir when `None`.
    pub state_dir: Option<PathBuf>,
    /// `RUST_LOG`, when not `info`.
    pub rust_log: Option<String>,
}

/// A running `paygate sim --listen 127.0.0.1:0`, killed when dropped.
#[derive(Debug)]
pub struct SimChild {
    process: Process,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    state_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl SimChild {
    /// Starts the simulator and waits for its banner.
    ///
    /// # Panics
    /// It does not start: the test cannot run.
    #[must_use]
    pub fn start(bin: &Path, options: SimOptions) -> Self {
        let (state_dir, temp) = match options.state_dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::tempdir()
                    .unwrap_or_else(|e| panic!("cannot make the simulator's state dir: {e}"));
                (temp.path().to_owned(), Some(temp))
            }
        };
        let mut cmd = command(bin);
        cmd.args(["sim", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(&state_dir);
        if let Some(scale) = options.time_scale {
            cmd.arg("--time-scale").arg(scale.to_string());
        }
        if let Some(filter) = &options.rust_log {
            cmd.env("RUST_LOG", filter);
        }
        let log = Log::new();
        let (process, url) = start(
            cmd,
            &log,
            &Prefixes::both("[sim] "),
            SIM_BANNER,
            SIM_START_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("paygate sim did not start: {e}"));
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "paygate sim announced {url:?}"
        );
        Self {
            process,
            url,
            state_dir,
            _temp: temp,
        }
    }

    /// Where it keeps its state (`wechat.json`, `alipay.json` and their journals).
    #[must_use]
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Everything it printed so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.process.log().text()
    }

    /// SIGTERM; asserts that it stops by itself and exits 0 (its state is on disk already).
    ///
    /// # Panics
    /// It does not exit cleanly in time.
    pub fn stop(mut self) {
        let status = self
            .process
            .terminate(SIM_STOP_TIMEOUT)
            .unwrap_or_else(|e| panic!("paygate sim: {e}"));
        assert!(
            status.success(),
            "paygate sim exited {status}\n{}",
            self.log()
        );
    }
}
