//! Several processes working together, for the crash test (`serve_crash.rs`) and the many-node test
//! (`serve_nodes.rs`):
//!
//! - [`Postgres`]: a throwaway database (`pg_test_<random>`), created and dropped (also when the test
//!   panics) with `psql`, on `PAYGATE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - [`SimProcess`]: a standalone `paygate sim` (it outlives every paygate), with a WeChat Pay
//!   merchant and an Alipay app registered and a config file pointing paygate at it ([`Accounts`]);
//! - [`Node`]: `paygate serve` on a fixed port (so that a restart keeps the public URL the channels
//!   call back), SIGKILLed and restarted at will, killed when dropped;
//! - [`Receiver`]: the site's notification endpoint, recording every delivery (event id, order,
//!   arrival and answer times, signature check) and any two deliveries of one event in flight at once;
//! - [`SiteClient`]: creates orders as a site would, retrying the same body while paygate is down.
//!
//! Loopback only; every wait is bounded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::serve::{SiteKeys, paygate_command, signed, site_keys};

/// How long a `paygate serve` may take to print its listening line.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Randomness that can be replayed
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, seeded, good enough to pick kill moments and delays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// `PAYGATE_TEST_SEED` (to replay a failed run), else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("PAYGATE_TEST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A port that was free a moment ago (a node keeps it across restarts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Unix milliseconds now (the unit of every time column).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Output of child processes
// ---------------------------------------------------------------------------------------------

/// The last lines a child (or several generations of one) printed, for failure messages.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<VecDeque<String>>>);

impl Log {
    const KEEP: usize = 400;

    pub fn push(&self, line: String) {
        let mut lines = lock(&self.0);
        if lines.len() >= Self::KEEP {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn text(&self) -> String {
        let lines = lock(&self.0);
        let mut out = String::new();
        for line in lines.iter() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Copies `reader`'s lines into `log` (prefixed); the first line also goes to `first`.
fn pipe(
    reader: impl AsyncRead + Unpin + Send + 'static,
    log: Log,
    prefix: String,
    first: Option<oneshot::Sender<String>>,
) {
    tokio::spawn(async move {
        let mut first = first;
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.push(format!("{prefix}{line}"));
            if let Some(tx) = first.take() {
                let _ = tx.send(line);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

/// A throwaway PostgreSQL database, dropped (`WITH (FORCE)`) when this is dropped.
pub struct Postgres {
    admin_url: String,
    pub name: String,
    /// The database's URL, for `--database-url`.
    pub url: String,
}

impl Postgres {
    pub async fn create() -> Self {
        let admin_url = std::env::var("PAYGATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!(
            "pg_test_{}",
            channel_core::nonce::alphanumeric(16).to_lowercase()
        );
        if let Err(e) = psql(&admin_url, &format!("CREATE DATABASE {name}")).await {
            panic!(
                "cannot create a PostgreSQL database on {admin_url} (set PAYGATE_TEST_POSTGRES_URL; \
                 the test needs PostgreSQL and `psql`): {e}"
            );
        }
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _db)| server);
        let url = format!("{server}/{name}{query}");
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Rows of a query, each a list of text fields (NULL is the empty string).
    pub async fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let out = psql(&self.url, sql)
            .await
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e}"));
        out.lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\u{1f}').map(str::to_owned).collect())
            .collect()
    }

    /// The one value of a one-row, one-column query.
    pub async fn scalar(&self, sql: &str) -> String {
        self.query(sql)
            .await
            .first()
            .and_then(|row| row.first().cloned())
            .unwrap_or_default()
    }

    /// Every order: (upstream_order_no → order).
    pub async fn orders(&self) -> HashMap<String, PaygateOrder> {
        self.query("SELECT upstream_order_no, out_trade_no, status FROM orders")
            .await
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [upstream, out_trade_no, status] => Some((
                    upstream.clone(),
                    PaygateOrder {
                        out_trade_no: out_trade_no.clone(),
                        status: status.clone(),
                    },
                )),
                _ => None,
            })
            .collect()
    }

    /// Every `TRANSACTION.SUCCESS` event: out_trade_no → (event id, status).
    pub async fn success_events(&self) -> HashMap<String, (String, String)> {
        self.query(
            "SELECT o.out_trade_no, e.id, e.status FROM notification_events e \
             JOIN orders o ON o.id = e.order_id WHERE e.event_type = 'TRANSACTION.SUCCESS'",
        )
        .await
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [no, id, status] => Some((no.clone(), (id.clone(), status.clone()))),
            _ => None,
        })
        .collect()
    }

    /// What the database knows about one order, for failure messages.
    pub async fn explain(&self, out_trade_no: &str) -> String {
        let no = out_trade_no.replace('\'', "");
        let order = self
            .query(&format!(
                "SELECT id, status, upstream_order_no FROM orders WHERE out_trade_no = '{no}'"
            ))
            .await;
        let jobs = self
            .query(&format!(
                "SELECT j.kind, j.subject, j.due_at, j.attempt, j.lease_owner, j.lease_until FROM jobs j \
                 WHERE j.subject IN (SELECT CAST(id AS TEXT) FROM orders WHERE out_trade_no = '{no}') \
                 OR j.subject IN (SELECT e.id FROM notification_events e JOIN orders o ON o.id = e.order_id \
                                  WHERE o.out_trade_no = '{no}')"
            ))
            .await;
        let events = self
            .query(&format!(
                "SELECT e.id, e.status, e.attempts FROM notification_events e JOIN orders o \
                 ON o.id = e.order_id WHERE o.out_trade_no = '{no}'"
            ))
            .await;
        let attempts = self
            .query(&format!(
                "SELECT a.event_id, a.attempt_no, a.at, a.http_status, a.error, a.node FROM delivery_attempts a \
                 JOIN notification_events e ON e.id = a.event_id JOIN orders o ON o.id = e.order_id \
                 WHERE o.out_trade_no = '{no}' ORDER BY a.at"
            ))
            .await;
        format!(
            "{out_trade_no}: order {order:?}, jobs {jobs:?}, events {events:?}, attempts {attempts:?} (now {})",
            unix_ms()
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.admin_url,
                "-c",
                &sql,
            ])
            .stdin(Stdio::null())
            .output();
        match dropped {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "could not drop {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("could not drop {}: {e}", self.name),
        }
    }
}

