//! What every benchmark records about the machine it ran on, read the same way for each: the
//! figures mean nothing without it.

use std::process::Command;

fn file(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// What `program args…` printed, trimmed; `unknown` when it could not run or failed.
pub fn command(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

/// The CPU's model name.
pub fn cpu() -> String {
    file("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned())
}

/// Total memory, in GiB.
pub fn memory() -> String {
    file("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            // A size for people to read, never an amount of money.
            #[allow(clippy::cast_precision_loss)]
            |kb| format!("{:.1} GiB", kb as f64 / 1_048_576.0),
        )
}

/// The distribution and the kernel.
pub fn os() -> String {
    let distro = file("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map_or("Linux", |v| v.trim_matches('"'))
        .to_owned();
    let kernel = file("/proc/sys/kernel/osrelease").trim().to_owned();
    format!("{distro}, kernel {kernel}")
}

/// The commit measured, marked when the work tree had uncommitted changes.
pub fn git_commit() -> String {
    let commit = command("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = command("git", &["status", "--porcelain", "--untracked-files=no"]);
    if dirty.is_empty() || dirty == "unknown" {
        commit
    } else {
        format!("{commit} (with uncommitted changes)")
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
