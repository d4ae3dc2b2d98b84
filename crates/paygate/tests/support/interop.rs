//! The interoperability tests' tools: third-party SDKs, run with Node.js and Python from
//! `interop/` at the repository root, against a `paygate sim` child process.
//!
//! On a fresh machine the first test to need them installs the pinned packages
//! (`npm ci` from `interop/package-lock.json`, a venv from `interop/requirements.txt`); a lock file
//! keeps concurrent tests and test binaries from installing at the same time, and a marker holding
//! a hash of the pin file makes a changed pin file reinstall.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::{Sim, interop_dir};

/// How long one SDK script may run before the test gives up on it.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);
/// How long an install (npm ci, pip install) may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// A lock older than this is left over from a killed run.
const STALE_LOCK: Duration = Duration::from_secs(1200);

// ---------------------------------------------------------------------------------------------
// Running the SDK scripts
// ---------------------------------------------------------------------------------------------

/// Runs `program args…` in `interop/` with `envs` (plus loopback-only proxy settings) and asserts
/// that it exits 0 with `final_line` as the last line of its standard output. On failure the
/// panic shows the script's output and the simulator's log.
pub fn run_script(
    sim: &Sim,
    program: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    final_line: &str,
) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(interop_dir())
        .env("SIM_URL", &sim.url)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("NODE_NO_WARNINGS", "1");
    loopback_without_proxy(&mut cmd);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let what = format!("{} {}", program.display(), args.join(" "));
    let output = run_with_timeout(cmd, SCRIPT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{what}: {e}\n--- sim output ---\n{}", sim.log()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(
        output.status.success() && last.trim() == final_line,
        "{what} failed ({}; last line {last:?}, expected {final_line:?})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- sim output ---\n{}",
        output.status,
        sim.log()
    );
    // Visible with `cargo test -- --nocapture`.
    println!("{stdout}");
}

fn loopback_without_proxy(cmd: &mut Command) {
    let mut no_proxy = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    for host in ["127.0.0.1", "localhost"] {
        if !no_proxy.split(',').any(|h| h.trim() == host) {
            if !no_proxy.is_empty() {
                no_proxy.push(',');
            }
            no_proxy.push_str(host);
        }
    }
    cmd.env("NO_PROXY", &no_proxy).env("no_proxy", &no_proxy);
}

/// Runs `cmd` to completion with its output captured, killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let mut stdout_pipe = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr_pipe = child.stderr.take().ok_or("no stderr pipe")?;
    let out = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let err = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
                let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
                return Err(format!(
                    "killed after {} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                    timeout.as_secs()
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// Installing the pinned SDKs
// ---------------------------------------------------------------------------------------------

/// `node`, with `interop/node_modules` installed from the lockfile. Panics with the installer's
/// output if that cannot be done.
pub fn node() -> PathBuf {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = READY.get_or_init(|| npm_ci(&interop_dir())) {
        panic!("cannot install the Node.js interop packages: {e}");
    }
    test_support::snippets::node()
}

/// `node`, with `browser/node_modules` (the checkout page's headless-Chromium driver) installed
/// from its lockfile. Panics with the installer's output if that cannot be done.
pub fn browser_node() -> PathBuf {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = READY.get_or_init(|| npm_ci(&browser_dir())) {
        panic!("cannot install the browser driver's Node.js packages: {e}");
    }
    test_support::snippets::node()
}

/// `browser/` at the repository root.
pub fn browser_dir() -> PathBuf {
    interop_dir().with_file_name("browser")
}

/// `npm ci` in `dir` unless its `node_modules` was installed from exactly this lockfile.
fn npm_ci(dir: &Path) -> Result<(), String> {
    with_install_lock(dir, || {
        let marker = dir.join("node_modules/.paygate-installed");
        let want = fingerprint(&dir.join("package-lock.json"))?;
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) {
            return Ok(());
        }
        // `npm ci` installs exactly what package-lock.json pins, after removing node_modules.
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
        checked(&format!("npm ci (in {})", dir.display()), cmd)?;
        std::fs::write(&marker, want).map_err(|e| format!("write {}: {e}", marker.display()))
    })
}

/// `interop/.venv/bin/python`, the venv created and filled from `requirements.txt` if needed.
pub fn python() -> PathBuf {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = interop_dir();
    let venv = dir.join(".venv");
    let python = venv.join("bin/python");
    let ready = READY.get_or_init(|| {
        with_install_lock(&dir, || {
            let marker = venv.join(".paygate-installed");
            let want = fingerprint(&dir.join("requirements.txt"))?;
            if python.exists()
                && std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str())
            {
                return Ok(());
            }
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "venv", "--clear"]).arg(&venv);
            checked("python3 -m venv interop/.venv", cmd)?;
            let mut cmd = Command::new(&python);
            cmd.args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
                "requirements.txt",
            ])
            .current_dir(&dir);
            checked("pip install -r interop/requirements.txt", cmd)?;
            std::fs::write(&marker, want).map_err(|e| format!("write {}: {e}", marker.display()))
        })
    });
    if let Err(e) = ready {
        panic!("cannot install the Python interop packages: {e}");
    }
    python
}

fn checked(what: &str, cmd: Command) -> Result<(), String> {
    let output = run_with_timeout(cmd, INSTALL_TIMEOUT).map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// FNV-1a of a pin file: the marker that says "installed from exactly this file".
fn fingerprint(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut out = String::new();
    let _ = write!(out, "{hash:016x} {}", bytes.len());
    Ok(out)
}

/// Runs `f` holding `DIR/.install.lock`, shared by every test thread and test process.
fn with_install_lock(dir: &Path, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let lock = dir.join(".install.lock");
    let deadline = Instant::now() + INSTALL_TIMEOUT + Duration::from_secs(60);
    loop {
        match std::fs::File::create_new(&lock) {
            Ok(mut file) => {
                use std::io::Write as _;
                let _ = writeln!(file, "{}", std::process::id());
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if lock_is_stale(&lock) {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "{} is still held; remove it if no test is running",
                        lock.display()
                    ));
                }
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("create {}: {e}", lock.display())),
        }
    }
    struct Release(PathBuf);
    impl Drop for Release {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _release = Release(lock);
    f()
}

/// Left by a process that no longer exists (Linux), or simply too old.
fn lock_is_stale(lock: &Path) -> bool {
    let too_old = std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_LOCK);
    let owner_gone = std::fs::read_to_string(lock)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .is_some_and(|pid| {
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        });
    too_old || owner_gone
}
