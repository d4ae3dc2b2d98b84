//! Channel-neutral orders: one upstream order (a pay attempt) per app the payer opens the checkout
//! in, under the same paygate order. The attempt is made when the app is known; the first one paid
//! is the order's payment (`apply_upstream` binds the order to it), and the others are closed.

use std::time::Duration;

use crate::channels::{ChannelError, PayParams};
use crate::domain::{
    Channel, Method, Order, OrderStatus, PayAttempt, PayAttemptId, PayMethod, Payer, Site,
    Timestamp,
};

use super::{OrderService, ServiceError, UpstreamOp, channel_error};

/// The methods a channel-neutral order can be paid by, in the order a desktop page shows them.
pub const NEUTRAL_METHODS: [(Channel, Method); 5] = [
    (Channel::Wechat, Method::Native),
    (Channel::Alipay, Method::Qr),
    (Channel::Wechat, Method::Jsapi),
    (Channel::Wechat, Method::H5),
    (Channel::Alipay, Method::Wap),
];

/// WeChat Pay's `h5_url` expires five minutes after it was issued; one older than this is asked
/// for again, so a payer never lands on an expired link.
const H5_URL_FRESH: Duration = Duration::from_secs(4 * 60);

impl OrderService {
    /// The methods of [`NEUTRAL_METHODS`] that `site` may use and paygate has an account for.
    #[must_use]
    pub fn neutral_methods(&self, site: &Site) -> Vec<PayMethod> {
        NEUTRAL_METHODS
            .iter()
            .filter_map(|(c, m)| PayMethod::new(*c, *m).ok())
            .filter(|m| {
                site.may_use(*m)
                    && self
                        .channels
                        .supports_for(*m, site.wechat_sub_merchant.as_ref())
            })
            // Inside WeChat a JSAPI payment needs the payer's openid, which only web
            // authorisation under the official account gives.
            .filter(|m| m.method() != Method::Jsapi || self.channels.wechat_oauth().is_some())
            .collect()
    }

