//! The simulator's configuration and the context every channel module receives.
//!
//! [`SimContext`] is cheap to clone (an `Arc` inside). A channel's `router(ctx)` keeps a clone and
//! uses it for: where to keep state ([`SimContext::state_dir`], via [`crate::persist::Store`]), the
//! URL clients reach the simulator at ([`SimContext::base_url`], e.g. for bill download links), the
//! fault switches ([`SimContext::faults`]), notification delivery ([`SimContext::callbacks`]) and
//! a shutdown signal for anything that must stop waiting when the server stops.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::SimError;
use crate::callbacks::CallbackEngine;
use crate::faults::Faults;
use crate::prepared::{PreparedBill, PreparedBills};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where state is kept across restarts; `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// Multiplies every callback retry delay: `1.0` is the real schedule, `0.001` turns WeChat's
    /// 15 s into 15 ms for tests.
    pub time_scale: f64,
    /// The URL clients use to reach the simulator, when it differs from the bound address (behind
    /// a proxy). `None`: `http://<bound address>`.
    pub public_base_url: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            state_dir: None,
            time_scale: 1.0,
            public_base_url: None,
        }
    }
}

/// Shared by every part of the running simulator.
#[derive(Clone, Debug)]
pub struct SimContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SimConfig,
    base_url: String,
    http: reqwest::Client,
    faults: Faults,
    callbacks: CallbackEngine,
    shutdown: tokio::sync::watch::Receiver<bool>,
    prepared: PreparedBills,
}

impl SimContext {
    /// Builds the context once the listener is bound (the base URL depends on the real port).
    ///
    /// # Errors
    /// The state dir cannot be created or the HTTP client cannot be built.
    pub fn new(
        config: SimConfig,
        bound_base_url: String,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Self, SimError> {
        if let Some(dir) = &config.state_dir {
            crate::persist::create_private_dir(dir).map_err(|source| SimError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let base_url = config
            .public_base_url
            .clone()
            .unwrap_or(bound_base_url)
            .trim_end_matches('/')
            .to_owned();
        // Callback receivers get about 5 s, as WeChat Pay gives them; no redirects, like a gateway.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SimError::Client(e.to_string()))?;
        let time_scale = if config.time_scale.is_finite() && config.time_scale >= 0.0 {
            config.time_scale
        } else {
            1.0
        };
        let faults = Faults::default();
        let callbacks =
            CallbackEngine::new(http.clone(), faults.clone(), time_scale, shutdown.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base_url,
                http,
                faults,
                callbacks,
                shutdown,
                prepared: PreparedBills::default(),
            }),
        })
    }

    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Where channel state files go, if state is kept across restarts.
    #[must_use]
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.inner.config.state_dir.as_deref()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash), or the configured public base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// One HTTP client for every outgoing call (5 s timeout, no redirects).
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    #[must_use]
    pub fn callbacks(&self) -> &CallbackEngine {
        &self.inner.callbacks
    }

    /// Serves `bill` for its day instead of the bill made from the simulator's own trades.
    pub fn prepare_bill(&self, bill: PreparedBill) {
        self.inner.prepared.add(bill);
    }

    pub(crate) fn prepared(&self) -> &PreparedBills {
        &self.inner.prepared
    }

    /// Resolves when the server is shutting down; for anything that would otherwise wait forever.
    pub async fn shutting_down(&self) {
        let mut rx = self.inner.shutdown.clone();
        // An error means the sender is gone, which also means shutdown.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}
