//! Settings: defaults, then a TOML file (`--config` / `PAYGATE_CONFIG`), then environment
//! variables, then command-line flags, parsed once at start into typed values. A bad value stops
//! paygate with the setting's name and where it came from; values themselves are never echoed.
//!
//! No channel section (`[wechat]`, `[alipay]`, or their `PAYGATE_WECHAT_*` / `PAYGATE_ALIPAY_*`
//! variables) asks for sandbox mode, where the simulators stand in for both channels; whether the
//! database agrees is decided in `crate::mode`.

mod alipay;
mod background;
mod database_url;
mod duration;
mod error;
mod http;
mod layers;
mod master_key;
mod raw;
mod wechat;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use alipay::AlipaySettings;
pub use database_url::DatabaseUrl;
pub use error::ConfigError;
pub use master_key::{MASTER_KEY_ENV, MASTER_KEY_FILE, MasterKeySource};
pub use wechat::{ServiceProviderSettings, WechatSettings};

/// A duration as the config file takes one (`100ms`, `15s`, `3m`, `6h`, `7d`, `1m30s`), for the
/// command line to read its own durations the same way. The error is the reason, without the text.
///
/// # Errors
/// Empty text, a bare number, an unknown unit, or out of range.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    duration::parse(text)
}

use raw::Raw;

use crate::api::{HttpSettings, MetricsSettings};
use crate::compensation::CompensationSettings;
use crate::mode::Requested;
use crate::notify::NotifySettings;
use crate::workers::WorkerSettings;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const CONFIG_ENV: &str = "PAYGATE_CONFIG";

/// What the command line gave; `None` leaves the setting to the lower layers.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// `--sandbox`: the explicit request that PostgreSQL (or a database from an older paygate)
    /// needs to run as a sandbox. `false` leaves it to the lower layers.
    pub sandbox: bool,
}

/// Everything paygate needs to start, parsed.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// How sites' payers and the channels reach paygate (checkout links, callback URLs), when
    /// set; otherwise `http://<bound address>` (see [`Settings::public_url`]).
    pub public_url: Option<url::Url>,
    /// `sandbox = true` (or `--sandbox`): a sandbox was asked for explicitly.
    pub explicit_sandbox: bool,
    pub master_key: MasterKeySource,
    pub wechat: Option<WechatSettings>,
    pub alipay: Option<AlipaySettings>,
    /// `[notify]`: merchant notification delivery, schedule already scaled.
    pub notify: NotifySettings,
    /// `[compensation]`: order checks and expiry, schedule already scaled and checked.
    pub compensation: CompensationSettings,
    /// `[reconcile]`: when each day's bills are asked for.
    pub reconcile: crate::reconcile::ReconcileSettings,
    /// `[workers]`: the background job loop.
    pub workers: WorkerSettings,
    /// `[http]`: deadlines for slow clients, the per-client limit on unsigned routes.
    pub http: HttpSettings,
    /// `[metrics]`: where `/metrics` is served, if anywhere.
    pub metrics: MetricsSettings,
}