    /// The order as the channel sees it through the attempt that serves a payer paying by
    /// `method` as `payer`: the existing attempt when there is one (a WeChat H5 link is asked for
    /// again when it is old), or a new one, stored before the channel hears of it.
    ///
    /// # Errors
    /// `NotFound` (not a channel-neutral order), `NotPayable` (no longer pending, or expired),
    /// `PaymentNotConfigured`, the channel's errors on create, `Store`.
    pub async fn attempt(
        &self,
        order: &Order,
        method: PayMethod,
        payer: Payer,
    ) -> Result<Order, ServiceError> {
        if !order.neutral {
            return Err(ServiceError::NotFound);
        }
        let site = self
            .store
            .find_site(&order.site_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !self.neutral_methods(&site).contains(&method) {
            return Err(ServiceError::PaymentNotConfigured(method.into()));
        }
        let _serialised = self.locks.lock(order.id).await;
        // Closing takes the same lock: an attempt is never made for an order being closed.
        let order = self
            .store
            .order_by_id(order.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let now = Timestamp::now();
        if !order.awaits_payer(now) {
            return Err(ServiceError::NotPayable(order.status));
        }
        let existing = self.store.pay_attempts(order.id).await?;
        let attempt = match existing.into_iter().find(|a| a.serves(method, &payer)) {
            Some(a) if is_fresh(&a, now) => return Ok(order.through(&a)),
            Some(a) => a,
            None => {
                self.store
                    .insert_pay_attempt(order.id, method, &payer, now)
                    .await?
            }
        };
        let view = order.through(&attempt);
        let fields = self
            .create_upstream(&view)
            .await
            .map_err(|e| channel_error(method.channel(), UpstreamOp::Create, e))?;
        let attempt = self
            .store
            .record_pay_attempt(attempt.id, &fields, Timestamp::now())
            .await?;
        // Paid through another app, or closed, while the channel was creating this one (on another
        // node, or by a payment, which takes no lock): its parameters must not be handed out, and
        // what the channel just made is closed again.
        let now_order = self
            .store
            .order_by_id(order.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if now_order.status != OrderStatus::Pending
            || !now_order.is_unbound()
            || attempt.closed_at.is_some()
        {
            let late = order.through(&attempt);
            match self.close_channel(&late).await {
                Ok(()) => self.attempt_closed(&late).await?,
                Err(e) if e.is_not_found() && late.pay_method.channel() != Channel::Alipay => {
                    self.attempt_closed(&late).await?;
                }
                Err(e) => {
                    tracing::warn!(order = order.id.as_i64(), error = %e, "could not close a pay attempt made as its order ended; it expires with the order");
                }
            }
            return Err(ServiceError::NotPayable(now_order.status));
        }
        Ok(order.through(&attempt))
    }

    /// The pay parameters of an order, or of an order seen through one of its attempts (signed
    /// afresh).
    ///
    /// # Errors
    /// As the channel's; `Channel` when the attempt was never answered upstream.
    pub async fn pay_params_of(&self, view: &Order) -> Result<PayParams, ServiceError> {
        let channel_error = |e| channel_error(view.pay_method.channel(), UpstreamOp::Create, e);
        let authorised = self.authorised(view).await.map_err(channel_error)?;
        self.channels.pay_params(&authorised).map_err(channel_error)
    }

    /// Whether WeChat web authorisation is configured (JSAPI inside WeChat needs it).
    #[must_use]
    pub fn wechat_oauth(&self) -> Option<&crate::channels::WechatOauth> {
        self.channels.wechat_oauth()
    }

    /// The order seen through each of its attempts that may still be paid.
    ///
    /// # Errors
    /// `Store`.
    pub async fn open_attempts(&self, order: &Order) -> Result<Vec<Order>, ServiceError> {
        Ok(self
            .store
            .pay_attempts(order.id)
            .await?
            .iter()
            .filter(|a| a.closed_at.is_none())
            .map(|a| order.through(a))
            .collect())
    }

    /// Marks the attempt `view` is seen through as closed upstream.
    ///
    /// # Errors
    /// `Store`.
    pub async fn attempt_closed(&self, view: &Order) -> Result<(), ServiceError> {
        if let Some(id) = view.attempt {
            self.store.close_pay_attempt(id, Timestamp::now()).await?;
        }
        Ok(())
    }

    /// Closes upstream every open attempt of `order` but `except`, and marks those the channel
    /// closed (or never had). Each is tried; the first failure is returned, with the view it was
    /// about, and the others are still closed.
    pub(super) async fn close_attempts(
        &self,
        order: &Order,
        except: Option<PayAttemptId>,
    ) -> Result<(), (Order, ChannelError)> {
        let views = match self.open_attempts(order).await {
            Ok(views) => views,
            Err(e) => {
                let e = ChannelError::Invalid(format!("could not read pay attempts: {e}"));
                return Err((order.clone(), e));
            }
        };
        // A refusal or an unclear answer outranks an unopened Alipay order: "already paid" must
        // not be hidden behind "not yet closable".
        let mut failure = None;
        let mut unopened = None;
        for view in views.into_iter().filter(|v| v.attempt != except) {
            match self.close_channel(&view).await {
                Ok(()) => {}
                // An Alipay QR/WAP order the payer never opened can still be opened until it
                // expires: not closed, and said so to whoever asked for the close.
                Err(e) if e.is_not_found() && view.pay_method.channel() == Channel::Alipay => {
                    unopened.get_or_insert((view, e));
                    continue;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::warn!(order = order.id.as_i64(), upstream = view.upstream_order_no.as_str(), error = %e, "could not close a pay attempt");
                    failure.get_or_insert((view, e));
                    continue;
                }
            }
            if let Err(e) = self.attempt_closed(&view).await {
                tracing::error!(order = order.id.as_i64(), error = %e, "could not record a closed pay attempt");
            }
        }
        match failure.or(unopened) {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// After a channel-neutral order was closed: an attempt another node made while it closed is
    /// closed too (each attempt's maker re-reads the order once the channel answered, and this
    /// sweep covers the maker that read it just before the close).
    pub(crate) async fn sweep_attempts(&self, closed: &Order) {
        if !closed.neutral {
            return;
        }
        if let Err((view, e)) = self.close_attempts(closed, None).await {
            tracing::warn!(order = closed.id.as_i64(), upstream = view.upstream_order_no.as_str(), error = %e, "a pay attempt of a closed order is not closed; it expires with the order");
        }
    }

    /// After a channel-neutral order was paid through one attempt: the others are closed, so
    /// that no second payment can follow. In the background, so that the callback that brought
    /// the payment is answered at once. A crash before it finishes leaves them to expire at the
    /// order's expiry (every attempt carries it upstream); a payment made meanwhile reaches paygate
    /// as an anomaly, never as a second payment of the order.
    pub(super) fn close_other_attempts(&self, paid: &Order, through: PayAttemptId) {
        let service = self.clone();
        let order = paid.clone();
        tokio::spawn(async move {
            if let Err((view, e)) = service.close_attempts(&order, Some(through)).await {
                tracing::warn!(order = order.id.as_i64(), upstream = view.upstream_order_no.as_str(), error = %e, "another pay attempt of a paid order is not closed; it expires with the order");
            }
        });
    }
}

/// Whether the attempt's pay parameters can be handed out as they are: a WeChat H5 link only for
/// a few minutes, everything else once the channel answered (Alipay's browser payments have no
/// server call, so there is nothing to wait for).
fn is_fresh(attempt: &PayAttempt, now: Timestamp) -> bool {
    let answered = &attempt.upstream;
    match (attempt.pay_method.channel(), attempt.pay_method.method()) {
        (Channel::Wechat, Method::H5) => {
            answered.h5_url.is_some() && now < attempt.updated_at.plus(H5_URL_FRESH)
        }
        (Channel::Wechat, Method::Native) => answered.code_url.is_some(),
        (Channel::Wechat, _) => answered.prepay_id.is_some(),
        (Channel::Alipay, Method::Qr) => answered.qr_code.is_some(),
        (Channel::Alipay, _) => true,
    }
}
