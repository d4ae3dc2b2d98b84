//! A WeChat Pay merchant as paygate uses it: its client, its appids, and where WeChat Pay sends
//! its notifications. Built from the operator's `[wechat]` settings, or (sandbox mode) from a
//! client configuration pointed at the simulator.

use crate::config::WechatSettings;
use crate::domain::{Method, ReceiverName};

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
    /// The operator as a service provider, when configured: what orders of sites served as
    /// sub-merchants are made through.
    pub partner: Option<WechatPartner>,
}

/// The operator as a WeChat Pay service provider (服务商): its client (signing as `sp_mchid`),
/// and the official account its sub-merchants' payers pay under.
#[derive(Clone)]
pub struct WechatPartner {
    pub client: wechatpay::Client,
    pub sp_mchid: String,
    /// The service provider's official account: Native, JSAPI (`sp_openid`) and H5 orders.
    pub sp_appid: String,
    /// `{public_url}/callbacks/wechat/{sp_mchid}`.
    pub notify_url: String,
    /// The service provider's registered name (`wechat.sp_name`), which WeChat Pay needs to add
    /// it as the receiver of the operator's fee; without it no fee is taken by profit sharing.
    pub fee_receiver_name: Option<ReceiverName>,
}

impl WechatPartner {
    /// The service provider `sp_mchid` with `client` (which signs as `sp_mchid`), notified at
    /// this paygate's `public_url`.
    #[must_use]
    pub fn new(
        client: wechatpay::Client,
        sp_mchid: String,
        sp_appid: String,
        public_url: &str,
    ) -> Self {
        Self {
            client,
            notify_url: notify_url(public_url, &sp_mchid),
            sp_mchid,
            sp_appid,
            fee_receiver_name: None,
        }
    }

    /// Takes the operator's fee from sub-merchants' payments by profit sharing, to the service
    /// provider registered under `name`.
    #[must_use]
    pub fn with_fee_receiver_name(mut self, name: ReceiverName) -> Self {
        self.fee_receiver_name = Some(name);
        self
    }
}

impl std::fmt::Debug for WechatPartner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPartner")
            .field("sp_mchid", &self.sp_mchid)
            .field("sp_appid", &self.sp_appid)
            .field("notify_url", &self.notify_url)
            .finish_non_exhaustive()
    }
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
            partner: None,
        })
    }

    /// The merchant, also serving sub-merchants as the service provider `partner`.
    #[must_use]
    pub fn with_partner(mut self, partner: WechatPartner) -> Self {
        self.partner = Some(partner);
        self
    }

    /// Whether a callback to `mchid` is one of this account's: the direct merchant's or the
    /// service provider's.
    #[must_use]
    pub fn receives_for(&self, mchid: &str) -> bool {
        self.mchid == mchid || self.partner.as_ref().is_some_and(|p| p.sp_mchid == mchid)
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
        let service_provider = settings.service_provider;
        let mut account = Self::new(settings.client, settings.mchid, appids, public_url)?;
        if let Some(oauth) = oauth {
            account = account.with_oauth(oauth);
        }
        if let Some(sp) = service_provider {
            // One merchant number is one client: an operator that is only a service provider
            // configures the same number twice.
            let client = match sp.client {
                None => account.client.clone(),
                Some(config) => wechatpay::Client::new(config).map_err(|e| {
                    ChannelError::Invalid(format!("WeChat Pay service provider client: {e}"))
                })?,
            };
            let mut partner = WechatPartner::new(client, sp.sp_mchid, sp.sp_appid, public_url);
            if let Some(name) = sp.sp_name {
                partner = partner.with_fee_receiver_name(name);
            }
            account = account.with_partner(partner);
        }
        Ok(account)
    }
}

/// Where WeChat Pay notifies this paygate about `mchid`'s orders (the callback route's path).
fn notify_url(public_url: &str, mchid: &str) -> String {
    format!(
        "{}/callbacks/wechat/{mchid}",
        public_url.trim_end_matches('/')
    )
}

impl WechatAccount {
    /// Where WeChat Pay notifies this paygate about `mchid` at `public_url`: its orders, refunds,
    /// and the shares of splits it receives.
    #[must_use]
    pub fn callback_url(public_url: &str, mchid: &str) -> String {
        notify_url(public_url, mchid)
    }
}

// Hand-written so that no client internals (key handles, tokens) can ever reach a log line.
impl std::fmt::Debug for WechatAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAccount")
            .field("mchid", &self.mchid)
            .field("appids", &self.appids)
            .field("notify_url", &self.notify_url)
            .field("oauth", &self.oauth)
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}