impl Settings {
    /// Loads the settings from the process environment and `flags`.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn load(flags: Flags) -> Result<Self, ConfigError> {
        Self::load_with(flags, &|name| std::env::var(name).ok())
    }

    /// As [`Settings::load`] with the environment given as a lookup function (for tests).
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn load_with(
        flags: Flags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = Raw::default();
        let config_file = flags
            .config
            .clone()
            .or_else(|| env(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
        if let Some(path) = &config_file {
            layers::file(&mut raw, path)?;
        }
        layers::env(&mut raw, env);
        layers::flag(&mut raw, "listen", "--listen", flags.listen);
        layers::flag(
            &mut raw,
            "data_dir",
            "--data-dir",
            flags.data_dir.map(|p| p.display().to_string()),
        );
        layers::flag(
            &mut raw,
            "database_url",
            "--database-url",
            flags.database_url,
        );
        layers::flag(
            &mut raw,
            "sandbox",
            "--sandbox",
            flags.sandbox.then(|| "true".to_owned()),
        );

        let listen_text = raw.text("listen")?.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| raw.invalid("listen", "must be IP:PORT, such as 127.0.0.1:8080"))?;
        let data_dir = raw
            .path("data_dir")?
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match raw.text("database_url")? {
            Some(text) => {
                DatabaseUrl::parse(&text).map_err(|reason| raw.invalid("database_url", reason))?
            }
            None => DatabaseUrl::sqlite_in(&data_dir),
        };
        let public_url = public_url(&raw)?;
        let master_key = match master_key::from_env(env(MASTER_KEY_ENV))? {
            Some(key) => MasterKeySource::Env(key),
            None => MasterKeySource::File(data_dir.join(MASTER_KEY_FILE)),
        };
        let wechat = wechat::parse(&raw)?;
        let alipay = alipay::parse(&raw)?;
        let sandbox = wechat.is_none() && alipay.is_none();
        let explicit_sandbox = raw.bool("sandbox")?.unwrap_or(false);
        if explicit_sandbox && !sandbox {
            return Err(raw.invalid(
                "sandbox",
                "cannot be combined with channel credentials ([wechat], [alipay]): \
                 a sandbox database never meets a real channel",
            ));
        }
        if !sandbox {
            live_public_url(&raw, public_url.as_ref())?;
        }
        let notify = background::notify(&raw)?;
        let compensation = background::compensation(&raw)?;
        let reconcile = background::reconcile(&raw)?;
        let workers = background::workers(&raw, &notify)?;
        let http = http::http(&raw)?;
        let metrics = http::metrics(&raw)?;
        Ok(Self {
            listen,
            data_dir,
            database_url,
            public_url,
            explicit_sandbox,
            master_key,
            wechat,
            alipay,
            notify,
            compensation,
            reconcile,
            workers,
            http,
            metrics,
        })
    }

    /// What these settings ask of the database: live with channel credentials, else a sandbox
    /// (see `crate::mode` for what the database says to that).
    #[must_use]
    pub fn requested_mode(&self) -> Requested {
        if self.wechat.is_none() && self.alipay.is_none() {
            Requested::Sandbox {
                explicit: self.explicit_sandbox,
            }
        } else {
            Requested::Live
        }
    }

    /// The public URL without a trailing slash: the configured one, or `http://<bound>` (the
    /// address actually bound, so that port 0 gives a usable URL).
    #[must_use]
    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.public_url.as_ref().map_or_else(
            || format!("http://{bound}"),
            |u| u.as_str().trim_end_matches('/').to_owned(),
        )
    }

    /// `<data-dir>/<name>`.
    #[must_use]
    pub fn data_path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.data_dir.join(name)
    }
}

fn public_url(raw: &Raw) -> Result<Option<url::Url>, ConfigError> {
    let Some(text) = raw.text("public_url")? else {
        return Ok(None);
    };
    let url = url::Url::parse(&text).map_err(|e| raw.invalid("public_url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(raw.invalid("public_url", "must be an http(s) URL with a host"));
    }
    Ok(Some(url))
}

/// Live mode: payers open checkout links and channels send callbacks at `public_url`, so it must be
/// https. `allow_http_public_url` is for a TLS-terminating proxy that forwards to an http address
/// the channels are given anyway, and for tests against a standalone simulator.
fn live_public_url(raw: &Raw, public_url: Option<&url::Url>) -> Result<(), ConfigError> {
    if raw.bool("allow_http_public_url")?.unwrap_or(false) {
        return Ok(());
    }
    match public_url {
        Some(url) if url.scheme() == "https" => Ok(()),
        Some(_) => Err(raw.invalid(
            "public_url",
            "must be https in live mode (channel credentials are configured); set \
             allow_http_public_url = true only if a TLS proxy in front of paygate makes it safe",
        )),
        None => Err(ConfigError::LivePublicUrlMissing),
    }
}

#[cfg(test)]
mod tests;
