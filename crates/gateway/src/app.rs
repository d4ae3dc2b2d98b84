//! Puts the pieces together: settings → master key, store (migrated), channels (configured or
//! sandbox), router, background workers; binds; serves until shutdown. [`build`] does everything
//! that can fail before the first request, so the caller can print the address only once paygate is
//! really up.
//!
//! [`App::serve`] runs these side by side under one shutdown signal: the HTTP server, the metrics
//! listener (unless `metrics.listen` is off), one worker loop (`workers::run` with the notification
//! [`Deliverer`] and the [`OrderChecker`]), and a small task that purges expired API nonces. On
//! shutdown the servers stop accepting, the workers stop claiming, finish their jobs in flight and
//! release their leases; only then are the simulator (sandbox mode) and the database pool closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiSettings, ApiState, MetricsSettings};
use crate::channels::{AlipayAccount, Channels, WechatAccount, WechatAppIds};
use crate::compensation::{CompensationSettings, OrderChecker};
use crate::config::{AlipaySettings, ConfigError, Settings, WechatSettings};
use crate::crypto::{MasterKey, SecretBox};
use crate::domain::{Mode, PayMethod, SiteId, SiteName, Timestamp};
use crate::mode::{self, EstablishError, ModeError, Purpose};
use crate::notify::{Deliverer, NotifySettings};
use crate::sandbox::{Sandbox, SandboxError};
use crate::service::{OrderService, ServiceSettings};
use crate::store::{NewSite, Store, StoreError};
use crate::workers::{self, JobHandler, WorkerSettings};

/// How often expired API nonces are deleted. They are only kept a little longer than twice the
/// signing window (11 minutes); a stale row is harmless (it is taken over on reuse), so this only
/// bounds the table.
const NONCE_PURGE_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data dir {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database ({url}): {source}")]
    Store { url: String, source: StoreError },
    #[error(transparent)]
    Mode(#[from] ModeError),
    #[error("cannot create the demo site: {0}")]
    DemoSite(String),
    #[error("sandbox mode: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("{channel} client: {message}")]
    Channel {
        channel: &'static str,
        message: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr} for /metrics (setting metrics.listen; \"off\" turns it off): {source}"
    )]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("notification client: {0}")]
    Notify(String),
}

/// The demo site created on the first start in sandbox mode. Its SK is shown once, like
/// `paygate site create` shows it; `Debug` leaves it out, so a logged value does not leak it.
#[derive(Clone)]
pub struct DemoSite {
    pub site_id: SiteId,
    pub ak: String,
    pub sk: String,
}

impl std::fmt::Debug for DemoSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSite")
            .field("site_id", &self.site_id)
            .field("ak", &self.ak)
            .finish_non_exhaustive()
    }
}

/// paygate, bound and ready to serve.
pub struct App {
    mode: Mode,
    listener: TcpListener,
    addr: SocketAddr,
    public_url: String,
    router: Router,
    store: Store,
    sandbox: Option<Sandbox>,
    demo_site: Option<DemoSite>,
    handlers: Vec<Arc<dyn JobHandler>>,
    workers: WorkerSettings,
    /// How long API nonces are remembered ([`api::nonce_retention`]), for the purge.
    nonce_window: Duration,
    /// How long a client may take to send its headers, on both listeners.
    header_read_timeout: Duration,
    metrics: Option<MetricsListener>,
}

/// `/metrics`, on its own listener.
struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
}

impl App {
    /// Sandbox or live, as the database recorded it.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The address actually bound (the real port when asked for port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where payers, sites and channels reach this paygate, without a trailing slash.
    #[must_use]
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The in-process simulator, in sandbox mode.
    #[must_use]
    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// The demo site, if this start created one.
    #[must_use]
    pub fn demo_site(&self) -> Option<&DemoSite> {
        self.demo_site.as_ref()
    }

    /// Where `/metrics` is served (the real port when asked for port 0); `None` when it is off.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// This process's name as a lease owner and in delivery attempts.
    #[must_use]
    pub fn node_id(&self) -> &str {
        &self.workers.node_id
    }

