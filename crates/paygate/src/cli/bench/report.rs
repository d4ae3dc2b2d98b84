//! The report: every row with its bound and its ratio to it, the memory rows, the machine, and the
//! chart; as Markdown (`RESULTS.md`), as JSON (`RESULTS.json`, for tools) and on stdout.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::bounds::Bounds;
use super::load::Run;

/// What a row's throughput is read against.
#[derive(Debug, Clone)]
pub struct Bound {
    /// How it is derived, e.g. `RSA ÷ 2`.
    pub name: String,
    pub per_second: f64,
}

impl Bound {
    pub fn new(name: impl Into<String>, per_second: f64) -> Self {
        Self {
            name: name.into(),
            per_second,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub load: String,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub throughput: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub bound: Option<Bound>,
    /// paygate's peak resident memory by the end of the row.
    pub peak_rss: u64,
    pub note: Option<String>,
}

impl Row {
    pub fn new(
        scenario: &str,
        backend: &str,
        load: String,
        run: &Run,
        bound: Option<Bound>,
        peak_rss: u64,
    ) -> Self {
        Self {
            scenario: scenario.to_owned(),
            backend: backend.to_owned(),
            load,
            requests: run.requests(),
            errors: run.errors,
            first_error: run.first_error.clone(),
            throughput: run.throughput(),
            p50: run.quantile(0.5),
            p90: run.quantile(0.9),
            p99: run.quantile(0.99),
            max: run.max(),
            bound,
            peak_rss,
            note: None,
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.bound
            .as_ref()
            .filter(|b| b.per_second > 0.0)
            .map(|b| self.throughput / b.per_second)
    }
}

/// What paygate holds in memory: idle, and with checkout pages open on their status streams.
#[derive(Debug, Clone)]
pub struct MemoryRow {
    pub what: String,
    pub backend: String,
    pub rss: u64,
    /// Above what it held just before (the streams' own cost).
    pub extra: Option<u64>,
    /// paygate's CPU use meanwhile, in cores (1.0 = one core busy).
    pub cpu: Option<f64>,
    /// Database queries per second meanwhile, and per open stream per second.
    pub queries_per_second: Option<f64>,
    pub per_stream_per_second: Option<f64>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl MemoryRow {
    pub fn idle(backend: &str, rss: u64) -> Self {
        Self {
            what: "idle, after start".to_owned(),
            backend: backend.to_owned(),
            rss,
            extra: None,
            cpu: None,
            queries_per_second: None,
            per_stream_per_second: None,
            errors: 0,
            first_error: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn streams(
        backend: &str,
        open: usize,
        errors: u64,
        first_error: Option<String>,
        before: u64,
        after: u64,
        cpu: f64,
        queries_per_second: f64,
    ) -> Self {
        // Stream counts far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let per_stream = (open > 0).then(|| queries_per_second / open as f64);
        Self {
            what: format!("{open} checkout pages open on GET /pay/events"),
            backend: backend.to_owned(),
            rss: after,
            extra: Some(after.saturating_sub(before)),
            cpu: Some(cpu),
            queries_per_second: Some(queries_per_second),
            per_stream_per_second: per_stream,
            errors,
            first_error,
        }
    }
}

/// The machine and the run, read the same way every time: the figures mean nothing without them.
#[derive(Debug, Clone)]
pub struct Machine {
    pub date: String,
    pub commit: String,
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub os: String,
    pub build: &'static str,
    pub filesystem: String,
    pub load_start: String,
    pub load_end: String,
}

pub struct Report {
    pub quick: bool,
    pub machine: Machine,
    pub bounds: Bounds,
    pub rows: Vec<Row>,
    pub memory: Vec<MemoryRow>,
    /// Notes on rows or scenarios that could not run as planned.
    pub notes: Vec<String>,
    pub run_time: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    // A size for people to read, never an amount of money.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / 1_048_576.0;
    format!("{mib:.1}")
}

impl Report {
    /// The table of results, as printed and as in `RESULTS.md`.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| scenario | database | load | requests | errors | throughput (/s) | bound (/s) | ratio | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | peak RSS (MiB) |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let bound = r.bound.as_ref().map_or_else(
                || "—".to_owned(),
                |b| format!("{:.0} ({})", b.per_second, b.name),
            );
            let ratio = r
                .ratio()
                .map_or_else(|| "—".to_owned(), |x| format!("{:.0}%", x * 100.0));
            let _ = writeln!(
                out,
                "| {}{} | {} | {} | {} | {} | {:.0} | {bound} | {ratio} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.note
                    .as_ref()
                    .map_or_else(String::new, |n| format!(" ({n})")),
                r.backend,
                r.load,
                r.requests,
                r.errors,
                r.throughput,
                ms(r.p50),
                ms(r.p90),
                ms(r.p99),
                ms(r.max),
                mib(r.peak_rss),
            );
        }
        out
    }

    pub fn memory_table(&self) -> String {
        let mut out = String::from(
            "| paygate | database | RSS (MiB) | extra (MiB) | CPU (cores) | DB queries/s beyond idle | per page per s | errors |\n\
             |---|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for m in &self.memory {
            let opt = |v: Option<f64>, digits: usize| {
                v.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                m.what,
                m.backend,
                mib(m.rss),
                m.extra.map_or_else(|| "—".to_owned(), mib),
                opt(m.cpu, 3),
                opt(m.queries_per_second, 1),
                opt(m.per_stream_per_second, 4),
                m.errors,
            );
        }
        out
    }

    pub fn bounds_table(&self) -> String {
        let b = &self.bounds;
        format!(
            "| bound | measured |\n|---|---:|\n\
             | RSA-2048 signatures/s, {} threads (`channel_core::RsaPrivateKey::sign_base64`, aws-lc-rs) | {:.0} |\n\
             | fsyncs/s on the data dir (4 KiB append + `fdatasync`, one after the other) | {:.0} |\n",
            b.cores, b.rsa_signs, b.fsyncs
        )
    }

    /// Failures worth a line each: what went wrong, once per row.
    pub fn failures(&self) -> Vec<String> {
        let rows = self.rows.iter().filter(|r| r.errors > 0).map(|r| {
            format!(
                "{} ({}, {}): {} errors, first: {}",
                r.scenario,
                r.backend,
                r.load,
                r.errors,
                r.first_error.as_deref().unwrap_or("?")
            )
        });
        let memory = self.memory.iter().filter(|m| m.errors > 0).map(|m| {
            format!(
                "{} ({}): {} errors, first: {}",
                m.what,
                m.backend,
                m.errors,
                m.first_error.as_deref().unwrap_or("?")
            )
        });
        rows.chain(memory).collect()
    }

    fn machine_table(&self) -> String {
        let m = &self.machine;
        format!(
            "| | |\n|---|---|\n| date (UTC) | {} |\n| git commit | {} |\n| CPU | {} |\n| cores | {} |\n\
             | memory | {} |\n| OS | {} |\n| build | {} |\n| data dir's file system | {} |\n\
             | load average at start (1/5/15 min) | {} |\n| load average at end | {} |\n| run time | {:.0} s |\n",
            m.date,
            m.commit,
            m.cpu,
            m.cores,
            m.memory,
            m.os,
            m.build,
            m.filesystem,
            m.load_start,
            m.load_end,
            self.run_time.as_secs_f64()
        )
    }

    /// `RESULTS.md`: the generated part, between markers, so the analysis written under it by hand
    /// survives the next run.
    pub fn write(&self, dir: &Path, chart_svg: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let generated = format!(
            "{BEGIN}\n## The run\n\n{}\n## Bounds (measured in the same run)\n\n{}\n\
             ## Results\n\nEvery throughput is also given as a ratio to its bound: RSA ÷ n is the \
             machine's signatures per second divided by the RSA signatures one request needs \
             (an order: paygate signs the request, the simulator its answer; a callback: the \
             simulator signs it; a refund: paygate's request and the simulator's answer); \
             HTTP is `GET /healthz` on the same connections (paygate's HTTP stack alone); \
             fsync is the data dir's fsyncs per second.\n\n{}\n![latency against offered rate](chart.svg)\n\n\
             ## Memory, and checkout pages left open\n\n{}\n{}{END}\n",
            self.machine_table(),
            self.bounds_table(),
            self.table(),
            self.memory_table(),
            if self.notes.is_empty() {
                String::new()
            } else {
                format!(
                    "\n## Notes from the run\n\n{}\n",
                    self.notes
                        .iter()
                        .map(|n| format!("- {n}\n"))
                        .collect::<String>()
                )
            },
        );
        let path = dir.join("RESULTS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let text = match (old.find(BEGIN), old.find(END)) {
            (Some(b), Some(e)) if b < e => {
                format!(
                    "{}{}{}",
                    &old[..b],
                    generated.trim_end(),
                    &old[e + END.len()..]
                )
            }
            _ => format!("{HEADER}\n{generated}"),
        };
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        std::fs::write(dir.join("chart.svg"), chart_svg).context("writing chart.svg")?;
        let json = serde_json::to_string_pretty(&self.json())?;
        std::fs::write(dir.join("RESULTS.json"), json).context("writing RESULTS.json")?;
        Ok(())
    }

    fn json(&self) -> Value {
        let d = |d: Duration| d.as_secs_f64() * 1000.0;
        json!({
            "quick": self.quick,
            "machine": {
                "date": self.machine.date, "commit": self.machine.commit, "cpu": self.machine.cpu,
                "cores": self.machine.cores, "memory": self.machine.memory, "os": self.machine.os,
                "build": self.machine.build, "filesystem": self.machine.filesystem,
                "load_start": self.machine.load_start, "load_end": self.machine.load_end,
            },
            "bounds": {"rsa_signs_per_second": self.bounds.rsa_signs, "fsyncs_per_second": self.bounds.fsyncs},
            "rows": self.rows.iter().map(|r| json!({
                "scenario": r.scenario, "database": r.backend, "load": r.load, "requests": r.requests,
                "errors": r.errors, "throughput": r.throughput, "p50_ms": d(r.p50), "p90_ms": d(r.p90),
                "p99_ms": d(r.p99), "max_ms": d(r.max), "peak_rss": r.peak_rss,
                "bound": r.bound.as_ref().map(|b| json!({"name": b.name, "per_second": b.per_second})),
                "ratio": r.ratio(), "note": r.note,
            })).collect::<Vec<_>>(),
            "memory": self.memory.iter().map(|m| json!({
                "what": m.what, "database": m.backend, "rss": m.rss, "extra": m.extra, "cpu_cores": m.cpu,
                "queries_per_second": m.queries_per_second, "errors": m.errors,
            })).collect::<Vec<_>>(),
        })
    }
}

const BEGIN: &str = "<!-- paygate bench: begin -->";
const END: &str = "<!-- paygate bench: end -->";
const HEADER: &str = "# paygate bench\n\n\
Written by `cargo run --release -- bench` (`crates/paygate/src/cli/bench.rs`): paygate started as a \
process of its own (`paygate serve`, sandbox mode as shipped, the rate limit off), driven over \
loopback HTTP with keep-alive connections by the benchmark's process on the same machine. The part \
between the markers is replaced by each run; what follows it is written by hand.\n";
