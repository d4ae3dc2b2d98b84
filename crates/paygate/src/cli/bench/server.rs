//! paygate under test: `paygate serve`, this same executable, started as a process of its own on a
//! throwaway data dir (and, on PostgreSQL, a throwaway database), in sandbox mode as shipped, but
//! for three settings: the request rate limit is off (a benchmark is one client sending far more
//! than any one client should), unpaid orders are first checked after an hour rather than a minute
//! (so that checking the run's own orders is not measured with the later scenarios), and
//! `/metrics` is on a free port. Its memory and CPU time are read from
//! `/proc`, as an operator's tools would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use sqlx::Connection as _;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cli::merchant;

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Where paygate keeps its data for one run.
pub struct Data {
    pub dir: tempfile::TempDir,
    /// `None`: SQLite in the data dir, as `serve` defaults to.
    pub database: Option<ThrowawayDatabase>,
}

impl Data {
    /// A new data dir in the system's temporary dir and, for PostgreSQL, a new database on the
    /// server `admin_url` names.
    pub async fn new(backend: Backend, admin_url: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("paygate-bench-")
            .tempdir()
            .context("a temporary data dir")?;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(ThrowawayDatabase::create(admin_url).await?),
        };
        Ok(Self { dir, database })
    }

    /// Points a `paygate` command at this data, through the environment rather than flags: a
    /// database URL may carry a password, which a process's arguments show to every user.
    fn point_at(&self, cmd: &mut Command) {
        cmd.env("PAYGATE_DATA_DIR", self.dir.path());
        if let Some(db) = &self.database {
            // A PostgreSQL database is a sandbox only when asked.
            cmd.env("PAYGATE_DATABASE_URL", &db.url)
                .env("PAYGATE_SANDBOX", "true");
        }
    }

    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some(db) = self.database {
            db.drop_it().await?;
        }
        self.dir.close().context("removing the data dir")
    }
}

/// A database created for one run and dropped after it.
pub struct ThrowawayDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ThrowawayDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let mut bytes = [0u8; 6];
        channel_core::nonce::fill(&mut bytes);
        let name = format!("paygate_bench_{}", hex::encode(bytes));
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redacted(admin_url)))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let _ = admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => bail!("--postgres-url must end with /DATABASE"),
        };
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        })
    }

    async fn drop_it(self) -> anyhow::Result<()> {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("DROP DATABASE {}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// A URL without its password, to be shown.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:…@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A running `paygate serve`.
pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `http://127.0.0.1:PORT/metrics`.
    pub metrics_url: String,
    /// The sandbox's simulator.
    pub sim_url: String,
    /// What it wrote on stderr after starting (warnings and errors only: `RUST_LOG=warn`).
    log: Arc<Mutex<Vec<String>>>,
}

/// The site the benchmark plays.
pub struct SiteKeys {
    pub ak: String,
    pub sk: String,
}

fn paygate() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("finding this paygate executable")
}

/// `paygate <args>` on `data`, with none of the caller's `PAYGATE_*` settings: they could point it
/// at a real data dir, database or master key.
fn command(args: &[&str], data: &Data) -> anyhow::Result<Command> {
    let mut cmd = Command::new(paygate()?);
    cmd.args(args).kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PAYGATE_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "warn").env("NO_COLOR", "1");
    data.point_at(&mut cmd);
    Ok(cmd)
}

