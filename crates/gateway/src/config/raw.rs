//! The layers before parsing: every known setting with the raw value that won (flags over
//! environment over the TOML file) and where it came from, so a parse error can say which knob to turn.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, duration};

/// One known setting: its dotted name (the TOML key) and its environment variable.
#[derive(Debug)]
pub(crate) struct Key {
    pub name: &'static str,
    pub env: &'static str,
}

const fn key(name: &'static str, env: &'static str) -> Key {
    Key { name, env }
}

/// Every setting there is (file paths in the config file are relative to its folder; lists in the
/// environment are separated by commas). A key in the file that is not here is a typo and an error.
pub(crate) const KEYS: &[Key] = &[
    key("listen", "PAYGATE_LISTEN"),
    key("data_dir", "PAYGATE_DATA_DIR"),
    key("database_url", "PAYGATE_DATABASE_URL"),
    key("public_url", "PAYGATE_PUBLIC_URL"),
    key("allow_http_public_url", "PAYGATE_ALLOW_HTTP_PUBLIC_URL"),
    key("sandbox", "PAYGATE_SANDBOX"),
    key("wechat.mchid", "PAYGATE_WECHAT_MCHID"),
    key("wechat.appid", "PAYGATE_WECHAT_APPID"),
    key("wechat.miniapp_appid", "PAYGATE_WECHAT_MINIAPP_APPID"),
    key("wechat.app_appid", "PAYGATE_WECHAT_APP_APPID"),
    key("wechat.sp_mchid", "PAYGATE_WECHAT_SP_MCHID"),
    key("wechat.sp_appid", "PAYGATE_WECHAT_SP_APPID"),
    key("wechat.sp_name", "PAYGATE_WECHAT_SP_NAME"),
    key("wechat.merchant_serial", "PAYGATE_WECHAT_MERCHANT_SERIAL"),
    key(
        "wechat.merchant_key_file",
        "PAYGATE_WECHAT_MERCHANT_KEY_FILE",
    ),
    key("wechat.apiv3_key", "PAYGATE_WECHAT_APIV3_KEY"),
    key("wechat.apiv3_key_file", "PAYGATE_WECHAT_APIV3_KEY_FILE"),
    key("wechat.public_key_id", "PAYGATE_WECHAT_PUBLIC_KEY_ID"),
    key("wechat.public_key_file", "PAYGATE_WECHAT_PUBLIC_KEY_FILE"),
    key(
        "wechat.platform_certificate_files",
        "PAYGATE_WECHAT_PLATFORM_CERTIFICATE_FILES",
    ),
    key(
        "wechat.download_platform_certificates",
        "PAYGATE_WECHAT_DOWNLOAD_PLATFORM_CERTIFICATES",
    ),
    key("wechat.api_base_url", "PAYGATE_WECHAT_API_BASE_URL"),
    key("wechat.appsecret", "PAYGATE_WECHAT_APPSECRET"),
    key("wechat.oauth_base_url", "PAYGATE_WECHAT_OAUTH_BASE_URL"),
    key("wechat.sns_base_url", "PAYGATE_WECHAT_SNS_BASE_URL"),
    key("alipay.app_id", "PAYGATE_ALIPAY_APP_ID"),
    key(
        "alipay.app_private_key_file",
        "PAYGATE_ALIPAY_APP_PRIVATE_KEY_FILE",
    ),
    key(
        "alipay.alipay_public_key_file",
        "PAYGATE_ALIPAY_ALIPAY_PUBLIC_KEY_FILE",
    ),
    key("alipay.gateway_url", "PAYGATE_ALIPAY_GATEWAY_URL"),
    key("alipay.seller_id", "PAYGATE_ALIPAY_SELLER_ID"),
    key("alipay.seller_name", "PAYGATE_ALIPAY_SELLER_NAME"),
    key("alipay.refund_window", "PAYGATE_ALIPAY_REFUND_WINDOW"),
    key("notify.schedule", "PAYGATE_NOTIFY_SCHEDULE"),
    key("notify.schedule_scale", "PAYGATE_NOTIFY_SCHEDULE_SCALE"),
    key("notify.timeout", "PAYGATE_NOTIFY_TIMEOUT"),
    key("compensation.schedule", "PAYGATE_COMPENSATION_SCHEDULE"),
    key(
        "compensation.schedule_scale",
        "PAYGATE_COMPENSATION_SCHEDULE_SCALE",
    ),
    key(
        "compensation.expiry_grace",
        "PAYGATE_COMPENSATION_EXPIRY_GRACE",
    ),
    key("reconcile.publish_after", "PAYGATE_RECONCILE_PUBLISH_AFTER"),
    key("workers.poll_interval", "PAYGATE_WORKERS_POLL_INTERVAL"),
    key("workers.lease", "PAYGATE_WORKERS_LEASE"),
    key("workers.batch", "PAYGATE_WORKERS_BATCH"),
    key("workers.node_id", "PAYGATE_WORKERS_NODE_ID"),
    key(
        "http.header_read_timeout",
        "PAYGATE_HTTP_HEADER_READ_TIMEOUT",
    ),
    key("http.body_read_timeout", "PAYGATE_HTTP_BODY_READ_TIMEOUT"),
    key("http.rate_limit", "PAYGATE_HTTP_RATE_LIMIT"),
    key("http.rate_limit_burst", "PAYGATE_HTTP_RATE_LIMIT_BURST"),
    key("http.trusted_proxies", "PAYGATE_HTTP_TRUSTED_PROXIES"),
    key("metrics.listen", "PAYGATE_METRICS_LISTEN"),
    key("metrics.token", "PAYGATE_METRICS_TOKEN"),
];

