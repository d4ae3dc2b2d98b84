//! Startup: settings → master key, store (migrated), mode, channel accounts (configured or
//! sandbox), services (each built once), routers (API, callbacks, sandbox, console) and background
//! jobs;
//! binds. [`build`] does everything that can fail before the first request, so the caller can
//! print the address only once paygate is really up; [`App::serve`] (in `serve.rs`) runs it.
//! Opening the data dir, database and mode is in `open.rs`.

mod error;
mod open;
mod serve;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use error::AppError;
pub use open::{migrate, open_store};

use crate::api::{self, ApiSettings, ApiState};
use crate::callbacks;
use crate::channels::{AlipayAccount, Channels, WechatAccount};
use crate::compensation::{
    DEFAULT_PLANNED_SPLIT_AFTER, OrderChecker, PlannedSplitter, RefundChecker, SplitChecker,
};
use crate::config::Settings;
use crate::console::{self, ConsoleSettings, ConsoleState};
use crate::crypto::SecretBox;
use crate::domain::Mode;
use crate::mode::Purpose;
use crate::notify::Deliverer;
use crate::reconcile::{ReconcileJob, Reconciler};
use crate::sandbox::{self, DemoSite, Sandbox, SandboxError};
use crate::service::{DEFAULT_REFUND_CHECK_AFTER, ServiceSettings, Services};
use crate::store::Store;
use crate::workers::{JobHandler, WorkerSettings};

use serve::MetricsListener;

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
    nonce_retention: Duration,
    /// The console accounts, for the purge of dead sessions and login failures.
    accounts: crate::service::AccountService,
    /// How long a client may take to send its headers, on both listeners.
    header_read_timeout: Duration,
    metrics: Option<MetricsListener>,
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
}

/// Everything before the first request: store, channels, services, routes, listener.
///
/// # Errors
/// See [`AppError`].
pub async fn build(settings: Settings) -> Result<App, AppError> {
    let (store, master_key) = open::store_and_key(&settings).await?;
    // Before anything listens: a refused mode must not leave a half-started gateway behind.
    let mode = open::establish_mode(&settings, &store, Purpose::Serve).await?;
    // Bound first: with port 0 the public URL (in callback URLs and checkout links) needs the port.
    let bind_err = |source| AppError::Bind {
        addr: settings.listen,
        source,
    };
    let listener = TcpListener::bind(settings.listen).await.map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let metrics = serve::bind_metrics(&settings.metrics).await?;
    let public_url = settings.public_url(addr);
    let sandbox_mode = mode == Mode::Sandbox;

    let (channels, sandbox, demo_site) = if sandbox_mode {
        let secrets = SecretBox::new(&master_key);
        let (sandbox, wechat, alipay) =
            Sandbox::start(&settings.data_dir, &secrets, &public_url).await?;
        let demo_site = sandbox::create_demo_site(&store)
            .await
            .map_err(SandboxError::from)?;
        let channels = Channels::new(Some(wechat), Some(alipay));
        (channels, Some(sandbox), demo_site)
    } else {
        let account_err = |e: crate::channels::ChannelError| AppError::Channel(e.to_string());
        let wechat = settings
            .wechat
            .map(|w| WechatAccount::from_settings(w, &public_url))
            .transpose()
            .map_err(account_err)?;
        let alipay = settings
            .alipay
            .map(|a| AlipayAccount::from_settings(a, &public_url))
            .transpose()
            .map_err(account_err)?;
        (Channels::new(wechat, alipay), None, None)
    };

    let mut api_settings = ApiSettings::new(public_url.clone());
    api_settings.sandbox = sandbox_mode;
    api_settings.http = settings.http.clone();
    let nonce_retention = api::nonce_retention(api_settings.signature_window);
    let first_check = settings
        .compensation
        .schedule
        .first()
        .copied()
        .unwrap_or(DEFAULT_REFUND_CHECK_AFTER);
    let service_settings = ServiceSettings {
        refund_check_after: first_check,
        order_check_after: first_check,
        ..api_settings.service_settings()
    };
    let services = Services::new(store.clone(), channels.clone(), service_settings);

    // A sandbox database holds test sites on the developer's machine: each may notify a receiver
    // there. A live one allows private targets only to the sites the operator named.
    let mut notify_settings = settings.notify.clone();
    notify_settings.allow_private_targets = sandbox_mode;
    let deliverer = Deliverer::new(
        store.clone(),
        notify_settings,
        settings.workers.node_id.clone(),
    )
    .map_err(|e| AppError::Notify(e.to_string()))?;
    let checker = OrderChecker::new(services.orders.clone(), settings.compensation.clone());
    let refund_checker = RefundChecker::new(services.orders.clone(), &settings.compensation);
    let split_checker = SplitChecker::new(services.orders.clone(), &settings.compensation);
    let planned_splitter =
        PlannedSplitter::new(services.orders.clone(), DEFAULT_PLANNED_SPLIT_AFTER);
    let reconcile_settings = settings.reconcile;
    let reconciler = Reconciler::new(store.clone(), services.orders.clone());
    let handlers: Vec<Arc<dyn JobHandler>> = vec![
        Arc::new(deliverer),
        Arc::new(checker),
        Arc::new(refund_checker),
        Arc::new(split_checker),
        Arc::new(planned_splitter),
        Arc::new(ReconcileJob::new(
            reconciler,
            channels.clone(),
            reconcile_settings,
        )),
    ];
    // A live gateway reconciles every day of its channels by itself, from the days it missed
    // while down; a sandbox's simulated days are reconciled when asked (`paygate reconcile`).
    if !sandbox_mode {
        let planned = crate::reconcile::job::plan_recent_days(
            &store,
            &channels,
            reconcile_settings,
            crate::domain::Timestamp::now(),
        )
        .await;
        if let Err(e) = planned {
            tracing::error!(error = %e, "planning the days to reconcile failed; the next start tries again");
        }
    }

    let mut unsigned = callbacks::routes(callbacks::State {
        orders: services.orders.clone(),
        channels,
    });
    if let Some(sandbox) = &sandbox {
        unsigned = unsigned.merge(sandbox::routes(sandbox, services.orders.clone()));
    }
    let accounts = services.accounts.clone();
    unsigned = unsigned.merge(console::router(ConsoleState {
        accounts: services.accounts.clone(),
        console: services.console.clone(),
        settings: ConsoleSettings {
            public_url: public_url.clone(),
            sandbox: sandbox_mode,
            trusted_proxies: settings.http.trusted_proxies.clone(),
        },
    }));
    let router = api::router(
        ApiState {
            services,
            settings: api_settings,
        },
        unsigned,
    );
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
        nonce_retention,
        accounts,
        header_read_timeout: settings.http.header_read_timeout,
        metrics,
    })
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
