//! What an Alipay app needs to talk to the gateway in public-key mode.

use std::time::Duration;

/// Alipay's production gateway.
pub const DEFAULT_GATEWAY_URL: &str = "https://openapi.alipay.com/gateway.do";

/// An Alipay app in public-key mode: the app's RSA private key signs requests, Alipay's RSA
/// public key verifies responses and notifications. (Certificate mode is not supported.)
#[derive(Clone)]
pub struct Config {
    pub app_id: String,
    /// The app's private key: PKCS#8 or PKCS#1, PEM or the bare base64 Alipay's tool produces.
    pub app_private_key: String,
    /// Alipay's public key for this app: PEM or bare base64.
    pub alipay_public_key: String,
    /// The OpenAPI gateway, `…/gateway.do`.
    pub gateway_url: String,
    /// Default `notify_url` for payments; a request may override it.
    pub notify_url: Option<String>,
    /// For a service provider acting for a merchant (`app_auth_token` common parameter).
    pub app_auth_token: Option<String>,
    /// The merchant's Alipay account (PID, `2088…`) the app's payments go to. When set, a
    /// notification must name it as `seller_id`: Alipay signs every merchant's notifications with
    /// the same key.
    pub seller_id: Option<String>,
    /// Whole-request timeout; after it the outcome is unknown ([`crate::Error::Transport`]).
    pub timeout: Duration,
}

impl Config {
    /// A config for the production gateway with a 15 s timeout and no default `notify_url`.
    #[must_use]
    pub fn new(
        app_id: impl Into<String>,
        app_private_key: impl Into<String>,
        alipay_public_key: impl Into<String>,
    ) -> Self {
        Self {
            app_id: app_id.into(),
            app_private_key: app_private_key.into(),
            alipay_public_key: alipay_public_key.into(),
            gateway_url: DEFAULT_GATEWAY_URL.to_owned(),
            notify_url: None,
            app_auth_token: None,
            seller_id: None,
            timeout: Duration::from_secs(15),
        }
    }

    #[must_use]
    pub fn with_gateway_url(mut self, url: impl Into<String>) -> Self {
        self.gateway_url = url.into();
        self
    }

    #[must_use]
    pub fn with_seller_id(mut self, seller_id: impl Into<String>) -> Self {
        self.seller_id = Some(seller_id.into());
        self
    }

    #[must_use]
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key or the auth token.
        f.debug_struct("Config")
            .field("app_id", &self.app_id)
            .field("gateway_url", &self.gateway_url)
            .field("notify_url", &self.notify_url)
            .field("seller_id", &self.seller_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
