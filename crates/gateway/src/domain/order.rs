//! An order: what a site asks for (`OrderRequest`), what paygate stores for it (`NewOrder`), and
//! what it reads back (`Order`).

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{
    AlipaySellerId, Amount, AppAuthToken, Attach, CheckoutToken, Currency, Description,
    ExpireMinutes, NotifyUrl, OrderMethod, OrderStatus, Origin, OutTradeNo, PayAttempt,
    PayAttemptId, PayMethod, Payer, ReturnUrl, Site, SiteId, SplitPlan, Timestamp, UpstreamOrderNo,
    WechatSubMerchant,
};

/// paygate's row id of an order. Internal: sites name orders by their `out_trade_no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(i64);

impl OrderId {
    #[must_use]
    pub const fn from_i64(id: i64) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn as_i64(self) -> i64 {
        self.0
    }
}

/// The content of a create request, already parsed: everything that makes two requests "the same".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub out_trade_no: OutTradeNo,
    pub pay_method: OrderMethod,
    pub amount: Amount,
    pub currency: Currency,
    pub description: Description,
    pub attach: Option<Attach>,
    pub notify_url: Option<NotifyUrl>,
    /// Where the payer's browser goes once paid.
    pub return_url: Option<ReturnUrl>,
    pub payer: Payer,
    pub expire_minutes: ExpireMinutes,
    /// Made for profit sharing (分账): the channel keeps its money frozen until it is split.
    pub profit_sharing: bool,
}

impl OrderRequest {
    /// A hash of the request's content. A retried create with the same fingerprint gets the existing
    /// order back; a different one for the same `out_trade_no` is a conflict. It is taken over the
    /// parsed values, so spelling differences that mean the same (an omitted `currency` vs `"CNY"`,
    /// key order in the JSON) do not count as different content. A field added later
    /// (`return_url`) counts only when given, so an order created before it keeps its fingerprint
    /// and its retries still match.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of("v1", self.fingerprint_fields())
    }

    fn fingerprint_fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<&str>| v.map_or_else(String::new, |s| format!("={s}"));
        let mut fields: Vec<(&str, String)> = vec![
            ("out_trade_no", self.out_trade_no.as_str().to_owned()),
            ("channel", self.pay_method.channel_name().to_owned()),
            ("method", self.pay_method.method_name().to_owned()),
            ("amount_fen", self.amount.as_i64().to_string()),
            ("currency", self.currency.as_str().to_owned()),
            ("description", self.description.as_str().to_owned()),
            ("attach", opt(self.attach.as_ref().map(Attach::as_str))),
            (
                "notify_url",
                opt(self.notify_url.as_ref().map(NotifyUrl::as_str)),
            ),
            (
                "openid",
                opt(self.payer.openid.as_ref().map(super::Openid::as_str)),
            ),
            (
                "buyer_id",
                opt(self.payer.buyer_id.as_ref().map(super::BuyerId::as_str)),
            ),
            (
                "client_ip",
                opt(self.payer.client_ip.map(|ip| ip.to_string()).as_deref()),
            ),
            ("expire_minutes", self.expire_minutes.get().to_string()),
        ];
        if let Some(url) = &self.return_url {
            fields.push(("return_url", url.as_str().to_owned()));
        }
        if self.profit_sharing {
            fields.push(("profit_sharing", "true".to_owned()));
        }
        fields
    }
}

/// The content hash of a create request (see [`OrderRequest::fingerprint`]). Versioned (`v1:`) so
/// that a later change of what counts as content does not turn old retries into conflicts silently.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// `{version}:` and the SHA-256 of the named fields, each length-prefixed so that no value can
    /// imitate a field boundary.
    pub(crate) fn of<'a>(
        version: &str,
        fields: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Self {
        let mut hash = Sha256::new();
        for (name, value) in fields {
            hash.update((name.len() as u64).to_be_bytes());
            hash.update(name.as_bytes());
            hash.update((value.len() as u64).to_be_bytes());
            hash.update(value.as_bytes());
        }
        Self(format!("{version}:{}", hex::encode(hash.finalize())))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For values read back from the database, which only ever stores what [`OrderRequest::fingerprint`] made.
    #[must_use]
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// An order about to be stored: the request plus what paygate adds to it. Only [`NewOrder::prepare`]
/// makes one, so the fingerprint always matches the request and the numbers are always fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    site_id: SiteId,
    request: OrderRequest,
    origin: Option<Origin>,
    sub_merchant: Option<WechatSubMerchant>,
    alipay_seller_id: Option<AlipaySellerId>,
    split_plan: Option<SplitPlan>,
    fingerprint: Fingerprint,
    upstream_order_no: UpstreamOrderNo,
    checkout_token: CheckoutToken,
    created_at: Timestamp,
    expires_at: Timestamp,
    first_check_at: Timestamp,
}

