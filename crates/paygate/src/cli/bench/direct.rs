//! The baseline: the same WeChat Pay Native order created directly with `wechatpay-axios-plugin`
//! (Node.js) against the same simulator, with no paygate in between (`interop/bench_direct.mjs`).
//! Beside paygate's own row, it shows what paygate adds over calling WeChat Pay directly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::process::Command;

use super::load::Run;

/// `interop/` of the source tree this paygate was built from, else of the current directory.
fn interop_dir() -> anyhow::Result<PathBuf> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop");
    [built, PathBuf::from("interop")]
        .into_iter()
        .find(|dir| dir.join("bench_direct.mjs").is_file())
        .context("interop/bench_direct.mjs not found: run paygate bench from the repository")
}

/// Installs the pinned SDK from `interop/package-lock.json` when it is not there yet.
async fn ensure_sdk(dir: &Path) -> anyhow::Result<()> {
    if dir
        .join("node_modules/wechatpay-axios-plugin/package.json")
        .is_file()
    {
        return Ok(());
    }
    eprintln!("paygate bench: installing interop/'s pinned Node.js packages (npm ci)");
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .await
        .context("running npm ci in interop/ (is Node.js with npm installed?)")?;
    if !out.status.success() {
        bail!(
            "npm ci in interop/ failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Creates orders directly for `duration` with `clients` in flight, at most `max`.
pub async fn run(
    sim_url: &str,
    clients: usize,
    duration: Duration,
    max: u64,
) -> anyhow::Result<Run> {
    let dir = interop_dir()?;
    ensure_sdk(&dir).await?;
    let out = Command::new("node")
        .arg("bench_direct.mjs")
        .current_dir(&dir)
        .env("SIM_URL", sim_url)
        .env("BENCH_CONCURRENCY", clients.to_string())
        .env("BENCH_DURATION_MS", duration.as_millis().to_string())
        .env("BENCH_MAX", max.to_string())
        .kill_on_drop(true)
        .output()
        .await
        .context("running node interop/bench_direct.mjs (is Node.js installed?)")?;
    if !out.status.success() {
        bail!(
            "interop/bench_direct.mjs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line)
        .with_context(|| format!("interop/bench_direct.mjs printed {line:?}"))?;
    let mut latencies: Vec<Duration> = result["latencies_ms"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_f64)
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    latencies.sort_unstable();
    Ok(Run {
        latencies,
        errors: result["errors"].as_u64().unwrap_or(0),
        first_error: result["first_error"].as_str().map(str::to_owned),
        elapsed: Duration::from_secs_f64(result["elapsed_ms"].as_f64().unwrap_or(0.0) / 1000.0),
    })
}
