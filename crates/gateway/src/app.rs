//! Puts the pieces together: settings → master key, store (migrated), channels (configured or
//! sandbox), router; binds; serves until shutdown. [`build`] does everything that can fail before
//! the first request, so the caller can print the address only once paygate is really up.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::api::{self, ApiSettings, ApiState};
use crate::channels::{AlipayAccount, Channels, WechatAccount, WechatAppIds};
use crate::config::{AlipaySettings, ConfigError, Settings, WechatSettings};
use crate::crypto::{MasterKey, SecretBox};
use crate::domain::{PayMethod, SiteId, SiteName, Timestamp};
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::{NewSite, Store, StoreError};

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
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// The demo site created on the first start in sandbox mode. Its SK is shown once, like
/// `paygate site create` shows it.
#[derive(Debug, Clone)]
pub struct DemoSite {
    pub site_id: SiteId,
    pub ak: String,
    pub sk: String,
}

/// paygate, bound and ready to serve.
pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    public_url: String,
    router: Router,
    store: Store,
    sandbox: Option<Sandbox>,
    demo_site: Option<DemoSite>,
}

impl App {
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

    /// Serves until `shutdown` resolves, then lets requests in flight finish and stops the
    /// simulator and the database pool.
    ///
    /// # Errors
    /// The server fails.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(AppError::Serve);
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        self.store.close().await;
        served
    }
}

/// Opens (and migrates) the store: used by `serve` and by the operator's commands alike.
///
/// # Errors
/// The master key cannot be loaded, the data dir created, or the database opened or migrated.
pub async fn open_store(settings: &Settings) -> Result<Store, AppError> {
    Ok(open_store_and_key(settings).await?.0)
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
    let public_url = settings.public_url(addr);
    let sandbox_mode = settings.sandbox();
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
    let mut router = api::router(ApiState {
        store: store.clone(),
        channels,
        settings: api_settings,
    });
    if let Some(sandbox) = &sandbox {
        router = router.merge(crate::sandbox::routes(sandbox, store.clone()));
    }
    Ok(App {
        listener,
        addr,
        public_url,
        router,
        store,
        sandbox,
        demo_site,
    })
}

/// The data dir holds the master key and the database: owner-only when paygate creates it.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
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