impl NewOrder {
    /// Numbers the order, gives it a checkout token and its expiry.
    #[must_use]
    pub fn prepare(site_id: SiteId, request: OrderRequest, now: Timestamp) -> Self {
        let expires_at = Timestamp::from_millis(
            now.as_millis()
                .saturating_add(request.expire_minutes.as_millis()),
        );
        Self {
            site_id,
            fingerprint: request.fingerprint(),
            request,
            origin: None,
            sub_merchant: None,
            alipay_seller_id: None,
            split_plan: None,
            upstream_order_no: UpstreamOrderNo::generate(now),
            checkout_token: CheckoutToken::generate(),
            created_at: now,
            expires_at,
            first_check_at: now,
        }
    }

    /// Made through another protocol, which its fingerprint includes: a retry through the same
    /// protocol must repeat what it remembers too.
    #[must_use]
    pub fn made_through(mut self, origin: Origin) -> Self {
        let fields = self.request.fingerprint_fields();
        let fields = fields
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .chain(origin.fingerprint_fields());
        self.fingerprint = Fingerprint::of("v1", fields);
        self.origin = Some(origin);
        self
    }

    /// Split by paygate once paid, as `plan` says (an empty plan is none). Such an order is
    /// made for profit sharing: the channel must keep its money frozen until the plan's splits.
    #[must_use]
    pub fn split_by(mut self, plan: SplitPlan) -> Self {
        self.split_plan = (!plan.is_empty()).then_some(plan);
        self
    }

    /// Made for profit sharing: asked by the site, or needed by the order's split plan.
    #[must_use]
    pub fn profit_sharing(&self) -> bool {
        self.request.profit_sharing || self.split_plan.is_some()
    }

    #[must_use]
    pub fn split_plan(&self) -> Option<&SplitPlan> {
        self.split_plan.as_ref()
    }

    /// Paid to the merchants `site` is served as (its WeChat Pay sub-merchant, its Alipay
    /// merchant), if any, instead of the operator's own. Not part of the fingerprint: they are the
    /// site's settings, not the request's content.
    #[must_use]
    pub fn paid_to(mut self, site: &Site) -> Self {
        self.sub_merchant = site.wechat_sub_merchant.clone();
        self.alipay_seller_id = site.alipay_merchant.as_ref().map(|m| m.seller_id.clone());
        self
    }

    /// The order's check job due `delay` after creation instead of at once, but never after the
    /// order expires (expiry must not wait for a check).
    #[must_use]
    pub fn first_checked_after(mut self, delay: Duration) -> Self {
        self.first_check_at = self.created_at.plus(delay).min(self.expires_at);
        self
    }

    #[must_use]
    pub fn site_id(&self) -> &SiteId {
        &self.site_id
    }

    #[must_use]
    pub fn request(&self) -> &OrderRequest {
        &self.request
    }

    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    #[must_use]
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    #[must_use]
    pub fn sub_merchant(&self) -> Option<&WechatSubMerchant> {
        self.sub_merchant.as_ref()
    }

    #[must_use]
    pub fn alipay_seller_id(&self) -> Option<&AlipaySellerId> {
        self.alipay_seller_id.as_ref()
    }

    #[must_use]
    pub fn upstream_order_no(&self) -> &UpstreamOrderNo {
        &self.upstream_order_no
    }

    #[must_use]
    pub fn checkout_token(&self) -> &CheckoutToken {
        &self.checkout_token
    }

    #[must_use]
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// When the order's check job is first due: its creation unless [`NewOrder::first_checked_after`].
    #[must_use]
    pub fn first_check_at(&self) -> Timestamp {
        self.first_check_at
    }
}