    /// Serves HTTP and runs the background workers until `shutdown` resolves; then lets requests
    /// and jobs in flight finish, releases the workers' leases, and stops the simulator and the
    /// database pool.
    ///
    /// # Errors
    /// None so far: accept errors are retried, connection errors end only their connection.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        // One signal, several listeners. `true` once shutdown began.
        let (stop_tx, stop_rx) = watch::channel(false);
        let trigger = async {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let header_read_timeout = self.header_read_timeout;
        let (listener, router, metrics) = (self.listener, self.router, self.metrics);
        let http = async {
            api::serve(
                listener,
                router,
                header_read_timeout,
                stopped(stop_rx.clone()),
            )
            .await;
            tracing::info!("HTTP server stopped");
        };
        let metrics = async {
            if let Some(m) = metrics {
                api::serve(
                    m.listener,
                    m.router,
                    header_read_timeout,
                    stopped(stop_rx.clone()),
                )
                .await;
            }
        };
        let workers = workers::run(
            self.store.clone(),
            self.handlers,
            self.workers,
            stopped(stop_rx.clone()),
        );
        let purge = purge_nonces(
            self.store.clone(),
            self.nonce_window,
            stopped(stop_rx.clone()),
        );
        let ((), (), (), (), ()) = tokio::join!(trigger, http, metrics, workers, purge);
        // The workers are done (their last jobs may have called the simulator): now it can go.
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        self.store.close().await;
        Ok(())
    }
}

/// Resolves once shutdown began (or every sender is gone, which also means it did).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Deletes expired API nonces every [`NONCE_PURGE_INTERVAL`] until `shutdown`. Every node does it;
/// the deletes are idempotent.
async fn purge_nonces(store: Store, window: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(NONCE_PURGE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        match store.purge_nonces(Timestamp::now(), window).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired API nonces purged"),
            // Harmless until the next run: an expired nonce row is taken over on reuse.
            Err(e) => tracing::warn!(error = %e, "purging expired API nonces failed"),
        }
    }
}

/// Opens and migrates the store, and learns its mode (recording it on a database seen for the first
/// time): for the operator's commands, which need no channel credentials.
///
/// # Errors
/// The master key cannot be loaded, the data dir created, or the database opened or migrated;
/// the mode is refused (see [`crate::mode`]).
pub async fn open_store(settings: &Settings) -> Result<Store, AppError> {
    let (store, _) = open_store_and_key(settings).await?;
    establish_mode(settings, &store, Purpose::Operate).await?;
    Ok(store)
}

/// Opens the store and applies the migrations, nothing else (`paygate migrate`): a deployment may
/// migrate before any node with credentials has started.
///
/// # Errors
/// As [`open_store`], without the mode.
pub async fn migrate(settings: &Settings) -> Result<Store, AppError> {
    Ok(open_store_and_key(settings).await?.0)
}

async fn establish_mode(
    settings: &Settings,
    store: &Store,
    purpose: Purpose,
) -> Result<Mode, AppError> {
    mode::establish(store, settings.requested_mode(), purpose)
        .await
        .map_err(|e| match e {
            EstablishError::Refused(refusal) => AppError::Mode(refusal),
            EstablishError::Store(source) => AppError::Store {
                url: settings.database_url.redacted(),
                source,
            },
        })
}