pub(crate) fn known(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Where a value came from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::File(path) => write!(f, "config file {}", path.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RawValue {
    pub value: toml::Value,
    pub origin: Origin,
}

/// The winning raw value of each setting that was given anywhere.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    values: BTreeMap<&'static str, RawValue>,
}

impl Raw {
    /// Later calls win: call in order file, environment, flags.
    pub fn set(&mut self, key: &'static Key, value: toml::Value, origin: Origin) {
        self.values.insert(key.name, RawValue { value, origin });
    }

    /// Whether any setting of `[section]` was given.
    pub fn has_section(&self, section: &str) -> bool {
        self.values
            .keys()
            .any(|k| k.split_once('.').is_some_and(|(s, _)| s == section))
    }

    fn get(&self, name: &'static str) -> Option<&RawValue> {
        self.values.get(name)
    }

    pub fn origin(&self, name: &'static str) -> String {
        self.get(name)
            .map_or_else(|| "default".to_owned(), |v| v.origin.to_string())
    }

    pub fn invalid(&self, name: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting: name,
            origin: self.origin(name),
            reason: reason.into(),
        }
    }

    /// A text setting; an empty string counts as not given.
    pub fn text(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(RawValue {
                value: toml::Value::String(s),
                ..
            }) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(_) => Err(self.invalid(name, "must be a string")),
        }
    }

    /// A path setting, resolved against the config file's folder when it came from the file.
    pub fn path(&self, name: &'static str) -> Result<Option<PathBuf>, ConfigError> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        Ok(Some(self.resolve(name, Path::new(&text))))
    }

    pub fn bool(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.get(name).map(|v| &v.value) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(toml::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" | "" => Ok(Some(false)),
                _ => Err(self.invalid(name, "must be true or false")),
            },
            Some(_) => Err(self.invalid(name, "must be true or false")),
        }
    }

    pub fn path_list(&self, name: &'static str) -> Result<Vec<PathBuf>, ConfigError> {
        Ok(self
            .text_list(name, "file paths")?
            .iter()
            .map(|s| self.resolve(name, Path::new(s)))
            .collect())
    }

    /// A list of texts: a TOML array of strings, or one comma-separated string (environment).
    /// Blank items are dropped.
    pub fn text_list(&self, name: &'static str, what: &str) -> Result<Vec<String>, ConfigError> {
        let items: Vec<String> = match self.get(name).map(|v| &v.value) {
            None => Vec::new(),
            Some(toml::Value::String(s)) => s.split(',').map(str::to_owned).collect(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| self.invalid(name, format!("must be a list of {what}")))?,
            Some(_) => return Err(self.invalid(name, format!("must be a list of {what}"))),
        };
        Ok(items
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// A duration (`100ms`, `15s`, `3m`, `6h`): text with a unit, in the file as in the environment.
    pub fn duration(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        duration::parse(&text)
            .map(Some)
            .map_err(|reason| self.invalid(name, reason))
    }

    /// A list of durations: a TOML array of strings, or one comma-separated string (environment).
    /// `None` when not given; an empty list is returned as given (the caller refuses it).
    pub fn duration_list(&self, name: &'static str) -> Result<Option<Vec<Duration>>, ConfigError> {
        let not_a_list = || {
            self.invalid(
                name,
                "must be a list of durations, such as [\"15s\", \"3m\"]",
            )
        };
        let items: Vec<String> = match self.get(name).map(|v| &v.value) {
            None => return Ok(None),
            Some(toml::Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(not_a_list)?,
            Some(_) => return Err(not_a_list()),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, text)| {
                duration::parse(text)
                    .map_err(|reason| self.invalid(name, format!("entry {} {reason}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A number (a TOML float or integer, or text that parses as one); finite.
    pub fn float(&self, name: &'static str) -> Result<Option<f64>, ConfigError> {
        let value = match self.get(name).map(|v| &v.value) {
            None => return Ok(None),
            Some(toml::Value::Float(f)) => *f,
            // A config value, far below 2^53: exact as f64.
            #[allow(clippy::cast_precision_loss)]
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(toml::Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| self.invalid(name, "must be a number"))?,
            Some(_) => return Err(self.invalid(name, "must be a number")),
        };
        if !value.is_finite() {
            return Err(self.invalid(name, "must be a finite number"));
        }
        Ok(Some(value))
    }

    /// A whole number in `u32` (a TOML integer, or text that parses as one).
    pub fn u32(&self, name: &'static str) -> Result<Option<u32>, ConfigError> {
        let bad = || self.invalid(name, "must be a whole number");
        match self.get(name).map(|v| &v.value) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => u32::try_from(*i).map(Some).map_err(|_| bad()),
            Some(toml::Value::String(s)) => s.trim().parse::<u32>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    fn resolve(&self, name: &'static str, path: &Path) -> PathBuf {
        match self.get(name).map(|v| &v.origin) {
            Some(Origin::File(file)) if path.is_relative() => file
                .parent()
                .map_or_else(|| path.to_path_buf(), |dir| dir.join(path)),
            _ => path.to_path_buf(),
        }
    }

    /// Reads the file a path setting names, as text.
    pub fn read_file(&self, name: &'static str, path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|error| ConfigError::ReadSettingFile {
            setting: name,
            origin: self.origin(name),
            path: path.to_path_buf(),
            error,
        })
    }
}
