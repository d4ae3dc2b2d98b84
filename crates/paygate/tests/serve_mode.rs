//! A database is sandbox or live for its whole life. A sandbox database refuses channel
//! credentials; a live one refuses to start without them (so its sites can never be reached by the
//! sandbox's unauthenticated `/sandbox/pay`); PostgreSQL is a sandbox only when asked; keys show
//! their mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::serve::{Paygate, ServeOptions, create_site, paygate_command, paygate_run};
use test_support::db::{Backend, ThrowawayDb};

/// Runs `paygate serve` expecting it to refuse to start: returns its stderr once it exited
/// non-zero, without ever printing the listening line.
fn refused_start(mut cmd: Command) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn paygate serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!status.success(), "serve started:\n{stdout}\n{stderr}");
            assert!(!stdout.contains("listening"), "{stdout}\n{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            return stderr;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "serve did not refuse to start:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn serve_in(data_dir: &Path) -> Command {
    let mut cmd = paygate_command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    cmd
}

#[test]
fn a_sandbox_database_never_takes_channel_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sandbox = Paygate::start(ServeOptions::new(&data));
    // stderr is read by a thread, a little behind the listening line.
    sandbox.wait_for_log("SANDBOX MODE");
    let keys = create_site(&data, "test shop");
    assert!(keys.ak.starts_with("ak_test_"), "{}", keys.ak);
    assert!(keys.sk.starts_with("sk_test_"));
    sandbox.stop();

    let sim = support::Sim::start();
    let config = support::wechat_live_config(&sim, dir.path());
    let mut cmd = serve_in(&data);
    cmd.arg("--config").arg(&config);
    let err = refused_start(cmd);
    assert!(err.contains("initialised in sandbox mode"), "{err}");
    assert!(err.contains("use a new database"), "{err}");

    // A site created by an operator command afterwards is still a sandbox site.
    let more = create_site(&data, "another test shop");
    assert!(more.ak.starts_with("ak_test_"), "{}", more.ak);
}

#[test]
fn a_live_database_never_runs_as_a_sandbox() {
    let sim = support::Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let config = support::wechat_live_config(&sim, dir.path());
    let data = dir.path().join("data");
    let live = Paygate::start(
        ServeOptions::new(&data)
            .arg("--config")
            .arg(config.display().to_string()),
    );
    // The metrics line comes after the banner, when there is one.
    let log = live.wait_for_log("paygate metrics");
    assert!(!log.contains("SANDBOX MODE"), "{log}");
    let keys = create_site(&data, "real shop");
    assert!(keys.ak.starts_with("ak_live_"), "{}", keys.ak);
    assert!(keys.sk.starts_with("sk_live_"));
    live.stop();

    // The attack: the same host restarted with the credentials missing (a misspelt variable)
    // used to come up in sandbox mode, with real sites and an unauthenticated `/sandbox/pay`.
    let err = refused_start(serve_in(&data));
    assert!(err.contains("this database is live"), "{err}");
    assert!(err.contains("PAYGATE_WECHAT_"), "{err}");
    let mut asked = serve_in(&data);
    asked.arg("--sandbox");
    let err = refused_start(asked);
    assert!(
        err.contains("a sandbox needs a database of its own"),
        "{err}"
    );

    // Operator commands keep working on it without the credentials, and know it is live.
    let rotated = paygate_run(&["site", "rotate-key", &keys.site_id, "--json"], &data);
    assert!(rotated.status.success(), "{rotated:?}");
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("sk_live_"));
}

#[test]
fn postgres_is_a_sandbox_only_with_an_explicit_flag() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pg = runtime.block_on(ThrowawayDb::create(Backend::Postgres));
    let dir = tempfile::tempdir().unwrap();
    let with_pg = |mut cmd: Command| {
        cmd.arg("--database-url").arg(pg.url());
        cmd
    };

    let err = refused_start(with_pg(serve_in(dir.path())));
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(err.contains("--sandbox"), "{err}");
    // An operator command cannot initialise it as a sandbox by accident either.
    let site_create = || {
        let mut cmd = paygate_command();
        cmd.args(["site", "create", "--name", "x", "--json", "--data-dir"])
            .arg(dir.path())
            .arg("--database-url")
            .arg(pg.url());
        cmd.output().unwrap()
    };
    let out = site_create();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("PostgreSQL") && err.contains("--sandbox"),
        "{err}"
    );

    let sandbox = Paygate::start(
        ServeOptions::new(dir.path())
            .arg("--database-url")
            .arg(pg.url())
            .arg("--sandbox"),
    );
    // stderr is read by a thread, a little behind the listening line.
    sandbox.wait_for_log("SANDBOX MODE");
    sandbox.stop();

    // Recorded as a sandbox, and still needing the flag to run as one.
    let err = refused_start(with_pg(serve_in(dir.path())));
    assert!(err.contains("--sandbox"), "{err}");
    let keys = support::serve::site_keys(&site_create());
    assert!(keys.ak.starts_with("ak_test_"), "{}", keys.ak);
    drop(pg);
}

#[test]
fn migrate_records_the_mode_only_when_told_and_never_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| paygate_run(args, &data);
    // Plain `migrate` decides nothing: the first `serve` still does.
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("database mode:"));
    let out = run(&["migrate", "--mode", "live"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("database mode: live"));
    // Said again: fine. The other mode, or anything else: refused, and nothing changes.
    assert!(run(&["migrate", "--mode", "live"]).status.success());
    let out = run(&["migrate", "--mode", "sandbox"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already recorded as live"));
    let out = run(&["migrate", "--mode", "test"]);
    assert!(!out.status.success());
    // Recorded live: a start without credentials is refused, as for any live database.
    let err = refused_start(serve_in(&data));
    assert!(err.contains("this database is live"), "{err}");
}