async fn open_store_and_key(settings: &Settings) -> Result<(Store, MasterKey), AppError> {
    create_private_dir(&settings.data_dir).map_err(|source| AppError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let master_key = settings.master_key.load()?;
    let store_err = |source| AppError::Store {
        url: settings.database_url.redacted(),
        source,
    };
    let store = Store::connect(settings.database_url.expose(), &master_key)
        .await
        .map_err(store_err)?;
    store.migrate().await.map_err(store_err)?;
    Ok((store, master_key))
}

/// Everything before the first request: store, channels, routes, listener.
///
/// # Errors
/// See [`AppError`].
pub async fn build(settings: Settings) -> Result<App, AppError> {
    let (store, master_key) = open_store_and_key(&settings).await?;
    // Before anything listens: a refused mode must not leave a half-started gateway behind.
    let mode = establish_mode(&settings, &store, Purpose::Serve).await?;
    // Bound first: with port 0 the public URL (in callback URLs and checkout links) needs the port.
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| AppError::Bind {
            addr: settings.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| AppError::Bind {
        addr: settings.listen,
        source,
    })?;
    let metrics = bind_metrics(&settings.metrics).await?;
    let public_url = settings.public_url(addr);
    let sandbox_mode = mode == Mode::Sandbox;
    // A sandbox database holds test sites on the developer's machine: each may notify a receiver
    // there. A live one allows private targets only to the sites the operator named.
    let mut notify_settings = settings.notify.clone();
    notify_settings.allow_private_targets = sandbox_mode;
    let (channels, sandbox) = if sandbox_mode {
        let secrets = SecretBox::new(&master_key);
        let (sandbox, wechat, alipay) =
            Sandbox::start(&settings.data_dir, &secrets, &public_url).await?;
        (Channels::new(Some(wechat), Some(alipay)), Some(sandbox))
    } else {
        let wechat = settings
            .wechat
            .map(|w| wechat_account(w, &public_url))
            .transpose()?;
        let alipay = settings
            .alipay
            .map(|a| alipay_account(a, &public_url))
            .transpose()?;
        (Channels::new(wechat, alipay), None)
    };
    let demo_site = match &sandbox {
        Some(_) => create_demo_site(&store).await?,
        None => None,
    };
    let mut api_settings = ApiSettings::new(public_url.clone());
    api_settings.sandbox = sandbox_mode;
    api_settings.http = settings.http.clone();
    let nonce_window = api::nonce_retention(api_settings.signature_window);
    let handlers = job_handlers(
        &notify_settings,
        &settings.compensation,
        &settings.workers,
        &store,
        &channels,
        &api_settings,
    )?;
    let sandbox_routes = sandbox
        .as_ref()
        .map(|s| api::unsigned(crate::sandbox::routes(s, store.clone()), &api_settings));
    let mut router = api::router(ApiState {
        store: store.clone(),
        channels,
        settings: api_settings,
    });
    if let Some(routes) = sandbox_routes {
        router = router.merge(routes);
    }
    Ok(App {
        mode,
        listener,
        addr,
        public_url,
        router,
        store,
        sandbox,
        demo_site,
        handlers,
        workers: settings.workers,
        nonce_window,
        header_read_timeout: settings.http.header_read_timeout,
        metrics,
    })
}

/// Binds the metrics listener, unless it is off.
async fn bind_metrics(settings: &MetricsSettings) -> Result<Option<MetricsListener>, AppError> {
    let Some(listen) = settings.listen else {
        return Ok(None);
    };
    let bind_err = |source| AppError::MetricsBind {
        addr: listen,
        source,
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(source) if !settings.explicit => {
            tracing::warn!(
                %listen,
                error = %source,
                "metrics are not served: their default address is taken (set metrics.listen)"
            );
            return Ok(None);
        }
        Err(source) => return Err(bind_err(source)),
    };
    let addr = listener.local_addr().map_err(bind_err)?;
    Ok(Some(MetricsListener {
        listener,
        addr,
        router: api::metrics_router(settings.token.clone()),
    }))
}

/// The job handlers, built once: notification delivery and order checks. The checker has its own
/// `OrderService` over the same store and channels: correctness never depends on sharing one (status
/// changes are compare-and-set), only the in-process de-duplication of upstream calls does.
fn job_handlers(
    notify: &NotifySettings,
    compensation: &CompensationSettings,
    workers: &WorkerSettings,
    store: &Store,
    channels: &Channels,
    api_settings: &ApiSettings,
) -> Result<Vec<Arc<dyn JobHandler>>, AppError> {
    let deliverer = Deliverer::new(store.clone(), notify.clone(), workers.node_id.clone())
        .map_err(|e| AppError::Notify(e.to_string()))?;
    let service = OrderService::new(
        store.clone(),
        channels.clone(),
        ServiceSettings {
            public_url: api_settings.public_url.clone(),
            failpoint: api_settings.failpoint,
        },
    );
    let checker = OrderChecker::new(service, compensation.clone());
    Ok(vec![Arc::new(deliverer), Arc::new(checker)])
}

/// The data dir holds the master key, the database and the sandbox's keys: owner-only. Created so;
/// one that already exists with a looser mode (made by hand, or by an older paygate) is tightened,
/// with a warning, rather than refused.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            tracing::warn!(
                path = %dir.display(),
                was = format!("{mode:o}"),
                "the data dir was open to group or others; now 0700"
            );
        }
    }
    Ok(())
}

