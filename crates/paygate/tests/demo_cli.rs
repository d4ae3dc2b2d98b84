//! `paygate demo`, the real binary: the whole tour (paygate in sandbox mode, a site, its
//! notification receiver, a WeChat Native and an Alipay QR order each paid, notified, partly
//! refunded and notified again) holds and exits 0, printing every step; it leaves nothing behind
//! and touches nothing the user's settings name; and a step that fails is named, with a non-zero
//! exit and no panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Output, Stdio};

use support::serve::paygate_command;

/// Every step line a full run prints, in order.
const STEPS: [&str; 13] = [
    "paygate started",
    "site created",
    "receiver listening",
    "WeChat order created",
    "WeChat order paid",
    "WeChat payment notified",
    "WeChat refund asked",
    "WeChat refund notified",
    "Alipay order created",
    "Alipay order paid",
    "Alipay payment notified",
    "Alipay refund asked",
    "Alipay refund notified",
];

/// Where a run may write: its temp dir (`TMPDIR`), and a working dir where `serve`'s default
/// `./data` would appear.
struct Dirs {
    _root: tempfile::TempDir,
    tmp: std::path::PathBuf,
    cwd: std::path::PathBuf,
    /// What the user's `PAYGATE_DATA_DIR` names: the demo must not create it.
    users_data: std::path::PathBuf,
}

impl Dirs {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        let cwd = root.path().join("cwd");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::create_dir(&cwd).unwrap();
        let users_data = root.path().join("users-data");
        Self {
            _root: root,
            tmp,
            cwd,
            users_data,
        }
    }

    /// `paygate demo ARGS…` with a user's settings in the environment that the demo must ignore:
    /// a data dir, a database and a config file of theirs.
    fn demo(&self, args: &[&str]) -> Output {
        paygate_command()
            .arg("demo")
            .args(args)
            .current_dir(&self.cwd)
            .env("TMPDIR", &self.tmp)
            .env("PAYGATE_DATA_DIR", &self.users_data)
            .env(
                "PAYGATE_DATABASE_URL",
                "postgres://paygate@127.0.0.1:1/the_users_database",
            )
            .env("PAYGATE_CONFIG", self.cwd.join("the-users-paygate.toml"))
            .stdin(Stdio::null())
            .output()
            .expect("run paygate demo")
    }

    /// Nothing in the temp dir or the working dir, and no data dir of the user's.
    fn assert_untouched(&self, output: &str) {
        assert!(is_empty(&self.tmp), "the temp dir is left behind\n{output}");
        assert!(is_empty(&self.cwd), "the working dir was written\n{output}");
        assert!(!self.users_data.exists(), "the user's data dir\n{output}");
    }
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_holds_every_step_and_leaves_nothing_behind() {
    let dirs = Dirs::new();
    let out = dirs.demo(&[]);
    let (stdout, stderr) = texts(&out);
    let both = format!("--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    assert!(out.status.success(), "exit {}\n{both}", out.status);

    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("paygate demo: a sandbox"), "{both}");
    for (i, title) in STEPS.iter().enumerate() {
        let start = format!("✓ {:>2}. {title} ", i + 1);
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with(&start)),
            "line {} should start with {start:?}\n{both}",
            i + 2
        );
    }
    assert!(
        lines[STEPS.len() + 1].starts_with("✓ all 13 steps held in "),
        "{both}"
    );
    assert_eq!(lines.len(), STEPS.len() + 2, "{both}");
    // What the steps say they saw: the seed's route, both notifications per channel, verified.
    assert!(
        stdout.contains("POST /pay/wechat/native (signed) → pending"),
        "{both}"
    );
    assert!(stdout.contains("code_url weixin://"), "{both}");
    assert_eq!(
        stdout
            .matches("TRANSACTION.SUCCESS, signature verified")
            .count(),
        2,
        "{both}"
    );
    assert_eq!(
        stdout.matches("REFUND.SUCCESS, signature verified").count(),
        2,
        "{both}"
    );
    assert!(stdout.contains("¥10.00 of ¥29.90"), "{both}");
    // The AK is shown, never an SK.
    assert!(stdout.contains(", AK ak_test_"), "{both}");
    assert!(!both.contains("sk_test_"), "{both}");
    assert!(!both.contains("panicked"), "{both}");
    dirs.assert_untouched(&both);
}

#[test]
fn a_failed_step_is_named_and_the_exit_status_says_so() {
    let dirs = Dirs::new();
    // No paygate starts within a millisecond (it opens a database and makes RSA keys).
    let out = dirs.demo(&["--timeout", "1ms"]);
    let (stdout, stderr) = texts(&out);
    let both = format!("--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{both}");
    assert!(
        stdout.contains("✗  1. paygate started ") && stdout.contains("did not start within"),
        "{both}"
    );
    assert!(stdout.contains("✗ step 1 of 13 failed after "), "{both}");
    assert!(!stdout.contains('✓'), "{both}");
    assert!(
        stderr.contains("error: step 1 (paygate started) failed: paygate did not start within"),
        "{both}"
    );
    assert!(!both.contains("panicked"), "{both}");
    dirs.assert_untouched(&both);
}

#[test]
fn a_timeout_that_is_no_duration_is_refused_before_anything_starts() {
    let dirs = Dirs::new();
    for bad in [
        "--timeout=soon",
        "--timeout=10",
        "--timeout=-1s",
        "--timeout=0s",
        "--timeout=",
    ] {
        let out = dirs.demo(&[bad]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{bad:?}\n{stdout}{stderr}");
        assert!(stdout.is_empty(), "{bad:?}\n{stdout}");
        assert!(stderr.contains("error: --timeout"), "{bad:?}\n{stderr}");
    }
    dirs.assert_untouched("");
}
