//! `paygate serve` as a child process, for the `serve_*` tests: a temp data dir, port 0, the
//! listening line parsed, output collected for failure messages, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a start may take: the first start generates three RSA keys.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `paygate serve`.
pub struct Paygate {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<String>>,
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

/// `paygate ARGS…` with the test's environment cleaned of paygate's own variables, so that a
/// developer's shell cannot change what a test sees.
pub fn paygate_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PAYGATE_") {
            cmd.env_remove(key);
        }
    }
    // Port 0: tests run many paygates at once, which would collide on the default metrics port.
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("RUST_LOG", "info")
        .env("PAYGATE_METRICS_LISTEN", "127.0.0.1:0");
    cmd
}

impl Paygate {
    pub fn start(options: ServeOptions<'_>) -> Self {
        let mut cmd = paygate_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(options.data_dir)
            .args(&options.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn paygate serve");
        let (log, rx) = super::capture(&mut child, "[stdout] ");
        let mut paygate = Self {
            child,
            url: String::new(),
            log,
        };
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| {
            let status = paygate.child.try_wait().ok().flatten();
            panic!(
                "paygate serve printed no listening line (exit status {status:?})\n{}",
                paygate.log()
            )
        });
        let url = line
            .strip_prefix("paygate listening on ")
            .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"))
            .trim()
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        paygate.url = url;
        paygate
    }

    /// Everything printed so far; stderr lines plain, stdout lines marked.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (stderr is read by a thread, a little behind).
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < deadline, "{needle:?} not in log:\n{log}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT/metrics`, as the start announced it on stderr.
    pub fn metrics_url(&self) -> String {
        let log = self.wait_for_log("paygate metrics on ");
        log.split("paygate metrics on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("metrics URL")
            .to_owned()
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "exit {status}\n{}", self.log());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Paygate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let path: PathBuf = data_dir.join("sim/wechat.json");
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["orders"].as_object().cloned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Background work (issue 5): scaled schedules, sites with a notify URL, a site's receiver
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

impl Paygate {
    /// SIGTERM; asserts a clean exit (status 0) and returns how long it took, with everything
    /// the process printed (its shutdown included).
    pub fn stop_timed(self) -> (Duration, String) {
        let log = Arc::clone(&self.log);
        let started = Instant::now();
        self.stop();
        let took = started.elapsed();
        // The reader threads may lag the exit by a moment.
        thread::sleep(Duration::from_millis(100));
        let text = log.lock().map(|l| l.clone()).unwrap_or_default();
        (took, text)
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

/// Polls `probe` every 20 ms until it gives `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How a [`Receiver`] answers one notification.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    /// Waits this long before answering (a slow site).
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            delay: Duration::ZERO,
        }
    }

    pub fn slow(status: u16, delay: Duration) -> Self {
        Self { status, delay }
    }
}

/// One notification as the site received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    /// A header by lower-case name ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("notification body is JSON")
    }
}

#[derive(Default)]
struct ReceiverShared {
    script: Mutex<std::collections::VecDeque<Answer>>,
    seen: Mutex<Vec<Received>>,
}

/// A site's notification endpoint (axum), on its own thread and runtime so that it keeps
/// answering while the test blocks (waiting for a process, running the CLI). It records every
/// request and answers from its script, then 200.
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    shared: Arc<ReceiverShared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Receiver {
    /// On a fresh loopback port.
    pub fn start(script: Vec<Answer>) -> Self {
        Self::start_at("127.0.0.1:0".parse().expect("addr"), script)
    }

    /// On `addr` (a site that was down comes back on the same port).
    pub fn start_at(addr: std::net::SocketAddr, script: Vec<Answer>) -> Self {
        let listener = std::net::TcpListener::bind(addr).expect("bind the receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("receiver addr");
        let shared = Arc::new(ReceiverShared {
            script: Mutex::new(script.into()),
            seen: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = axum::Router::new().fallback(receive).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/notify`.
    pub fn url(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Received> {
        self.shared
            .seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `n` requests came, for at most `within`; returns them all.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{} notification(s) received, {n} expected",
                seen.len()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops listening (the port is free when this returns).
    pub fn shut_down(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.halt();
    }
}

async fn receive(
    axum::extract::State(shared): axum::extract::State<Arc<ReceiverShared>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, &'static str) {
    let received = Received {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
    };
    if let Ok(mut seen) = shared.seen.lock() {
        seen.push(received);
    }
    let answer = shared
        .script
        .lock()
        .ok()
        .and_then(|mut s| s.pop_front())
        .unwrap_or(Answer::status(200));
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let status = axum::http::StatusCode::from_u16(answer.status).expect("status");
    let text = if status.is_success() {
        "SUCCESS"
    } else {
        "boom: the site is having a bad day"
    };
    (status, text)
}

/// Whether `interop/verify_notification.mjs` (the README's Node.js snippet) accepts it.
pub fn node_accepts(sk: &str, n: &Received) -> bool {
    use std::io::Write as _;
    let mut child = Command::new("node")
        .arg(super::interop_dir().join("verify_notification.mjs"))
        .env("PAYGATE_SK", sk)
        .env("X_1PASS_TS", n.header("x-1pass-ts"))
        .env("X_1PASS_NONCE", n.header("x-1pass-nonce"))
        .env("X_1PASS_SIGN", n.header("x-1pass-sign"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (Node.js 18+) must be installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&n.body)
        .expect("write body");
    let out = child.wait_with_output().expect("node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "verify_notification.mjs: {stderr}");
    out.status.success()
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