/// [`build`], then [`App::serve`].
///
/// # Errors
/// See [`AppError`].
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    build(settings).await?.serve(shutdown).await
}

fn wechat_account(w: WechatSettings, public_url: &str) -> Result<WechatAccount, AppError> {
    let client = wechatpay::Client::new(w.client).map_err(|e| AppError::Channel {
        channel: "WeChat Pay",
        message: e.to_string(),
    })?;
    Ok(WechatAccount {
        client,
        notify_url: format!("{public_url}/callbacks/wechat/{}", w.mchid),
        mchid: w.mchid,
        appids: WechatAppIds {
            mp: w.appid,
            miniapp: w.miniapp_appid,
            app: w.app_appid,
        },
    })
}

fn alipay_account(a: AlipaySettings, public_url: &str) -> Result<AlipayAccount, AppError> {
    let notify_url = format!("{public_url}/callbacks/alipay/{}", a.app_id);
    let client =
        alipay::Client::new(a.client.with_notify_url(notify_url.clone())).map_err(|e| {
            AppError::Channel {
                channel: "Alipay",
                message: e.to_string(),
            }
        })?;
    Ok(AlipayAccount {
        client,
        app_id: a.app_id,
        notify_url,
        return_url: None,
    })
}

/// On the first start in sandbox mode (no site yet), a site with every method, so that the seed's
/// example can run at once.
async fn create_demo_site(store: &Store) -> Result<Option<DemoSite>, AppError> {
    let store_err = |e: StoreError| AppError::DemoSite(e.to_string());
    if !store.list_sites().await.map_err(store_err)?.is_empty() {
        return Ok(None);
    }
    let name =
        SiteName::parse("Sandbox demo site").map_err(|e| AppError::DemoSite(e.to_string()))?;
    let site = store
        .create_site(
            NewSite {
                name,
                notify_url: None,
                enabled_methods: PayMethod::all().into_iter().collect(),
                // Sandbox mode already lets every site reach private targets.
                allow_private_targets: false,
            },
            Timestamp::now(),
        )
        .await
        .map_err(store_err)?;
    Ok(Some(DemoSite {
        site_id: site.id,
        ak: site.access_key.as_str().to_owned(),
        sk: site.secret_key.expose().to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_sites_sk_is_not_printed() {
        let demo = DemoSite {
            site_id: SiteId::parse("site_demo").unwrap(),
            ak: "ak_demo_access".to_owned(),
            sk: "sk_demo_secret_0123456789".to_owned(),
        };
        let shown = format!("{demo:?} {:#?}", Some(&demo));
        assert!(!shown.contains(&demo.sk), "{shown}");
        assert!(
            shown.contains("site_demo") && shown.contains("ak_demo_access"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_taken_metrics_address_stops_paygate_only_when_it_was_asked_for() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let settings = |explicit| MetricsSettings {
            listen: Some(addr),
            token: None,
            explicit,
        };
        // The default address in use by something else: paygate runs, without metrics.
        assert!(bind_metrics(&settings(false)).await.unwrap().is_none());
        // An address the operator set: a clear error.
        let err = bind_metrics(&settings(true)).await.err().unwrap();
        assert!(
            matches!(err, AppError::MetricsBind { addr: a, .. } if a == addr),
            "{err}"
        );
        drop(taken);
        assert!(bind_metrics(&settings(true)).await.unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_owner_only_also_when_it_already_existed() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/data");
        create_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let loose = root.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);
    }
}