/// An order as paygate stored it.
#[derive(Debug, Clone)]
pub struct PaygateOrder {
    pub out_trade_no: String,
    pub status: String,
}

async fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-F",
            "\u{1f}",
        ])
        .args(["-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .map_err(|_| "psql took over 30 s".to_owned())?
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// The standalone simulator
// ---------------------------------------------------------------------------------------------

/// `paygate sim --time-scale S --state-dir <temp>`: WeChat Pay and Alipay, outliving every paygate.
pub struct SimProcess {
    _child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state_dir: tempfile::TempDir,
    log: Log,
}

impl SimProcess {
    pub async fn start(time_scale: f64) -> Self {
        let state_dir = tempfile::tempdir().expect("sim state dir");
        let log = Log::default();
        let mut cmd = Command::from(paygate_command());
        cmd.args(["sim", "--listen", "127.0.0.1:0", "--time-scale"])
            .arg(time_scale.to_string())
            .arg("--state-dir")
            .arg(state_dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn paygate sim");
        let (tx, rx) = oneshot::channel();
        pipe(
            child.stdout.take().expect("sim stdout"),
            log.clone(),
            "[sim] ".into(),
            Some(tx),
        );
        pipe(
            child.stderr.take().expect("sim stderr"),
            log.clone(),
            "[sim] ".into(),
            None,
        );
        let line = match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(line)) => line,
            _ => panic!("paygate sim printed no address line\n{}", log.text()),
        };
        let url = super::sim_url(&line);
        Self {
            _child: child,
            url,
            state_dir,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Upstream order number → trade state, of both channels, from the simulator's state files
    /// (written before the simulator answers, renamed into place: never half-written).
    pub fn upstream_states(&self) -> HashMap<String, String> {
        let read = |name: &str, map: &str, state: &str| -> Vec<(String, String)> {
            let path = self.state_dir.path().join(name);
            let Some(v) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            else {
                return Vec::new();
            };
            v[map]
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|o| {
                            Some((
                                o["out_trade_no"].as_str()?.to_owned(),
                                o[state].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut all: HashMap<String, String> =
            read("wechat.json", "orders", "state").into_iter().collect();
        all.extend(read("alipay.json", "trades", "status"));
        all
    }

    /// The upstream order numbers that are paid (WeChat Pay `SUCCESS`/`REFUND`, Alipay
    /// `TRADE_SUCCESS`/`TRADE_FINISHED`).
    pub fn paid_upstream(&self) -> HashSet<String> {
        self.upstream_states()
            .into_iter()
            .filter(|(_, s)| upstream_paid(s))
            .map(|(no, _)| no)
            .collect()
    }
}

pub fn upstream_paid(state: &str) -> bool {
    matches!(
        state,
        "SUCCESS" | "REFUND" | "TRADE_SUCCESS" | "TRADE_FINISHED"
    )
}

/// The two channels, as `/v1/orders` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Wechat,
    Alipay,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Alipay => "alipay",
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Self::Wechat => "native",
            Self::Alipay => "qr",
        }
    }
}

/// A WeChat Pay merchant and an Alipay app registered with the simulator, and a paygate config
/// file (`[wechat]` and `[alipay]`) using them.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub config: PathBuf,
    pub mchid: String,
    pub alipay_app_id: String,
    sim_url: String,
}

impl Accounts {
    pub async fn register(sim: &SimProcess, dir: &Path) -> Self {
        let ((wechat_private, wechat_public), (alipay_private, alipay_public)) =
            tokio::task::spawn_blocking(|| (super::key_pair(), super::key_pair()))
                .await
                .expect("key generation");
        let mchid = format!("19{}", super::digits(8));
        let appid = format!("wx{}", super::digits(16));
        let serial = super::hex_upper(40);
        let apiv3 = channel_core::nonce::alphanumeric(32);
        let registered = post_json(
            &format!("{}/sim/wechat/merchants", sim.url),
            &json!({
                "mchid": mchid, "serial_no": serial, "merchant_public_key_pem": wechat_public,
                "apiv3_key": apiv3, "appids": [appid],
            }),
        )
        .await;
        let app_id = format!("2021{}", super::digits(12));
        let app = post_json(
            &format!("{}/sim/alipay/apps", sim.url),
            &json!({"app_id": app_id, "app_public_key_pem": alipay_public}),
        )
        .await;
        let field = |v: &Value, k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("no {k} in {v}"))
                .to_owned()
        };
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).expect("write a key file");
        };
        write("wechat_merchant.pem", &wechat_private);
        write("wechat_platform.pem", &field(&registered, "public_key_pem"));
        write("alipay_app.pem", &alipay_private);
        write("alipay_public.pem", &field(&app, "alipay_public_key_pem"));
        let config = dir.join("paygate.toml");
        std::fs::write(
            &config,
            format!(
                // Live mode against the simulator on loopback: no TLS proxy, plain http.
                "allow_http_public_url = true\n\n\
                 [wechat]\nmchid = \"{mchid}\"\nappid = \"{appid}\"\nmerchant_serial = \"{serial}\"\n\
                 merchant_key_file = \"wechat_merchant.pem\"\napiv3_key = \"{apiv3}\"\n\
                 public_key_id = \"{}\"\npublic_key_file = \"wechat_platform.pem\"\n\
                 api_base_url = \"{}\"\n\n\
                 [alipay]\napp_id = \"{app_id}\"\napp_private_key_file = \"alipay_app.pem\"\n\
                 alipay_public_key_file = \"alipay_public.pem\"\ngateway_url = \"{}/gateway.do\"\n\
                 seller_id = \"{}\"\n",
                field(&registered, "public_key_id"),
                sim.url,
                sim.url,
                field(&app, "seller_id"),
            ),
        )
        .expect("write paygate.toml");
        Self {
            config,
            mchid,
            alipay_app_id: app_id,
            sim_url: sim.url.clone(),
        }
    }

    /// The payer pays the upstream order in the simulator (its control API).
    pub async fn pay(&self, channel: Channel, upstream_no: &str) -> Result<(), String> {
        let url = match channel {
            Channel::Wechat => format!(
                "{}/sim/wechat/orders/{upstream_no}/pay?mchid={}",
                self.sim_url, self.mchid
            ),
            Channel::Alipay => format!(
                "{}/sim/alipay/trades/{upstream_no}/pay?app_id={}",
                self.sim_url, self.alipay_app_id
            ),
        };
        let r = http()
            .post(&url)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = r.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST {url}: {status} {}",
                r.text().await.unwrap_or_default()
            ))
        }
    }
}

