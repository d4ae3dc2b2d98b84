//! Pages as a browser sees them: `browser/checkout.mjs` (the checkout page, as a payer) and
//! `browser/console.mjs` (the console, as an operator or an attacker), Node.js and
//! `playwright-core` driving headless Chromium; each acts as a plan says and prints one JSON line
//! of findings, which the tests assert on. Screenshots go to `target/test-output/checkout/` and
//! `target/test-output/console/`, for a person to look at.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::interop::{browser_dir, browser_node, run_with_timeout};

/// How long one look at the page may take, Chromium's start included.
const LOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Debian's Chromium, which `.ci/run` installs when missing.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the checkout page's screenshots go: `target/test-output/checkout/`, created if needed.
pub fn screenshot_dir() -> PathBuf {
    output_dir("checkout")
}

/// `target/test-output/NAME/`, created if needed.
pub fn output_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-output")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// `NAME.png` in [`screenshot_dir`], as the plan's `screenshot` wants it.
pub fn screenshot(name: &str) -> String {
    screenshot_dir()
        .join(format!("{name}.png"))
        .to_string_lossy()
        .into_owned()
}

/// Runs `browser/checkout.mjs` with `plan` and returns what it found (see the script's header
/// for the plan's fields and the findings). Panics with the script's output if it fails.
pub fn look(plan: &Value) -> Value {
    run("checkout.mjs", plan, LOOK_TIMEOUT)
}

/// Runs `browser/console.mjs` with `plan` (see the script's header) and returns what it found.
pub fn console(plan: &Value) -> Value {
    run("console.mjs", plan, 2 * LOOK_TIMEOUT)
}

fn run(script: &str, plan: &Value, timeout: Duration) -> Value {
    let cmd = driver(script, plan);
    let output =
        run_with_timeout(cmd, timeout).unwrap_or_else(|e| panic!("browser/{script} {plan}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    match (
        output.status.success(),
        last.map(serde_json::from_str::<Value>),
    ) {
        (true, Some(Ok(found))) => found,
        _ => panic!(
            "browser/{script} {plan} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status
        ),
    }
}

/// `node SCRIPT PLAN` in `browser/`, its environment set.
fn driver(script: &str, plan: &Value) -> Command {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium (`.ci/run` installs it, \
         or `apt-get install -y chromium`)"
    );
    let mut cmd = Command::new(browser_node());
    cmd.arg(script)
        .arg(plan.to_string())
        .current_dir(browser_dir())
        .env("CHROMIUM", CHROMIUM)
        .env("NODE_NO_WARNINGS", "1")
        // Chromium talks to paygate on loopback only: never through a proxy from the environment.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    cmd
}

/// A look whose plan pauses (`{"pause": true}` steps): the browser stays open on the page while
/// the test acts (pays upstream, checks what the page was handed), then goes on when told.
/// Killed when dropped, also when the test panics.
pub struct Session {
    plan: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Every stdout line so far, for failure messages.
    seen: Vec<String>,
    started: Instant,
}

impl Session {
    /// Starts `browser/checkout.mjs` with `plan`.
    pub fn start(plan: &Value) -> Self {
        let mut child = driver("checkout.mjs", plan)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start browser/checkout.mjs: {e}"));
        let stdout = child.stdout.take().expect("stdout pipe");
        let mut stderr_pipe = child.stderr.take().expect("stderr pipe");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        Self {
            plan: plan.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The next pause: what the page showed (`readPage`, with `evaluated` when the step asked).
    pub fn paused(&mut self) -> Value {
        let line = self.next_line();
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.get("paused").is_some() => v["page"].clone(),
            _ => self.fail(&format!("expected a pause, got {line}")),
        }
    }

    /// The page again, still paused.
    pub fn look_again(&mut self) -> Value {
        self.send("look");
        self.paused()
    }

    /// Goes on past the pause.
    pub fn resume(&mut self) {
        self.send("go");
    }

    /// Waits for the end of the plan and returns what it found.
    pub fn finish(mut self) -> Value {
        drop(self.stdin.take());
        let last = self.next_line();
        let status = self.child.wait().expect("wait for browser/checkout.mjs");
        match serde_json::from_str::<Value>(&last) {
            Ok(found) if status.success() && found.get("paused").is_none() => found,
            _ => self.fail(&format!("exit {status}, last line {last}")),
        }
    }

    fn send(&mut self, line: &str) {
        let sent = self
            .stdin
            .as_mut()
            .map(|stdin| writeln!(stdin, "{line}").and_then(|()| stdin.flush()));
        if !matches!(sent, Some(Ok(()))) {
            self.fail(&format!("cannot tell it {line:?}: {sent:?}"));
        }
    }

    fn next_line(&mut self) -> String {
        loop {
            let left = LOOK_TIMEOUT.saturating_sub(self.started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.trim().is_empty() => {}
                Ok(line) => {
                    self.seen.push(line.clone());
                    return line;
                }
                Err(RecvTimeoutError::Timeout) => self.fail("timed out"),
                Err(RecvTimeoutError::Disconnected) => self.fail("it ended"),
            }
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        panic!(
            "browser/checkout.mjs {}: {why}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            self.plan,
            self.seen.join("\n")
        )
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
