//! `paygate serve` as a child process, for the `serve_*` tests: a temp data dir, port 0, the
//! banner read for its URL, output kept for failure messages, killed when dropped. Starting and
//! stopping the process, the site's receiver and the README's snippets come from `test_support`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::process::{Log, Prefixes, Process};
use test_support::receiver::Received;

/// How long a start may take: the first start generates three RSA keys.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a line may take to reach the log (stderr is read by a thread, a little behind).
const LOG_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop may take after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `paygate serve`.
pub struct Paygate {
    process: Process,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// How to start one: the data dir plus extra arguments and environment.
pub struct ServeOptions<'a> {
    pub data_dir: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl<'a> ServeOptions<'a> {
    pub fn new(data_dir: &'a Path) -> Self {
        Self {
            data_dir,
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }
}

/// `paygate ARGS…` with the test's environment cleaned of paygate's own variables (see
/// `test_support::paygate::command`).
pub fn paygate_command() -> Command {
    test_support::paygate::command(super::bin())
}

impl Paygate {
    pub fn start(options: ServeOptions<'_>) -> Self {
        let mut cmd = paygate_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(options.data_dir)
            .args(&options.args);
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        // stdout lines are marked: a test checks that the banner is the only one.
        let prefixes = Prefixes {
            stdout: "[stdout] ".to_owned(),
            stderr: String::new(),
        };
        let (process, url) = test_support::paygate::start(
            cmd,
            &Log::new(),
            &prefixes,
            test_support::paygate::SERVE_BANNER,
            START_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("paygate serve did not start: {e}"));
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        Self { process, url }
    }

    /// Everything printed so far; stderr lines plain, stdout lines marked.
    pub fn log(&self) -> String {
        self.process.log().text()
    }

    /// Waits until the log contains `needle`; returns the whole log.
    pub fn wait_for_log(&self, needle: &str) -> String {
        if let Err(e) = self.process.log().wait_for_line(needle, LOG_TIMEOUT) {
            panic!("{e}");
        }
        self.log()
    }

    /// `http://127.0.0.1:PORT/metrics`, as the start announced it on stderr.
    pub fn metrics_url(&self) -> String {
        test_support::paygate::metrics_url(self.process.log(), LOG_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill(mut self) {
        self.process.kill();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(self) {
        self.stop_timed();
    }

    /// SIGTERM; asserts a clean exit (status 0) and returns how long it took, with everything
    /// the process printed (its shutdown included).
    pub fn stop_timed(mut self) -> (Duration, String) {
        let started = Instant::now();
        let status = self
            .process
            .terminate(STOP_TIMEOUT)
            .unwrap_or_else(|e| panic!("paygate serve: {e}"));
        let took = started.elapsed();
        let log = self.log();
        assert!(status.success(), "exit {status}\n{log}");
        (took, log)
    }
}

/// Runs `paygate ARGS…` to completion.
pub fn paygate_run(args: &[&str], data_dir: &Path) -> Output {
    paygate_command()
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run paygate")
}

/// What a command run with `--json` printed, once it succeeded.
pub fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// A site's keys as `paygate site create --json` prints them.
#[derive(Debug, Clone)]
pub struct SiteKeys {
    pub site_id: String,
    pub ak: String,
    pub sk: String,
}

pub fn create_site(data_dir: &Path, name: &str) -> SiteKeys {
    site_keys(&paygate_run(
        &["site", "create", "--name", name, "--json"],
        data_dir,
    ))
}

/// The keys `paygate site create --json` printed; asserts that it succeeded.
pub fn site_keys(out: &Output) -> SiteKeys {
    assert!(
        out.status.success(),
        "site create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("site create --json prints JSON");
    let field = |k: &str| v[k].as_str().expect(k).to_owned();
    SiteKeys {
        site_id: field("site_id"),
        ak: field("ak"),
        sk: field("sk"),
    }
}

/// A signed request as the seed's example signs it (`X-1Pass-*`), with the product's own signer.
pub fn signed(
    http: &reqwest::Client,
    base: &str,
    keys: &SiteKeys,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    let nonce_text = channel_core::nonce::alphanumeric(32);
    let nonce = gateway::domain::ApiNonce::parse(&nonce_text).expect("nonce");
    let canonical =
        gateway::signing::canonical(&ts, &nonce, method.as_str(), path, body.as_bytes());
    let sign = gateway::signing::sign(&keys.sk, &canonical);
    http.request(method, format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .header("X-1Pass-AK", &keys.ak)
        .header("X-1Pass-Ts", ts)
        .header("X-1Pass-Nonce", nonce_text)
        .header("X-1Pass-Sign", sign)
        .body(body.to_owned())
}

/// A client for loopback only (never a proxy from the environment).
pub fn http() -> reqwest::Client {
    super::loopback_client(Duration::from_secs(30))
}

/// The simulator's persisted WeChat Pay orders (`<data-dir>/sim/wechat.json`), keyed
/// `mchid||out_trade_no`.
pub fn sim_wechat_orders(data_dir: &Path) -> serde_json::Map<String, Value> {
    test_support::sim::wechat_orders(&data_dir.join("sim"))
}

// ---------------------------------------------------------------------------------------------
// Background work: scaled schedules, sites with a notify URL
// ---------------------------------------------------------------------------------------------

impl ServeOptions<'_> {
    /// The background schedules scaled down a thousand times (15 s → 15 ms, the 1 min order check
    /// → 60 ms) and workers polling every 50 ms.
    pub fn fast_workers(self) -> Self {
        self.env("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001")
            .env("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.001")
            .env("PAYGATE_WORKERS_POLL_INTERVAL", "50ms")
    }
}

/// `paygate site create --notify-url URL --json`.
pub fn create_site_notifying(data_dir: &Path, name: &str, notify_url: &str) -> SiteKeys {
    let out = paygate_run(
        &[
            "site",
            "create",
            "--name",
            name,
            "--notify-url",
            notify_url,
            "--json",
        ],
        data_dir,
    );
    site_keys(&out)
}

/// Whether `interop/verify_notification.mjs` (the README's Node.js snippet) accepts it.
pub fn node_accepts(sk: &str, n: &Received) -> bool {
    test_support::snippets::accepts("verify_notification.mjs", sk, n, &n.body)
}

// ---------------------------------------------------------------------------------------------
// Requests the serve_* tests make again and again
// ---------------------------------------------------------------------------------------------

/// Sends a signed request to `pg`, asserts a 200 (with the answer and paygate's log) and returns
/// the JSON answer.
pub async fn signed_ok(
    pg: &Paygate,
    keys: &SiteKeys,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> Value {
    let r = signed(&http(), &pg.url, keys, method, path, body)
        .send()
        .await
        .expect("send the signed request");
    let status = r.status();
    let v: Value = r.json().await.expect("a JSON answer");
    assert_eq!(status, 200, "{v}\n{}", pg.log());
    v
}

/// A WeChat Pay Native order on the seed's route (`POST /pay/wechat/native`, 2990 fen); returns
/// the answer, asserted 200.
pub async fn create_native(pg: &Paygate, keys: &SiteKeys, out_trade_no: &str) -> Value {
    let body = serde_json::json!({"out_trade_no": out_trade_no, "description": "VIP月卡", "amount_total": 2990})
        .to_string();
    signed_ok(pg, keys, reqwest::Method::POST, "/pay/wechat/native", &body).await
}

/// The `token` of an order's `checkout_url`.
pub fn checkout_token(order: &Value) -> String {
    let url = order["checkout_url"].as_str().expect("checkout_url");
    url.split("token=").nth(1).expect("token=").to_owned()
}

/// An unsigned GET; the JSON answer, whatever the status.
pub async fn get_json(url: &str) -> Value {
    http()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON ({e})"))
}

/// `paygate site ARGS…` on the data dir `data`.
pub fn site_cmd(data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["site"];
    all.extend_from_slice(args);
    paygate_run(&all, data)
}

/// The command failed, and said `needle` on stderr.
pub fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}