/// What the channel said about an order. Every field is optional: an update sets only what it
/// carries and never erases what an earlier answer recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpstreamFields {
    /// WeChat Pay: `prepay_id` (JSAPI, mini-program, App).
    pub prepay_id: Option<String>,
    /// WeChat Pay Native: the QR code's `code_url`.
    pub code_url: Option<String>,
    /// WeChat Pay H5: `h5_url`.
    pub h5_url: Option<String>,
    /// Alipay precreate: `qr_code`.
    pub qr_code: Option<String>,
    /// WeChat Pay's payment id, known once paid.
    pub transaction_id: Option<String>,
    /// Alipay's `trade_no`.
    pub trade_no: Option<String>,
    /// The channel's refusal (code and message), for failed orders.
    pub error: Option<String>,
}

/// A stored order, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub site_id: SiteId,
    pub out_trade_no: OutTradeNo,
    /// The number the channel knows the order by. For a channel-neutral order, once paid, the
    /// paying attempt's; before that a number no channel ever sees.
    pub upstream_order_no: UpstreamOrderNo,
    /// For a channel-neutral order, once paid, the paying attempt's method; before that a
    /// placeholder (see [`Order::is_unbound`]).
    pub pay_method: PayMethod,
    /// Created without a fixed method: each app the payer opens it in gets a pay attempt.
    pub neutral: bool,
    /// Set on a view of the order through one of its pay attempts ([`Order::through`]): the
    /// channel calls made with that view are the attempt's.
    pub attempt: Option<PayAttemptId>,
    pub amount: Amount,
    pub currency: Currency,
    pub description: Description,
    pub attach: Option<Attach>,
    pub notify_url: Option<NotifyUrl>,
    pub return_url: Option<ReturnUrl>,
    pub payer: Payer,
    /// The protocol it was made through, when not paygate's own API.
    pub origin: Option<Origin>,
    /// The WeChat Pay sub-merchant it is paid to, when its site was served as one at creation.
    pub sub_merchant: Option<WechatSubMerchant>,
    /// The Alipay merchant it is paid to, when its site was served as one at creation.
    pub alipay_seller_id: Option<AlipaySellerId>,
    /// Made for profit sharing: only such an order can be split.
    pub profit_sharing: bool,
    /// What paygate splits of it once it is paid (the receivers its site named, the operator's
    /// fee from a sub-merchant), fixed when it was made.
    pub split_plan: Option<SplitPlan>,
    /// Set on a view of the order for a channel call ([`Order::authorised_by`]): that merchant's
    /// `app_auth_token`, which every Alipay call about the order must carry. Never stored with
    /// the order.
    pub alipay_auth: Option<AppAuthToken>,
    /// For a sub-order of a combined order: that order's number at WeChat Pay, through which the
    /// sub-order is queried and closed (WeChat Pay does not answer a sub-order's own number).
    pub combine_no: Option<UpstreamOrderNo>,
    pub fingerprint: Fingerprint,
    pub status: OrderStatus,
    pub checkout_token: CheckoutToken,
    pub upstream: UpstreamFields,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Incremented on every change; what a compare-and-set on the whole row would compare.
    pub version: i64,
}

impl Order {
    /// A channel-neutral order that no attempt has paid yet: its own method and upstream number
    /// are placeholders, and every channel call goes through its attempts.
    #[must_use]
    pub fn is_unbound(&self) -> bool {
        self.neutral && self.attempt.is_none() && self.paid_at.is_none()
    }

    /// A channel-neutral order still waiting for its payer at `now`: pending, unbound, not expired.
    /// Only then may an app's upstream order be made for it.
    #[must_use]
    pub fn awaits_payer(&self, now: Timestamp) -> bool {
        self.is_unbound() && self.status == OrderStatus::Pending && self.expires_at > now
    }

    /// How the site asked for it to be paid (`any` until a neutral order is paid).
    #[must_use]
    pub fn order_method(&self) -> OrderMethod {
        if self.is_unbound() {
            OrderMethod::Any
        } else {
            OrderMethod::Fixed(self.pay_method)
        }
    }

    /// The order as the channel sees it through `attempt`: the attempt's method, upstream number,
    /// payer and pay parameters, and the order's amount, description and expiry.
    #[must_use]
    pub fn through(&self, attempt: &PayAttempt) -> Self {
        Self {
            upstream_order_no: attempt.upstream_order_no.clone(),
            pay_method: attempt.pay_method,
            payer: attempt.payer.clone(),
            attempt: Some(attempt.id),
            upstream: UpstreamFields {
                transaction_id: self.upstream.transaction_id.clone(),
                trade_no: self.upstream.trade_no.clone(),
                ..attempt.upstream.clone()
            },
            ..self.clone()
        }
    }

