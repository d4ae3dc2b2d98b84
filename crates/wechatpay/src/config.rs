//! What a merchant configures: identity, keys, where WeChat Pay is, how long to wait, and how its
//! answers are verified. Secrets are parsed once here and never printed.

use std::sync::Arc;
use std::time::Duration;

use channel_core::rsa::Certificate;
use channel_core::{RsaPrivateKey, RsaPublicKey};
use url::Url;

use crate::error::{Error, Result};

pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// WeChat Pay's public-key ids carry this prefix; platform certificate serials are hex.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// The APIv3 key: the AEAD key for callbacks and certificates. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiV3Key(Vec<u8>);

impl ApiV3Key {
    /// Real APIv3 keys are 32 ASCII bytes; 16 bytes (AES-128-GCM) is accepted for the official test
    /// vectors, which use such a key.
    ///
    /// # Errors
    /// [`Error::Config`] for any other length.
    pub fn new(key: &str) -> Result<Self> {
        match key.len() {
            16 | 32 => Ok(Self(key.as_bytes().to_vec())),
            n => Err(Error::Config(format!(
                "APIv3 key must be 32 bytes, got {n}"
            ))),
        }
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(..)")
    }
}

/// Unix seconds now. Injectable so that the 300 s skew check can be tested, and bypassed for old
/// recorded vectors, without weakening it in production.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    #[must_use]
    pub fn system() -> Self {
        Self(Arc::new(|| {
            time::OffsetDateTime::now_utc().unix_timestamp()
        }))
    }

    /// A clock stopped at `unix_seconds`.
    #[must_use]
    pub fn fixed(unix_seconds: i64) -> Self {
        Self(Arc::new(move || unix_seconds))
    }

    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    #[must_use]
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock(..)")
    }
}

/// The WeChat Pay public key (public-key mode, the default for new merchants) and its id.
#[derive(Debug, Clone)]
pub struct WechatpayPublicKey {
    pub key_id: String,
    pub key: RsaPublicKey,
}

impl WechatpayPublicKey {
    /// # Errors
    /// [`Error::Config`] for an id without the `PUB_KEY_ID_` prefix or an unparsable key.
    pub fn from_pem(key_id: &str, pem: &str) -> Result<Self> {
        if !key_id.starts_with(PUBLIC_KEY_ID_PREFIX) {
            return Err(Error::Config(format!(
                "public key id must start with {PUBLIC_KEY_ID_PREFIX}"
            )));
        }
        let key = RsaPublicKey::from_pem(pem)
            .map_err(|e| Error::Config(format!("WeChat Pay public key: {e}")))?;
        Ok(Self {
            key_id: key_id.to_owned(),
            key,
        })
    }
}

/// Which keys verify WeChat Pay's answers. `Wechatpay-Serial` picks among them, so during a
/// migration from certificates to a public key both can be configured.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub public_key: Option<WechatpayPublicKey>,
    /// Platform certificates known in advance (for example saved from an earlier download).
    pub certificates: Vec<Certificate>,
    /// Download platform certificates from `/v3/certificates` when an unknown serial shows up, and on
    /// [`crate::Client::refresh_certificates`].
    pub download_certificates: bool,
}

impl Verification {
    #[must_use]
    pub fn public_key(key: WechatpayPublicKey) -> Self {
        Self {
            public_key: Some(key),
            ..Self::default()
        }
    }

    /// Platform-certificate mode with automatic download, as the official SDKs' auto-updating verifier.
    #[must_use]
    pub fn downloaded_certificates() -> Self {
        Self {
            download_certificates: true,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn fixed_certificates(certificates: Vec<Certificate>) -> Self {
        Self {
            certificates,
            ..Self::default()
        }
    }
}

/// A merchant's client configuration.
#[derive(Debug)]
pub struct Config {
    pub mchid: String,
    /// Serial number of the merchant API certificate whose key signs requests.
    pub serial_no: String,
    pub private_key: RsaPrivateKey,
    pub apiv3_key: ApiV3Key,
    pub base_url: Url,
    /// Whole-request timeout; past it the outcome is unknown.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub verification: Verification,
    pub clock: Clock,
}

impl Config {
    /// A configuration against the real WeChat Pay host with default timeouts (10 s, 5 s to connect).
    ///
    /// # Errors
    /// [`Error::Config`] for an empty mchid or serial, or a verification with no key source.
    pub fn new(
        mchid: &str,
        serial_no: &str,
        private_key: RsaPrivateKey,
        apiv3_key: ApiV3Key,
        verification: Verification,
    ) -> Result<Self> {
        if mchid.is_empty() || !mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Config("mchid must be digits".into()));
        }
        if serial_no.is_empty() || serial_no.contains('"') {
            return Err(Error::Config(
                "merchant serial_no is empty or malformed".into(),
            ));
        }
        if verification.public_key.is_none()
            && verification.certificates.is_empty()
            && !verification.download_certificates
        {
            return Err(Error::Config(
                "no way to verify WeChat Pay: give a public key or certificates".into(),
            ));
        }
        let base_url = Url::parse(DEFAULT_BASE_URL).map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            mchid: mchid.to_owned(),
            serial_no: serial_no.to_owned(),
            private_key,
            apiv3_key,
            base_url,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            verification,
            clock: Clock::system(),
        })
    }

    /// Points the client elsewhere (a simulator, a proxy). A path prefix is kept and signed.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not http(s).
    pub fn with_base_url(mut self, base_url: &str) -> Result<Self> {
        let url = Url::parse(base_url).map_err(|e| Error::Config(format!("base URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Config("base URL must be http(s)".into()));
        }
        self.base_url = url;
        Ok(self)
    }

    #[must_use]
    pub fn with_timeouts(mut self, timeout: Duration, connect_timeout: Duration) -> Self {
        self.timeout = timeout;
        self.connect_timeout = connect_timeout;
        self
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug() {
        let key = RsaPrivateKey::generate().unwrap();
        let apiv3 = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
        let config = Config::new(
            "1900000001",
            "ABC",
            key,
            apiv3,
            Verification::downloaded_certificates(),
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"));
        assert!(shown.contains("ApiV3Key(..)"));
        assert!(shown.contains("RsaPrivateKey(..)"));
    }

    #[test]
    fn refuses_unusable_settings() {
        let apiv3 = || ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
        let key = || RsaPrivateKey::generate().unwrap();
        assert!(ApiV3Key::new("short").is_err());
        assert!(Config::new("1900000001", "ABC", key(), apiv3(), Verification::default()).is_err());
        assert!(
            Config::new(
                "19x",
                "ABC",
                key(),
                apiv3(),
                Verification::downloaded_certificates()
            )
            .is_err()
        );
        let c = Config::new(
            "1900000001",
            "ABC",
            key(),
            apiv3(),
            Verification::downloaded_certificates(),
        )
        .unwrap();
        assert!(c.with_base_url("ftp://x").is_err());
        assert!(WechatpayPublicKey::from_pem("1234", "x").is_err());
    }
}
