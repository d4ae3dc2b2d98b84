//! paygate itself, for the demo: `gateway::app::build` and `App::serve`, the code `paygate serve`
//! runs, in this process on a free loopback port, on a SQLite database in a temporary data dir
//! (so a sandbox, with the simulators in-process too).
//!
//! The settings are built from the demo's own few values and nothing else: no config file and
//! none of the user's `PAYGATE_*` variables, which could point it at their real data dir or
//! database (`PAYGATE_DATABASE_URL`) or their master key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use gateway::config::{Flags, Settings};
use gateway::domain::{ActedBy, Actor, NotifyUrl, PayMethod, SiteName};
use gateway::service::SiteService;
use gateway::store::NewSite;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The only settings the demo changes from `serve`'s defaults, as `PAYGATE_*` variables would.
const DEMO_ENV: &[(&str, &str)] = &[
    // Due notifications are picked up within 0.1 s rather than 1 s: the demo shows each arrive.
    ("PAYGATE_WORKERS_POLL_INTERVAL", "100ms"),
    // No /metrics listener: the default port may be a running `serve`'s, and the demo needs none.
    ("PAYGATE_METRICS_LISTEN", "off"),
];

/// A running in-process paygate.
pub struct Paygate {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The in-process simulator's `http://127.0.0.1:PORT`.
    pub sim_url: String,
    data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), gateway::app::AppError>>,
}

/// A new site's identity and keys.
pub struct NewKeys {
    pub site_id: String,
    pub ak: String,
    pub sk: String,
}

/// `serve`'s settings for `data_dir`, listening on a free loopback port, as a sandbox.
fn settings(data_dir: &Path) -> anyhow::Result<Settings> {
    let flags = Flags {
        config: None,
        listen: Some("127.0.0.1:0".to_owned()),
        data_dir: Some(data_dir.to_path_buf()),
        database_url: None,
        sandbox: true,
    };
    let env = |name: &str| {
        DEMO_ENV
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    Ok(Settings::load_with(flags, &env)?)
}

impl Paygate {
    /// Builds paygate on `data_dir` and serves it in a task of its own.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let app = gateway::app::build(settings(data_dir)?).await?;
        let Some(sandbox) = app.sandbox() else {
            // A fresh SQLite database without credentials is a sandbox; anything else is a bug
            // that must not go on to create orders.
            bail!("paygate did not start in sandbox mode");
        };
        let sim_url = sandbox.sim_url().to_owned();
        let url = format!("http://{}", app.addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url,
            sim_url,
            data_dir: data_dir.to_path_buf(),
            stop: Some(stop),
            task,
        })
    }

    /// A site that may use WeChat Native and Alipay QR and is notified at `notify_url`, made as
    /// `paygate site create` makes one: in the store, beside the running server, through the site
    /// service, with its audit entry as the command line's.
    pub async fn create_site(&self, notify_url: &str) -> anyhow::Result<NewKeys> {
        let settings = settings(&self.data_dir)?;
        let store = gateway::app::open_store(&settings).await?;
        let new = NewSite {
            name: SiteName::parse("paygate demo").context("site name")?,
            notify_url: Some(NotifyUrl::parse(notify_url).context("notify URL")?),
            enabled_methods: [
                PayMethod::parse_dotted("wechat.native"),
                PayMethod::parse_dotted("alipay.qr"),
            ]
            .into_iter()
            .collect::<Result<_, _>>()
            .context("methods")?,
            // Not needed: in sandbox mode every site may notify loopback.
            allow_private_targets: false,
        };
        let by = ActedBy::from(Actor::Cli);
        let created = SiteService::new(store.clone()).create(new, &by).await;
        store.close().await;
        let site = created?;
        Ok(NewKeys {
            site_id: site.id.to_string(),
            ak: site.access_key.as_str().to_owned(),
            sk: site.secret_key.expose().to_owned(),
        })
    }

    /// Stops paygate as SIGTERM stops `serve` (requests and jobs in flight finish, the simulator
    /// and the database close), waiting at most `within`; after that it is aborted.
    pub async fn stop(mut self, within: Duration) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(within, &mut self.task).await {
            Ok(Ok(served)) => Ok(served?),
            Ok(Err(join)) => bail!("paygate's task ended abnormally: {join}"),
            Err(_) => {
                self.task.abort();
                bail!("paygate did not stop within {}", super::secs(within))
            }
        }
    }
}

impl Drop for Paygate {
    /// Not stopped (the demo is unwinding an error): at least nothing keeps serving.
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_site_the_demo_makes_is_in_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let paygate = Paygate::start(dir.path()).await.unwrap();
        let keys = paygate
            .create_site("http://127.0.0.1:9/notify")
            .await
            .unwrap();
        let store = gateway::app::open_store(&settings(dir.path()).unwrap())
            .await
            .unwrap();
        let sites = store.list_sites().await.unwrap();
        let log = store.list_audit(20).await.unwrap();
        store.close().await;
        paygate.stop(Duration::from_secs(10)).await.unwrap();
        // The sandbox's own demo site at its first start, and the tour's site.
        assert_eq!(sites.len(), 2);
        for site in &sites {
            let entry = log
                .iter()
                .find(|e| e.object_id.as_deref() == Some(site.id.as_str()))
                .unwrap_or_else(|| panic!("no audit entry for {}: {log:?}", site.id));
            assert_eq!(entry.action, "site.create");
            assert_eq!(entry.actor_user_id, None, "the command line's");
        }
        assert!(log.iter().all(|e| !e.detail.contains(&keys.sk)));
    }
}