async fn post_json(url: &str, body: &Value) -> Value {
    let r = http()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: not JSON ({e}): {text}"))
}

/// A client for loopback only (never a proxy from the environment).
pub fn http() -> reqwest::Client {
    super::loopback_client(Duration::from_secs(15))
}

// ---------------------------------------------------------------------------------------------
// paygate serve nodes
// ---------------------------------------------------------------------------------------------

/// How to start (and restart) one node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub database_url: String,
    /// Fixed, so a restart keeps the public URL (and so the channels' callback URLs).
    pub port: u16,
    /// `PAYGATE_PUBLIC_URL`: the node's own URL unless set (several nodes behind a [`Balancer`]
    /// share its URL, as they must: the channels' callback URL is part of every upstream create).
    pub public_url: Option<String>,
    pub env: Vec<(String, String)>,
}

impl NodeSpec {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A TCP load balancer in front of several nodes: each connection goes to the next backend that
/// accepts it (round robin), so a dead node is skipped. Stopped when dropped.
pub struct Balancer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    pub async fn start(backend_ports: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the balancer");
        let addr = listener.local_addr().expect("balancer address");
        let backends = Arc::new(backend_ports);
        let task = tokio::spawn(async move {
            let mut next = 0_usize;
            while let Ok((inbound, _)) = listener.accept().await {
                next = next.wrapping_add(1);
                tokio::spawn(forward(inbound, Arc::clone(&backends), next));
            }
        });
        Self {
            url: format!("http://{addr}"),
            task,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(mut inbound: TcpStream, backends: Arc<Vec<u16>>, first: usize) {
    for k in 0..backends.len() {
        let port = backends[(first + k) % backends.len()];
        let connect = TcpStream::connect(("127.0.0.1", port));
        if let Ok(Ok(mut outbound)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            return;
        }
    }
}

/// A running `paygate serve`, SIGKILLed when dropped.
pub struct Node {
    child: Child,
    pub pid: u32,
    pub url: String,
}

impl Node {
    /// Starts the node and waits for its listening line. Output goes to `log`.
    pub async fn start(spec: &NodeSpec, log: &Log) -> Self {
        let url = spec.url();
        let mut last_failure = String::new();
        // A port just released by a killed process can take a moment to be bindable again.
        for _ in 0..5 {
            let mut cmd = Command::from(paygate_command());
            cmd.arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{}", spec.port))
                .arg("--data-dir")
                .arg(&spec.data_dir)
                .arg("--config")
                .arg(&spec.config)
                .arg("--database-url")
                .arg(&spec.database_url)
                .env(
                    "PAYGATE_PUBLIC_URL",
                    spec.public_url.as_deref().unwrap_or(&url),
                )
                .env("RUST_LOG", "warn")
                .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let mut child = cmd.spawn().expect("spawn paygate serve");
            let pid = child.id().unwrap_or_default();
            let prefix = format!("[{} pid {pid}] ", spec.name);
            log.push(format!("{prefix}--- started ---"));
            let (tx, rx) = oneshot::channel();
            pipe(
                child.stdout.take().expect("serve stdout"),
                log.clone(),
                prefix.clone(),
                Some(tx),
            );
            pipe(
                child.stderr.take().expect("serve stderr"),
                log.clone(),
                prefix.clone(),
                None,
            );
            match tokio::time::timeout(NODE_START_TIMEOUT, rx).await {
                Ok(Ok(line)) if line.starts_with("paygate listening on ") => {
                    return Self { child, pid, url };
                }
                outcome => {
                    let _ = child.start_kill();
                    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
                    last_failure = format!("{outcome:?}, exit {status:?}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
        panic!(
            "{} did not start on port {}: {last_failure}\n{}",
            spec.name,
            spec.port,
            log.text()
        );
    }

    /// SIGKILL, as in a crash: no shutdown code runs, no lease is released.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// `paygate site create` on the shared data dir and database, notifying `notify_url`. With the
/// nodes' `config`, so that a database no node has started on yet is initialised as live.
pub async fn create_site(
    data_dir: &Path,
    database_url: &str,
    config: &Path,
    notify_url: &str,
) -> SiteKeys {
    let mut cmd = Command::from(paygate_command());
    // The receiver is on loopback, and these nodes are not in sandbox mode: the operator allows
    // this site private targets.
    cmd.args(["site", "create", "--name", "shop", "--json"])
        .arg("--allow-private-targets")
        .arg("--notify-url")
        .arg(notify_url)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("site create within 60 s")
        .expect("run paygate site create");
    site_keys(&out)
}

/// Reads paygate's store directly (as the operator's commands do): the upstream order number that
/// the merchant API does not show.
pub struct Lookup {
    store: gateway::store::Store,
    site: gateway::domain::SiteId,
}

impl Lookup {
    pub async fn connect(data_dir: &Path, database_url: &str, site_id: &str) -> Self {
        let settings = gateway::config::Settings::load_with(
            gateway::config::Flags {
                data_dir: Some(data_dir.to_owned()),
                database_url: Some(database_url.to_owned()),
                ..gateway::config::Flags::default()
            },
            &|_| None,
        )
        .expect("settings for the test's store");
        let store = gateway::app::open_store(&settings)
            .await
            .expect("open the store");
        Self {
            store,
            site: gateway::domain::SiteId::parse(site_id).expect("site id"),
        }
    }

    pub async fn upstream_no(&self, out_trade_no: &str) -> Option<String> {
        let no = gateway::domain::OutTradeNo::parse(out_trade_no).ok()?;
        self.store
            .find_order(&self.site, &no)
            .await
            .ok()
            .flatten()
            .map(|o| o.upstream_order_no.as_str().to_owned())
    }

    pub async fn close(self) {
        self.store.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The site: its API client and its notification receiver
// ---------------------------------------------------------------------------------------------

/// One order the test means to create (and maybe pay).
#[derive(Debug, Clone)]
pub struct OrderPlan {
    pub out_trade_no: String,
    pub channel: Channel,
    pub amount: u64,
    pub pay: bool,
}

impl OrderPlan {
    /// The `/v1/orders` body: the same bytes on every retry.
    pub fn body(&self) -> String {
        json!({
            "out_trade_no": self.out_trade_no,
            "channel": self.channel.name(),
            "method": self.channel.method(),
            "amount_total": self.amount,
            "description": format!("test order {}", self.out_trade_no),
        })
        .to_string()
    }
}

/// What became of a create.
#[derive(Debug)]
pub enum Created {
    /// 200, after `tries` requests.
    Yes { tries: u32 },
    /// No 200 before the client gave up; paygate may or may not have the order. The distinct
    /// errors, each with the first URL it came from.
    GaveUp { tries: u32, errors: Vec<String> },
    /// A final refusal (4xx other than 429): a bug in this scenario.
    Refused { status: u16, body: String },
}

/// A site calling paygate's signed API.
#[derive(Clone)]
pub struct SiteClient {
    http: reqwest::Client,
    keys: SiteKeys,
}

impl SiteClient {
    pub fn new(keys: SiteKeys) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
            keys,
        }
    }

    /// `POST /v1/orders` with the same body until a 200 (trying `bases` in turn, as a client behind
    /// a list of nodes), a final refusal, or `give_up_after`. Connection errors, timeouts, 429 and
    /// 5xx are retried with a short backoff.
    pub async fn create(&self, bases: &[String], body: &str, give_up_after: Duration) -> Created {
        let deadline = Instant::now() + give_up_after;
        let mut tries = 0_u32;
        let mut errors: Vec<String> = Vec::new();
        loop {
            let base = &bases[tries as usize % bases.len()];
            tries += 1;
            let sent = signed(
                &self.http,
                base,
                &self.keys,
                reqwest::Method::POST,
                "/v1/orders",
                body,
            )
            .send()
            .await;
            let error = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    if status == 200 {
                        return Created::Yes { tries };
                    }
                    if status != 429 && status < 500 {
                        return Created::Refused { status, body: text };
                    }
                    format!("{status} {text}")
                }
                Err(e) => format!("{e} ({:?})", std::error::Error::source(&e)),
            };
            if errors.len() < 10 && !errors.iter().any(|e| e.ends_with(&error)) {
                errors.push(format!("{base}: {error}"));
            }
            if Instant::now() >= deadline {
                return Created::GaveUp { tries, errors };
            }
            let backoff = 40 * u64::from(tries.min(8));
            tokio::time::sleep(Duration::from_millis(backoff)).await;
        }
    }
}

/// One notification as the site's receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub out_trade_no: String,
    pub event_type: String,
    pub arrived: Instant,
    pub answered: Option<Instant>,
    /// `X-1Pass-Sign` verified with the site's SK (false when no SK was set).
    pub signature_ok: bool,
    /// The body's `livemode` (`None` when missing or not a boolean).
    pub livemode: Option<bool>,
}

#[derive(Default)]
struct ReceiverState {
    deliveries: Vec<Delivery>,
    in_flight: HashMap<String, usize>,
    /// Event ids seen while another delivery of the same event was still in flight.
    overlaps: Vec<String>,
    /// Requests that were not a well-formed notification.
    malformed: Vec<String>,
}

struct ReceiverShared {
    state: Mutex<ReceiverState>,
    /// Each request is held for a time in this range (ms) before the 200.
    hold: Mutex<(u64, u64)>,
    rng: Mutex<Rng>,
    sk: Mutex<Option<gateway::domain::SecretKey>>,
}

/// The site's notification endpoint: answers 200 (`success`) after holding each request a while,
/// and records everything. Stopped when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/notify`.
    pub url: String,
    shared: Arc<ReceiverShared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(hold_ms: (u64, u64), seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let shared = Arc::new(ReceiverShared {
            state: Mutex::new(ReceiverState::default()),
            hold: Mutex::new(hold_ms),
            rng: Mutex::new(Rng::new(seed ^ 0x0005_17E0)),
            sk: Mutex::new(None),
        });
        let accept = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_notification(stream, Arc::clone(&accept)));
            }
        });
        Self {
            url: format!("http://{addr}/notify"),
            shared,
            task,
        }
    }