    /// The order as an Alipay call about it must be made: carrying the token of the merchant it is
    /// paid to.
    #[must_use]
    pub fn authorised_by(mut self, token: AppAuthToken) -> Self {
        self.alipay_auth = Some(token);
        self
    }

    /// True when `request` is the same content as the one this order was created from.
    #[must_use]
    pub fn was_created_from(&self, request: &OrderRequest) -> bool {
        self.fingerprint == request.fingerprint()
    }
}

/// One recorded status change of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub order_id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub reason: String,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, Method};

    /// What [`OrderRequest::fingerprint`] gave the seed's example order before `return_url`.
    const PINNED_FINGERPRINT: &str =
        "v1:0499effe591bfd86e404e841d58ef7655978cf6ae75579516b3d8cc1b361c288";

    fn request() -> OrderRequest {
        OrderRequest {
            out_trade_no: OutTradeNo::parse("order_20240101_001").unwrap(),
            pay_method: PayMethod::new(Channel::Wechat, Method::Native)
                .unwrap()
                .into(),
            amount: Amount::parse(2990).unwrap(),
            currency: Currency::Cny,
            description: Description::parse("VIP月卡").unwrap(),
            attach: None,
            notify_url: None,
            return_url: None,
            payer: Payer::default(),
            expire_minutes: ExpireMinutes::default(),
            profit_sharing: false,
        }
    }

    /// The fingerprint of the seed's example order, as paygate stored it before `return_url`
    /// existed: it must never change, or retries of orders created then would become conflicts.
    #[test]
    fn orders_without_a_return_url_keep_the_fingerprint_they_had() {
        assert_eq!(request().fingerprint().as_str(), PINNED_FINGERPRINT);
        let mut with_return = request();
        with_return.return_url = Some(ReturnUrl::parse("https://shop.example/done").unwrap());
        assert_ne!(with_return.fingerprint(), request().fingerprint());
        assert!(with_return.fingerprint().as_str().starts_with("v1:"));
    }

    #[test]
    fn fingerprint_is_stable_and_sees_every_content_change() {
        let base = request();
        assert_eq!(base.fingerprint(), request().fingerprint());
        assert!(base.fingerprint().as_str().starts_with("v1:"));
        let mut changed = vec![];
        let mut r = request();
        r.amount = Amount::parse(2991).unwrap();
        changed.push(r);
        let mut r = request();
        r.description = Description::parse("VIP年卡").unwrap();
        changed.push(r);
        let mut r = request();
        r.attach = Some(Attach::parse("x").unwrap());
        changed.push(r);
        let mut r = request();
        r.expire_minutes = ExpireMinutes::parse(30).unwrap();
        changed.push(r);
        let mut r = request();
        r.pay_method = PayMethod::new(Channel::Wechat, Method::H5).unwrap().into();
        changed.push(r);
        let mut r = request();
        r.pay_method = OrderMethod::Any;
        changed.push(r);
        for r in changed {
            assert_ne!(r.fingerprint(), base.fingerprint(), "{r:?}");
        }
    }

    #[test]
    fn an_empty_optional_is_not_an_absent_one() {
        let mut with_notify = request();
        with_notify.notify_url = Some(NotifyUrl::parse("https://e.com/n").unwrap());
        assert_ne!(with_notify.fingerprint(), request().fingerprint());
    }

    #[test]
    fn prepare_sets_expiry_and_fresh_numbers() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        let a = NewOrder::prepare(SiteId::parse("site_1").unwrap(), request(), now);
        let b = NewOrder::prepare(SiteId::parse("site_1").unwrap(), request(), now);
        assert_eq!(a.expires_at.as_millis() - now.as_millis(), 15 * 60_000);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.upstream_order_no, b.upstream_order_no);
        assert_ne!(a.checkout_token, b.checkout_token);
    }

    #[test]
    fn the_first_check_is_at_creation_or_after_a_delay_but_never_after_expiry() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        let new = || NewOrder::prepare(SiteId::parse("site_1").unwrap(), request(), now);
        assert_eq!(new().first_check_at(), now);
        let minute = new().first_checked_after(Duration::from_secs(60));
        assert_eq!(minute.first_check_at(), now.plus(Duration::from_secs(60)));
        // Expiring after 15 minutes: a first step of an hour waits only until then.
        let hour = new().first_checked_after(Duration::from_secs(3600));
        assert_eq!(hour.first_check_at(), hour.expires_at());
    }
}