impl Server {
    pub async fn start(data: &Data) -> anyhow::Result<Self> {
        let mut cmd = command(&["serve", "--listen", "127.0.0.1:0"], data)?;
        cmd.env("PAYGATE_HTTP_RATE_LIMIT", "0")
            // The run leaves tens of thousands of orders unpaid; their checks (60 s after each,
            // as shipped) would run during the later scenarios and be measured with them.
            .env("PAYGATE_COMPENSATION_SCHEDULE", "1h")
            .env("PAYGATE_METRICS_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting paygate serve")?;
        let pid = child.id().context("paygate serve ended at once")?;
        let stdout = child.stdout.take().context("paygate's stdout")?;
        let stderr = child.stderr.take().context("paygate's stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (metrics_tx, metrics_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(read_stderr(stderr, Arc::clone(&log), metrics_tx));
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("paygate serve did not start within 60 s")??;
        let url = listening
            .as_deref()
            .and_then(|l| l.strip_prefix("paygate listening on "))
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "paygate serve did not start: {}",
                    log.lock().map(|l| l.join(" | ")).unwrap_or_default()
                )
            })?;
        // Nothing more comes on stdout; keep reading so paygate never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let metrics_url = tokio::time::timeout(Duration::from_secs(10), metrics_rx)
            .await
            .context("paygate did not say where /metrics is")?
            .context("paygate did not say where /metrics is")?;
        let http = merchant::loopback_client(Duration::from_secs(10))?;
        let info: Value = http
            .get(format!("{url}/sandbox/info"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let text = |field: &str| {
            info[field]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("GET /sandbox/info has no {field}: is paygate a sandbox?"))
        };
        Ok(Self {
            pid,
            url,
            metrics_url,
            sim_url: text("sim_url")?,
            child,
            log,
        })
    }

    /// Creates the benchmark's site as an operator would, with `paygate site create` beside the
    /// running server.
    pub async fn create_site(data: &Data, notify_url: &str) -> anyhow::Result<SiteKeys> {
        let args = [
            "site",
            "create",
            "--name",
            "paygate bench",
            "--notify-url",
            notify_url,
            "--methods",
            "wechat.native,alipay.qr",
            "--json",
        ];
        let out = command(&args, data)?
            .stdin(Stdio::null())
            .output()
            .await
            .context("running paygate site create")?;
        if !out.status.success() {
            bail!(
                "paygate site create failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let created: Value =
            serde_json::from_slice(&out.stdout).context("paygate site create --json")?;
        let field = |name: &str| {
            created[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("paygate site create gave no {name}"))
        };
        Ok(SiteKeys {
            ak: field("ak")?,
            sk: field("sk")?,
        })
    }

    /// Resident memory now and at its peak so far.
    pub fn memory(&self) -> Memory {
        memory_of(self.pid)
    }

    /// CPU time used so far (user + system).
    pub fn cpu_time(&self) -> Duration {
        cpu_time_of(self.pid)
    }

    /// A counter of paygate's `/metrics` (summed over its labels), e.g. `paygate_db_queries_total`.
    pub async fn metric(&self, http: &reqwest::Client, name: &str) -> anyhow::Result<f64> {
        let text = http
            .get(&self.metrics_url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(sum_metric(&text, name))
    }

    /// What paygate logged at warning level or above since it started.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops paygate as an operator would (SIGTERM), killing it if it has not stopped in 15 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => bail!("paygate serve exited with {status}"),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("paygate serve did not stop within 15 s of SIGTERM")
            }
        }
    }
}

/// Keeps paygate's stderr flowing: sends where `/metrics` is, then keeps its last lines.
async fn read_stderr(
    stderr: tokio::process::ChildStderr,
    log: Arc<Mutex<Vec<String>>>,
    metrics: tokio::sync::oneshot::Sender<String>,
) {
    let mut metrics = Some(metrics);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(addr) = line.strip_prefix("paygate metrics on ") {
            if let Some(tx) = metrics.take() {
                let _ = tx.send(addr.trim().to_owned());
            }
            continue;
        }
        // The sandbox banner and the demo site's keys come before the metrics line; what comes
        // after is the log.
        if metrics.is_none() && !line.trim().is_empty() {
            if let Ok(mut log) = log.lock() {
                if log.len() < 200 {
                    log.push(line);
                }
            }
        }
    }
}

/// The sum of every sample of metric `name` in Prometheus text.
fn sum_metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Resident memory, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Memory {
        rss: kib("VmRSS:"),
        peak: kib("VmHWM:"),
    }
}

/// utime + stime of `/proc/PID/stat`, in the kernel's clock ticks of 1/100 s (`USER_HZ`, 100 on
/// every Linux architecture paygate builds for).
fn cpu_time_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name, in parentheses, may hold spaces: count fields after its closing one.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The data dir's file system, e.g. `ext4 on /dev/vda (/)`.
pub fn filesystem_of(dir: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?, f.next()?, f.next()?))
        })
        .filter(|(_, at, _)| dir.starts_with(at))
        .max_by_key(|(_, at, _)| at.len())
        .map_or_else(
            || "unknown".to_owned(),
            |(dev, at, fs)| format!("{fs} on {dev} ({at})"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_summed_over_their_labels() {
        let text = "# TYPE x counter\npaygate_db_queries_total 12\n\
                    paygate_http_requests_total{route=\"/a\"} 3\n\
                    paygate_http_requests_total{route=\"/b\"} 4\n\
                    paygate_http_requests_total_other 100\n";
        assert!((sum_metric(text, "paygate_db_queries_total") - 12.0).abs() < f64::EPSILON);
        assert!((sum_metric(text, "paygate_http_requests_total") - 7.0).abs() < f64::EPSILON);
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("postgres://u:secret@host:5432/db"),
            "postgres://u:…@host:5432/db"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
    }

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let me = std::process::id();
        assert!(memory_of(me).rss > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0);
        }
        assert!(cpu_time_of(me) > Duration::ZERO);
    }
}
