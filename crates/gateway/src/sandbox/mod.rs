//! Sandbox mode: the simulators run in-process and paygate talks to them over HTTP with the real
//! protocols. No real money moves.
//!
//! [`Sandbox::start`] runs the simulator (state in `<data-dir>/sim`), loads or creates the sandbox
//! merchant's keys (`<data-dir>/sandbox-keys.sealed`, sealed under the master key, so the same
//! merchant and its orders survive restarts) and registers them with it. [`routes`] adds
//! `POST /sandbox/pay` (the payer pays) and `GET /sandbox/info` (where the simulator is). On the
//! first start a demo site is created ([`create_demo_site`]).

mod demo;
mod keys;
pub mod provision;
mod routes;

use std::net::SocketAddr;
use std::path::Path;

use crate::channels::{AlipayAccount, WechatAccount};
use crate::crypto::SecretBox;

pub use demo::{DemoSite, DemoSiteError, create_if_first as create_demo_site};
pub use keys::KEYS_FILE;
pub use routes::routes;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start the simulator: {0}")]
    Sim(#[from] sim::SimError),
    #[error("sandbox keys ({path}): {message}")]
    Keys { path: String, message: String },
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error(transparent)]
    DemoSite(#[from] DemoSiteError),
}

/// The running simulator and the sandbox accounts registered with it.
#[derive(Debug)]
pub struct Sandbox {
    sim: sim::RunningSim,
    /// The sandbox WeChat Pay merchant's mchid (the simulator's control API needs it).
    pub wechat_mchid: String,
    pub alipay_app_id: String,
}

impl Sandbox {
    /// Starts the simulator on a free loopback port and provisions the sandbox accounts, whose
    /// callbacks go to `public_url`.
    ///
    /// # Errors
    /// The simulator cannot start or keep state, the keys file cannot be read or written (or was
    /// sealed under another master key), or the simulator refuses the accounts.
    pub async fn start(
        data_dir: &Path,
        secrets: &SecretBox,
        public_url: &str,
    ) -> Result<(Self, WechatAccount, AlipayAccount), SandboxError> {
        let keys = keys::load_or_create(data_dir, secrets).await?;
        let config = sim::SimConfig {
            state_dir: Some(data_dir.join("sim")),
            time_scale: 1.0,
            public_base_url: None,
        };
        let sim = sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let provisioned = provision::provision(
            &sim.base_url,
            &keys,
            public_url,
            provision::SimRefunds::SucceedOnTheirOwn,
        )
        .await;
        let (wechat, alipay) = match provisioned {
            Ok(accounts) => accounts,
            Err(e) => {
                let _ = sim.shutdown().await;
                return Err(e.into());
            }
        };
        let sandbox = Self {
            sim,
            wechat_mchid: keys.wechat_mchid.clone(),
            alipay_app_id: keys.alipay_app_id.clone(),
        };
        Ok((sandbox, wechat, alipay))
    }

    /// `http://127.0.0.1:PORT` of the in-process simulator.
    #[must_use]
    pub fn sim_url(&self) -> &str {
        &self.sim.base_url
    }

    /// Stops the simulator (its state is already on disk).
    pub async fn shutdown(self) {
        if let Err(e) = self.sim.shutdown().await {
            tracing::warn!(error = %e, "simulator did not stop cleanly");
        }
    }
}
