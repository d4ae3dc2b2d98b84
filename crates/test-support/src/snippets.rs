//! `interop/` at the repository root, and the README's verification snippets in it
//! (`verify_notification.mjs`, `verify_notification.py`) run on a received notification.
//!
//! Node.js is part of the test environment, as for every interoperability test: when it is
//! missing, the test fails rather than passing without having checked anything.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::receiver::Received;

/// `interop/` at the repository root.
#[must_use]
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// `node`, after checking that it runs.
///
/// # Panics
/// Node.js is not installed.
#[must_use]
pub fn node() -> PathBuf {
    let version = Command::new("node").arg("--version").output();
    match version {
        Ok(out) if out.status.success() => PathBuf::from("node"),
        Ok(out) => panic!(
            "node --version failed ({}): Node.js 18+ must be installed to run this test",
            out.status
        ),
        Err(e) => panic!("cannot run node ({e}): Node.js 18+ must be installed to run this test"),
    }
}

/// The interpreter for a snippet: [`node`] for `.mjs`; for Python the interop venv's, or plain
/// `python3` when there is no venv (the snippets need only the standard library).
fn interpreter(script: &str) -> PathBuf {
    if Path::new(script)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("mjs"))
    {
        return node();
    }
    let venv = interop_dir().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Whether `interop/<script>` says that `body`, with the signature headers of `notification`, is
/// validly signed with `sk` (`body` is the notification's own, or one altered by the test).
///
/// # Panics
/// The snippet cannot be run, or writes to stderr (a broken snippet, not a refusal).
#[must_use]
pub fn accepts(script: &str, sk: &str, notification: &Received, body: &[u8]) -> bool {
    let mut child = Command::new(interpreter(script))
        .arg(interop_dir().join(script))
        .env("PAYGATE_SK", sk)
        .env("X_1PASS_TS", notification.header("x-1pass-ts"))
        .env("X_1PASS_NONCE", notification.header("x-1pass-nonce"))
        .env("X_1PASS_SIGN", notification.header("x-1pass-sign"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body)
            .unwrap_or_else(|e| panic!("{script}: cannot write the body: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{script} wrote to stderr: {stderr}");
    out.status.success()
}
