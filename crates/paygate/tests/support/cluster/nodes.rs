//! paygate's side: `paygate serve` nodes on fixed ports, SIGKILLed and restarted at will, a TCP
//! balancer in front of several, the site created with the CLI, and the store read as the
//! operator's commands read it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use test_support::paygate::SERVE_BANNER;
use test_support::process::{Log, Prefixes, Process};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

use super::super::serve::{SiteKeys, paygate_command, site_keys};

/// How long a `paygate serve` may take to print its listening line.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many times a node start is tried: a port just released by a killed process can take a
/// moment to be bindable again.
const NODE_START_TRIES: usize = 5;

/// How to start (and restart) one node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub data_dir: PathBuf,
    /// `--config`; none for a sandbox node (no channel configured).
    pub config: Option<PathBuf>,
    /// `--database-url`; none for the data dir's own SQLite file, as `paygate serve` ships.
    pub database_url: Option<String>,
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
    process: Process,
    pub pid: u32,
    pub url: String,
}

impl Node {
    /// Starts the node and waits for its listening line. Output goes to `log`.
    pub async fn start(spec: &NodeSpec, log: &Log) -> Self {
        let (spec, log) = (spec.clone(), log.clone());
        // Waiting for the banner blocks: not on the test's runtime, which has work to do meanwhile.
        tokio::task::spawn_blocking(move || Self::start_blocking(&spec, &log))
            .await
            .unwrap_or_else(|e| panic!("starting a node: {e}"))
    }

    fn start_blocking(spec: &NodeSpec, log: &Log) -> Self {
        let url = spec.url();
        let prefix = format!("[{}] ", spec.name);
        let mut last_failure = String::new();
        for _ in 0..NODE_START_TRIES {
            let mut cmd = paygate_command();
            cmd.arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{}", spec.port))
                .arg("--data-dir")
                .arg(&spec.data_dir);
            if let Some(config) = &spec.config {
                cmd.arg("--config").arg(config);
            }
            if let Some(url) = &spec.database_url {
                cmd.arg("--database-url").arg(url);
            }
            cmd.env(
                "PAYGATE_PUBLIC_URL",
                spec.public_url.as_deref().unwrap_or(&url),
            )
            .env("RUST_LOG", "warn")
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            log.push(format!("{prefix}--- starting ---"));
            let started = test_support::paygate::start(
                cmd,
                log,
                &Prefixes::both(&prefix),
                SERVE_BANNER,
                NODE_START_TIMEOUT,
            );
            match started {
                Ok((process, _)) => {
                    let pid = process.id();
                    log.push(format!("{prefix}--- started, pid {pid} ---"));
                    return Self { process, pid, url };
                }
                Err(e) => {
                    last_failure = e;
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
        panic!(
            "{} did not start on port {}: {last_failure}",
            spec.name, spec.port
        );
    }

    /// SIGKILL, as in a crash: no shutdown code runs, no lease is released.
    pub async fn kill(mut self) {
        self.process.kill();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
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
