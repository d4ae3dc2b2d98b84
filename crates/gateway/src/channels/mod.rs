//! The gateway's view of the payment channels: one vocabulary (create, pay parameters, query,
//! close, refund and refund query, and reading a callback) over the WeChat Pay and Alipay clients,
//! mapping each `PayMethod` to its upstream call.
//!
//! Everything about one channel lives in its folder (`wechat/`, `alipay/`): the account built from
//! settings (`account.rs`), the calls (`mod.rs`, refunds in `refunds.rs`, profit-sharing splits in `splits.rs`), the request/response transformers with the one
//! status mapping that queries and callbacks share (`transformers.rs`), and callback verification,
//! decoding and answer format (`callback.rs`). This file only dispatches: adding a channel is a
//! folder plus its arms in the matches below.
//!
//! The order's `upstream_order_no` is the only order number a channel ever sees, and every request
//! is built from stored order fields alone, so a retried `create` (after a crash or a timeout)
//! sends the same content and the channel answers it idempotently with the same order.

mod alipay;
mod callback;
mod combined;
mod error;
mod pay_params;
mod refund;
mod split;
mod status;
mod wechat;

use std::sync::Arc;

pub use alipay::AlipayAccount;
pub use callback::{
    Callback, Confirm, NewsRefusal, Received, RefundNews, Rejection, Reply, ReplyBody, TradeNews,
};
pub use error::ChannelError;
pub use pay_params::{PayParams, WechatAppParams, WechatJsapiParams};
pub use refund::RefundState;
pub use split::{ShareOutcome, SplitState};
pub use status::UpstreamStatus;
pub use wechat::{OauthError, WechatAccount, WechatAppIds, WechatOauth, WechatPartner};

use callback::{NewsPayload, RefundNewsPayload};

use crate::domain::{
    Channel, Method, Order, OrderMethod, OrderRequest, PayMethod, ReceiverAccount, ReceiverType,
    Refund, RefundWindows, SiteReceiver, Split, SplitRatio, UpstreamFields, WechatSubMerchant,
};

/// The configured channel accounts. Cheap to clone.
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Accounts>,
}

struct Accounts {
    wechat: Option<WechatAccount>,
    alipay: Option<AlipayAccount>,
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

    /// How long after payment each channel takes a refund (WeChat Pay's is fixed; Alipay's is the
    /// configured account's contract).
    #[must_use]
    pub fn refund_windows(&self) -> RefundWindows {
        RefundWindows::with_alipay(self.inner.alipay.as_ref().map(|a| a.refund_window))
    }

    /// Whether orders of `method` can be created: its channel is configured and, for WeChat
    /// mini-program and App, the matching appid is.
    #[must_use]
    pub fn supports(&self, method: PayMethod) -> bool {
        self.target(method, None).is_ok()
    }

    /// Whether orders of `method` can be made for a site paid to `sub_merchant` (its own
    /// WeChat Pay sub-merchant, or the operator's merchant when `None`).
    #[must_use]
    pub fn supports_for(
        &self,
        method: PayMethod,
        sub_merchant: Option<&WechatSubMerchant>,
    ) -> bool {
        self.target(method, sub_merchant).is_ok()
    }

    /// Where the operator's fee on an order of `channel` paid to a site's own merchant goes by
    /// profit sharing: the WeChat Pay service provider itself, or the operator's own Alipay
    /// account, when its registered name is set. `None`: the fee is owed instead.
    #[must_use]
    pub fn fee_receiver(&self, channel: Channel) -> Option<SiteReceiver> {
        match channel {
            Channel::Wechat => {
                let partner = self.wechat_account()?.partner.as_ref()?;
                Some(SiteReceiver {
                    kind: ReceiverType::WechatMerchant,
                    account: ReceiverAccount::parse(&partner.sp_mchid).ok()?,
                    name: partner.fee_receiver_name.clone()?,
                })
            }
            Channel::Alipay => {
                let (account, name) = self.alipay_account()?.fee_receiver.clone()?;
                Some(SiteReceiver {
                    kind: ReceiverType::AlipayUserId,
                    account,
                    name,
                })
            }
        }
    }

    /// The WeChat Pay merchant, when configured.
    #[must_use]
    pub fn wechat_account(&self) -> Option<&WechatAccount> {
        self.inner.wechat.as_ref()
    }

    /// The Alipay app, when configured.
    #[must_use]
    pub fn alipay_account(&self) -> Option<&AlipayAccount> {
        self.inner.alipay.as_ref()
    }

    /// WeChat web authorisation under the official account, when configured.
    #[must_use]
    pub fn wechat_oauth(&self) -> Option<&WechatOauth> {
        self.inner.wechat.as_ref().and_then(|w| w.oauth.as_deref())
    }