    /// The site's SK, to verify each notification's signature.
    pub fn set_secret(&self, sk: &str) {
        *lock(&self.shared.sk) = Some(gateway::domain::SecretKey::parse(sk).expect("site SK"));
    }

    pub fn set_hold(&self, lo_ms: u64, hi_ms: u64) {
        *lock(&self.shared.hold) = (lo_ms, hi_ms);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.state).deliveries.clone()
    }

    pub fn overlaps(&self) -> Vec<String> {
        lock(&self.shared.state).overlaps.clone()
    }

    pub fn malformed(&self) -> Vec<String> {
        lock(&self.shared.state).malformed.clone()
    }

    /// The out_trade_nos notified at least once.
    pub fn notified_orders(&self) -> HashSet<String> {
        lock(&self.shared.state)
            .deliveries
            .iter()
            .map(|d| d.out_trade_no.clone())
            .collect()
    }

    /// The event ids delivered at least once.
    pub fn event_ids(&self) -> HashSet<String> {
        lock(&self.shared.state)
            .deliveries
            .iter()
            .map(|d| d.event_id.clone())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_notification(mut stream: TcpStream, shared: Arc<ReceiverShared>) {
    let Ok(Some((head, body))) =
        tokio::time::timeout(Duration::from_secs(15), read_request(&mut stream)).await
    else {
        return;
    };
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id = header("X-1Pass-Event-Id").unwrap_or_default();
    let body_event = json["event_id"].as_str().unwrap_or_default().to_owned();
    let signature_ok = {
        let sk = lock(&shared.sk);
        match (
            sk.as_ref(),
            header("X-1Pass-Ts"),
            header("X-1Pass-Nonce"),
            header("X-1Pass-Sign"),
        ) {
            (Some(sk), Some(ts), Some(nonce), Some(sign)) => {
                gateway::notify::verify_notification(sk, &ts, &nonce, &sign, &body)
            }
            _ => false,
        }
    };
    let arrived = Instant::now();
    let index = {
        let mut state = lock(&shared.state);
        if event_id.is_empty() || event_id != body_event || !head.starts_with("POST /notify ") {
            let first = head.lines().next().unwrap_or_default().to_owned();
            state
                .malformed
                .push(format!("{first} header {event_id:?} body {body_event:?}"));
        }
        let n = state.in_flight.entry(event_id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            state.overlaps.push(event_id.clone());
        }
        state.deliveries.push(Delivery {
            event_id: event_id.clone(),
            out_trade_no: json["out_trade_no"].as_str().unwrap_or_default().to_owned(),
            event_type: json["event_type"].as_str().unwrap_or_default().to_owned(),
            arrived,
            answered: None,
            signature_ok,
            livemode: json["livemode"].as_bool(),
        });
        state.deliveries.len() - 1
    };
    let hold = {
        let (lo, hi) = *lock(&shared.hold);
        lock(&shared.rng).range(lo, hi)
    };
    if hold > 0 {
        tokio::time::sleep(Duration::from_millis(hold)).await;
    }
    {
        let mut state = lock(&shared.state);
        if let Some(n) = state.in_flight.get_mut(&event_id) {
            *n = n.saturating_sub(1);
        }
        if let Some(d) = state.deliveries.get_mut(index) {
            d.answered = Some(Instant::now());
        }
    }
    let _ = stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\
              connection: close\r\n\r\nsuccess",
        )
        .await;
    let _ = stream.shutdown().await;
}

/// One HTTP/1.1 request: (head, body). `None` when the peer went away or sent garbage.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let start = end + 4;
            while buf.len() < start + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[start..start + length].to_vec()));
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
