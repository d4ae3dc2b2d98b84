//! The checkout page as a payer's browser sees it: `browser/checkout.mjs` (Node.js and
//! `playwright-core`) opens it in headless Chromium, acts on it as a plan says and prints one JSON
//! line of findings, which the tests assert on. Screenshots go to
//! `target/test-output/checkout/`, for a person to look at.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::interop::{browser_dir, browser_node, run_with_timeout};

/// How long one look at the page may take, Chromium's start included.
const LOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Debian's Chromium, which `.ci/run` installs when missing.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the screenshots go: `target/test-output/checkout/`, created if needed.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output/checkout");
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
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium (`.ci/run` installs it, \
         or `apt-get install -y chromium`)"
    );
    let mut cmd = Command::new(browser_node());
    cmd.arg("checkout.mjs")
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
    let output = run_with_timeout(cmd, LOOK_TIMEOUT)
        .unwrap_or_else(|e| panic!("browser/checkout.mjs {plan}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    match (
        output.status.success(),
        last.map(serde_json::from_str::<Value>),
    ) {
        (true, Some(Ok(found))) => found,
        _ => panic!(
            "browser/checkout.mjs {plan} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status
        ),
    }
}
