//! The gateway's view of the payment channels: one vocabulary (create, pay parameters, query, close)
//! over the WeChat Pay and Alipay clients, mapping each `PayMethod` to its upstream call.
//!
//! One module per channel (`wechat`, `alipay`), each with its request/response transformers beside
//! it. The order's `upstream_order_no` is the only order number a channel ever sees, and every
//! request is built from stored order fields alone, so a retried `create` (after a crash or a
//! timeout) sends the same content and the channel answers it idempotently with the same order.

mod alipay;
mod error;
mod pay_params;
mod status;
mod wechat;

use std::sync::Arc;

pub use error::ChannelError;
pub use pay_params::{PayParams, WechatAppParams, WechatJsapiParams};
pub use status::UpstreamStatus;

use crate::domain::{Channel, Method, Order, OrderRequest, PayMethod, UpstreamFields};

/// The configured channel accounts. Cheap to clone.
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Accounts>,
}

struct Accounts {
    wechat: Option<WechatAccount>,
    alipay: Option<AlipayAccount>,
}

/// A WeChat Pay merchant: its client and the appids its methods pay under.
#[derive(Clone)]
pub struct WechatAccount {
    pub client: wechatpay::Client,
    pub mchid: String,
    pub appids: WechatAppIds,
    /// Where WeChat Pay sends payment notifications (`{public_url}/callbacks/wechat/{mchid}`).
    pub notify_url: String,
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

/// An Alipay app: its client and where Alipay sends the payer and its notifications.
#[derive(Clone)]
pub struct AlipayAccount {
    pub client: ::alipay::Client,
    pub app_id: String,
    /// Where Alipay sends payment notifications (`{public_url}/callbacks/alipay/{app_id}`).
    pub notify_url: String,
    /// Where a WAP or page payment sends the payer's browser afterwards.
    pub return_url: Option<String>,
}

// Hand-written so that no client internals (key handles, tokens) can ever reach a log line.
impl std::fmt::Debug for WechatAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAccount")
            .field("mchid", &self.mchid)
            .field("appids", &self.appids)
            .field("notify_url", &self.notify_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AlipayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayAccount")
            .field("app_id", &self.app_id)
            .field("notify_url", &self.notify_url)
            .field("return_url", &self.return_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("wechat", &self.inner.wechat)
            .field("alipay", &self.inner.alipay)
            .finish()
    }
}

/// Which upstream call a pay method is.
#[derive(Debug, Clone, Copy)]
enum Route {
    Wechat(wechat::Kind),
    Alipay(alipay::Kind),
}

impl Route {
    /// The one place that lists every channel × method. `PayMethod` only holds combinations a
    /// channel offers, so the `Invalid` arms cannot be reached; they are listed rather than hidden
    /// behind `_` so that a new method must be placed here.
    fn of(pay_method: PayMethod) -> Result<Self, ChannelError> {
        let impossible = || ChannelError::Invalid(format!("{pay_method} is not a payment method"));
        match pay_method.channel() {
            Channel::Wechat => match pay_method.method() {
                Method::Native => Ok(Self::Wechat(wechat::Kind::Native)),
                Method::Jsapi => Ok(Self::Wechat(wechat::Kind::Jsapi)),
                Method::Miniapp => Ok(Self::Wechat(wechat::Kind::Miniapp)),
                Method::H5 => Ok(Self::Wechat(wechat::Kind::H5)),
                Method::App => Ok(Self::Wechat(wechat::Kind::App)),
                Method::Qr | Method::Wap | Method::Page => Err(impossible()),
            },
            Channel::Alipay => match pay_method.method() {
                Method::Qr => Ok(Self::Alipay(alipay::Kind::Qr)),
                Method::Jsapi => Ok(Self::Alipay(alipay::Kind::Jsapi)),
                Method::Miniapp => Ok(Self::Alipay(alipay::Kind::Miniapp)),
                Method::Wap => Ok(Self::Alipay(alipay::Kind::Wap)),
                Method::Page => Ok(Self::Alipay(alipay::Kind::Page)),
                Method::App => Ok(Self::Alipay(alipay::Kind::App)),
                Method::Native | Method::H5 => Err(impossible()),
            },
        }
    }
}

/// A routed call: the account and the method's kind on it.
enum Target<'a> {
    Wechat(&'a WechatAccount, wechat::Kind),
    Alipay(&'a AlipayAccount, alipay::Kind),
}

impl Channels {
    #[must_use]
    pub fn new(wechat: Option<WechatAccount>, alipay: Option<AlipayAccount>) -> Self {
        Self {
            inner: Arc::new(Accounts { wechat, alipay }),
        }
    }

    /// The WeChat Pay account, if configured (for callback verification).
    #[must_use]
    pub fn wechat(&self) -> Option<&WechatAccount> {
        self.inner.wechat.as_ref()
    }

    /// The Alipay account, if configured (for callback verification).
    #[must_use]
    pub fn alipay(&self) -> Option<&AlipayAccount> {
        self.inner.alipay.as_ref()
    }

    /// Whether orders of `method` can be created: its channel is configured and, for WeChat
    /// mini-program and App, the matching appid is.
    #[must_use]
    pub fn supports(&self, method: PayMethod) -> bool {
        self.target(method).is_ok()
    }

    /// Every method [`Channels::supports`].
    #[must_use]
    pub fn supported(&self) -> Vec<PayMethod> {
        PayMethod::all()
            .into_iter()
            .filter(|m| self.supports(*m))
            .collect()
    }

    fn target(&self, method: PayMethod) -> Result<Target<'_>, ChannelError> {
        let not_configured = || ChannelError::NotConfigured(method);
        match Route::of(method)? {
            Route::Wechat(kind) => {
                let account = self.inner.wechat.as_ref().ok_or_else(not_configured)?;
                kind.appid(&account.appids).ok_or_else(not_configured)?;
                Ok(Target::Wechat(account, kind))
            }
            Route::Alipay(kind) => {
                let account = self.inner.alipay.as_ref().ok_or_else(not_configured)?;
                Ok(Target::Alipay(account, kind))
            }
        }
    }

    /// Creates the order upstream and returns what the channel answered (`code_url`, `prepay_id`,
    /// `h5_url`, `qr_code`, `trade_no`). Alipay WAP, page and App payments have no server call:
    /// the payer's browser or app brings the signed request to Alipay, so nothing comes back here.
    ///
    /// Safe to repeat for the same stored order: the request is built from stored fields only
    /// (including `time_expire` = `expires_at`), so the channel recognises the repeat and answers
    /// with the same order instead of creating a second one.
    ///
    /// # Errors
    /// `NotConfigured`, `Invalid` (a payer field the method needs is missing), `Refused`, `Unknown`
    /// (resolve with [`Channels::query`]).
    pub async fn create(&self, order: &Order) -> Result<UpstreamFields, ChannelError> {
        match self.target(order.pay_method)? {
            Target::Wechat(account, kind) => wechat::create(account, kind, order).await,
            Target::Alipay(account, kind) => alipay::create(account, kind, order).await,
        }
    }

    /// The pay parameters of the order's method, from its stored upstream fields. Methods that need
    /// a signature (WeChat JSAPI, mini-program and App; Alipay WAP, page and App) are signed afresh
    /// on every call, with a new timestamp and nonce.
    ///
    /// # Errors
    /// `NotConfigured`; `Invalid` when the upstream field the method needs is not stored yet
    /// (the order was never created upstream).
    pub fn pay_params(&self, order: &Order) -> Result<PayParams, ChannelError> {
        match self.target(order.pay_method)? {
            Target::Wechat(account, kind) => wechat::pay_params(account, kind, order),
            Target::Alipay(account, kind) => alipay::pay_params(account, kind, order),
        }
    }

    /// Asks the channel what became of the order.
    ///
    /// Alipay reports a fully refunded trade as `TRADE_CLOSED`, the same as one closed unpaid; it is
    /// reported as `Refunded` when the answer shows a payment (`send_pay_date`, a buyer amount) or
    /// paygate already knows the order as paid, since a paid trade can never close unpaid.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused`, `Unknown`.
    pub async fn query(&self, order: &Order) -> Result<UpstreamStatus, ChannelError> {
        match self.target(order.pay_method)? {
            Target::Wechat(account, _) => wechat::query(account, order).await,
            Target::Alipay(account, _) => alipay::query(account, order).await,
        }
    }

    /// Closes the order upstream so that it can no longer be paid. Closing an already closed order
    /// is `Ok`; closing a paid one is `Refused` (`ORDERPAID`, `ACQ.TRADE_STATUS_ERROR`).
    ///
    /// An order the channel never received is `Refused` with its not-found code
    /// ([`ChannelError::is_not_found`]). On WeChat Pay that means nothing can be paid (unless a
    /// create is still in flight). On Alipay it is normal for QR, WAP, page and App payments the
    /// payer has not opened yet, and they *can* still be paid until `time_expire`; paygate must
    /// not treat them as closed before then.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused`, `Unknown`.
    pub async fn close(&self, order: &Order) -> Result<(), ChannelError> {
        match self.target(order.pay_method)? {
            Target::Wechat(account, _) => wechat::close(account, order).await,
            Target::Alipay(account, _) => alipay::close(account, order).await,
        }
    }
}

/// For an Alipay order, the first merchant-supplied field of `request` that cannot be carried
/// unambiguously in Alipay's signed fields (it signs `k=v&k=v` over raw values: see its
/// transformer), if any. WeChat Pay's requests and callbacks are JSON, where every value is
/// quoted: `None` for its orders.
#[must_use]
pub fn alipay_unsignable_field(request: &OrderRequest) -> Option<&'static str> {
    match request.pay_method.channel() {
        Channel::Wechat => None,
        Channel::Alipay => alipay::unsignable_field(request),
    }
}

/// A stored upstream field the pay parameters need (`name` is the field, for the message);
/// `Invalid` when the order was never created upstream.
fn stored(order: &Order, field: Option<&String>, name: &str) -> Result<String, ChannelError> {
    field.cloned().ok_or_else(|| {
        ChannelError::Invalid(format!(
            "{} has no {name} yet: create it upstream first",
            order.pay_method
        ))
    })
}

#[cfg(test)]
mod test_order;
