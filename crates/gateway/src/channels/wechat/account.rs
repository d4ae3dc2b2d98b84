//! A WeChat Pay merchant as paygate uses it: its client, its appids, and where WeChat Pay sends
//! its notifications. Built from the operator's `[wechat]` settings, or (sandbox mode) from a
//! client configuration pointed at the simulator.

use crate::config::WechatSettings;
use crate::domain::Method;

use super::super::ChannelError;

/// A WeChat Pay merchant: its client and the appids its methods pay under.
#[derive(Clone)]
pub struct WechatAccount {
    pub client: wechatpay::Client,
    pub mchid: String,
    pub appids: WechatAppIds,
    /// Where WeChat Pay sends payment notifications (`{public_url}/callbacks/wechat/{mchid}`).
    pub notify_url: String,
    /// The official account's web authorisation, when its AppSecret is configured: what lets a
    /// channel-neutral order's checkout pay by JSAPI inside WeChat.
    pub oauth: Option<std::sync::Arc<super::WechatOauth>>,
}

/// The appids bound to the merchant. Each method pays under one of them, and a JSAPI openid is only
/// valid under the appid it was issued for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WechatAppIds {
    /// The official account (公众号): Native, JSAPI and H5.
    pub mp: String,
    /// The mini-program, if any.
    pub miniapp: Option<String>,
    /// The mobile App (open platform), if any.
    pub app: Option<String>,
}

impl WechatAppIds {
    /// The appid `method` pays under; `None` when the merchant has no such app, or the method is
    /// not a WeChat Pay one.
    #[must_use]
    pub fn for_method(&self, method: Method) -> Option<&str> {
        match method {
            Method::Native | Method::Jsapi | Method::H5 => Some(&self.mp),
            Method::Miniapp => self.miniapp.as_deref(),
            Method::App => self.app.as_deref(),
            Method::Qr | Method::Wap | Method::Page => None,
        }
    }
}

impl WechatAccount {
    /// The merchant with `config`'s client, its notifications addressed to this paygate at
    /// `public_url`.
    ///
    /// # Errors
    /// `Invalid` when the client cannot be built from `config`.
    pub fn new(
        config: wechatpay::Config,
        mchid: String,
        appids: WechatAppIds,
        public_url: &str,
    ) -> Result<Self, ChannelError> {
        let client = wechatpay::Client::new(config)
            .map_err(|e| ChannelError::Invalid(format!("WeChat Pay client: {e}")))?;
        Ok(Self {
            client,
            notify_url: notify_url(public_url, &mchid),
            mchid,
            appids,
            oauth: None,
        })
    }

    /// The merchant, with web authorisation under its official account.
    #[must_use]
    pub fn with_oauth(mut self, oauth: super::WechatOauth) -> Self {
        self.oauth = Some(std::sync::Arc::new(oauth));
        self
    }

    /// The merchant the operator configured.
    ///
    /// # Errors
    /// As [`WechatAccount::new`].
    pub fn from_settings(settings: WechatSettings, public_url: &str) -> Result<Self, ChannelError> {
        let appids = WechatAppIds {
            mp: settings.appid,
            miniapp: settings.miniapp_appid,
            app: settings.app_appid,
        };
        let oauth = settings.oauth;
        let account = Self::new(settings.client, settings.mchid, appids, public_url)?;
        Ok(match oauth {
            Some(oauth) => account.with_oauth(oauth),
            None => account,
        })
    }
}

/// Where WeChat Pay notifies this paygate about `mchid`'s orders (the callback route's path).
fn notify_url(public_url: &str, mchid: &str) -> String {
    format!(
        "{}/callbacks/wechat/{mchid}",
        public_url.trim_end_matches('/')
    )
}

// Hand-written so that no client internals (key handles, tokens) can ever reach a log line.
impl std::fmt::Debug for WechatAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAccount")
            .field("mchid", &self.mchid)
            .field("appids", &self.appids)
            .field("notify_url", &self.notify_url)
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}