    /// Every method [`Channels::supports`].
    #[must_use]
    pub fn supported(&self) -> Vec<PayMethod> {
        PayMethod::all()
            .into_iter()
            .filter(|m| self.supports(*m))
            .collect()
    }

    /// The account and call for `method`, for an order paid to `sub_merchant` (WeChat Pay's
    /// service provider then makes it) or to the operator's own merchant.
    fn target(
        &self,
        method: PayMethod,
        sub_merchant: Option<&WechatSubMerchant>,
    ) -> Result<Target<'_>, ChannelError> {
        let not_configured = || ChannelError::NotConfigured(method);
        match Route::of(method)? {
            Route::Wechat(kind) => {
                let account = self.inner.wechat.as_ref().ok_or_else(not_configured)?;
                let offered = match sub_merchant {
                    Some(sub) => wechat::partner::offers(account, sub, kind),
                    None => account.appids.for_method(method.method()).is_some(),
                };
                if !offered {
                    return Err(not_configured());
                }
                Ok(Target::Wechat(account, kind))
            }
            Route::Alipay(kind) => {
                let account = self.inner.alipay.as_ref().ok_or_else(not_configured)?;
                Ok(Target::Alipay(account, kind))
            }
        }
    }

    /// [`Channels::target`] for `order`, by its method and the sub-merchant it was stored for.
    fn target_of(&self, order: &Order) -> Result<Target<'_>, ChannelError> {
        let sub_merchant = match order.pay_method.channel() {
            Channel::Wechat => order.sub_merchant.as_ref(),
            Channel::Alipay => None,
        };
        self.target(order.pay_method, sub_merchant)
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
        match self.target_of(order)? {
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
        match self.target_of(order)? {
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
        match self.target_of(order)? {
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
        match self.target_of(order)? {
            Target::Wechat(account, _) => wechat::close(account, order).await,
            Target::Alipay(account, _) => alipay::close(account, order).await,
        }
    }

    /// Sends `refund` of `order` to the channel and says what it answered. Safe to repeat for the
    /// same stored refund: its upstream number makes the channel answer a repeat as the same
    /// refund, never a second one.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused` (final: the channel said no), `Unknown` (resolve with
    /// [`Channels::query_refund`]; never a failure).
    pub async fn refund(
        &self,
        order: &Order,
        refund: &Refund,
    ) -> Result<RefundState, ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => wechat::refunds::refund(account, order, refund).await,
            Target::Alipay(account, _) => alipay::refunds::refund(account, order, refund).await,
        }
    }

    /// Asks the channel what became of `refund`.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused`, `Unknown`.
    pub async fn query_refund(
        &self,
        order: &Order,
        refund: &Refund,
    ) -> Result<RefundState, ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => {
                wechat::refunds::query_refund(account, order, refund).await
            }
            Target::Alipay(account, _) => {
                alipay::refunds::query_refund(account, order, refund).await
            }
        }
    }

    /// How much of `order`'s payment its splits may take together: WeChat Pay's ratio for the
    /// merchant (30% for a direct one; a sub-merchant's own, asked of WeChat Pay), the whole of it
    /// on Alipay.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused`, `Unknown`.
    pub async fn split_ratio(&self, order: &Order) -> Result<SplitRatio, ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => wechat::splits::ratio(account, order).await,
            Target::Alipay(..) => Ok(SplitRatio::WHOLE),
        }
    }

    /// Makes sure the split's receivers are known to the channel, then sends `split` of `order`
    /// and says what the channel answered. Safe to repeat for the same stored split: its upstream
    /// number makes the channel answer a repeat as the same split.
    ///
    /// # Errors
    /// `NotConfigured`, `Invalid`, `Refused` (the channel said no), `Unknown` (resolve with
    /// [`Channels::query_split`]; never a failure).
    pub async fn split(&self, order: &Order, split: &Split) -> Result<SplitState, ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => wechat::splits::split(account, order, split).await,
            Target::Alipay(account, _) => alipay::splits::split(account, order, split).await,
        }
    }

    /// Has the channel unfreeze what `order` has left unsplit, under paygate's number
    /// `out_order_no` (safe to repeat): WeChat Pay's unfreeze call. Alipay unfreezes only with a
    /// settlement (`royalty_finish`), so it is `Invalid` there.
    ///
    /// # Errors
    /// `NotConfigured`, `Invalid`, `Refused`, `Unknown`.
    pub async fn unfreeze_rest(
        &self,
        order: &Order,
        out_order_no: &str,
    ) -> Result<(), ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => {
                wechat::splits::unfreeze(account, order, out_order_no).await
            }
            Target::Alipay(..) => Err(ChannelError::Invalid(
                "Alipay unfreezes a trade's rest only with a settlement (royalty_finish)"
                    .to_owned(),
            )),
        }
    }

    /// Asks the channel what became of `split`.
    ///
    /// # Errors
    /// `NotConfigured`, `Refused`, `Unknown`.
    pub async fn query_split(
        &self,
        order: &Order,
        split: &Split,
    ) -> Result<SplitState, ChannelError> {
        match self.target_of(order)? {
            Target::Wechat(account, _) => wechat::splits::query_split(account, order, split).await,
            Target::Alipay(account, _) => alipay::splits::query_split(account, order, split).await,
        }
    }

    /// Verifies and decodes a callback to `channel`'s account named in the path. Nothing in it is
    /// believed before this succeeds.
    ///
    /// # Errors
    /// `NotOurs` when paygate has no such account; otherwise why it was not accepted.
    pub async fn decode_callback(
        &self,
        channel: Channel,
        received: Received<'_>,
    ) -> Result<Callback, Rejection> {
        match channel {
            Channel::Wechat => {
                let account = self.inner.wechat.as_ref();
                let account = account
                    .filter(|a| a.receives_for(received.account))
                    .ok_or(Rejection::NotOurs)?;
                wechat::callback::decode(account, received).await
            }
            Channel::Alipay => {
                let account = self.inner.alipay.as_ref();
                let account = account
                    .filter(|a| a.app_id == received.account)
                    .ok_or(Rejection::NotOurs)?;
                alipay::callback::decode(account, received)
            }
        }
    }

    /// What verified news means for `order` (found by the news's order number, of the news's
    /// channel), by the same mapping as a query's answer.
    ///
    /// # Errors
    /// `Mismatch` when it names another merchant or app than the order's; `Malformed` when it
    /// lacks what it must carry.
    pub fn read_news(
        &self,
        news: &TradeNews,
        order: &Order,
    ) -> Result<UpstreamStatus, NewsRefusal> {
        match &news.payload {
            NewsPayload::Wechat(t) => match &self.inner.wechat {
                Some(account) => wechat::callback::read(account, t, order),
                // Decoded by an account that is gone: cannot be.
                None => Err(NewsRefusal::Mismatch(
                    "WeChat Pay news, and no WeChat Pay merchant".to_owned(),
                )),
            },
            NewsPayload::WechatCombined(news) => match &self.inner.wechat {
                Some(account) => wechat::combine::read(account, news, order),
                None => Err(NewsRefusal::Mismatch(
                    "WeChat Pay combined news, and no WeChat Pay merchant".to_owned(),
                )),
            },
            NewsPayload::WechatPartner(t) => match &self.inner.wechat {
                Some(account) => wechat::callback::read_partner(account, t, order),
                None => Err(NewsRefusal::Mismatch(
                    "WeChat Pay partner news, and no WeChat Pay merchant".to_owned(),
                )),
            },
            NewsPayload::Alipay(n) => match &self.inner.alipay {
                Some(account) => alipay::callback::read(account, n, order),
                None => Err(NewsRefusal::Mismatch(
                    "Alipay news, and no Alipay app".to_owned(),
                )),
            },
        }
    }

    /// What verified refund news means for `refund` of `order` (found by the news's refund number),
    /// by the same mapping as a refund query's answer.
    ///
    /// # Errors
    /// `Mismatch` when it names another merchant, order, refund or amount.
    pub fn read_refund_news(
        &self,
        news: &RefundNews,
        order: &Order,
        refund: &Refund,
    ) -> Result<RefundState, NewsRefusal> {
        match &news.payload {
            RefundNewsPayload::Wechat(notice) => match &self.inner.wechat {
                Some(account) => wechat::callback::read_refund(account, notice, order, refund),
                // Decoded by an account that is gone: cannot be.
                None => Err(NewsRefusal::Mismatch(
                    "WeChat Pay refund news, and no WeChat Pay merchant".to_owned(),
                )),
            },
        }
    }

    /// `reply` in `channel`'s own format.
    #[must_use]
    pub fn reply(channel: Channel, reply: Reply) -> ReplyBody {
        match channel {
            Channel::Wechat => wechat::callback::reply(reply),
            Channel::Alipay => alipay::callback::reply(reply),
        }
    }
}

/// For an Alipay order, the first merchant-supplied field of `request` that cannot be carried
/// unambiguously in Alipay's signed fields (it signs `k=v&k=v` over raw values: see its
/// transformer), if any. WeChat Pay's requests and callbacks are JSON, where every value is
/// quoted: `None` for its orders.
#[must_use]
pub fn alipay_unsignable_field(request: &OrderRequest) -> Option<&'static str> {
    match request.pay_method {
        OrderMethod::Fixed(m) if m.channel() == Channel::Wechat => None,
        // A channel-neutral order may be paid in Alipay.
        OrderMethod::Fixed(_) | OrderMethod::Any => alipay::unsignable_field(request),
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
pub(crate) mod test_order;
