//! Every call paygate makes to a channel, counted in `paygate_upstream_calls_total` by one helper:
//! the order service's own calls and those of the order checker and the callbacks, which go
//! through it.

use std::borrow::Cow;

use crate::channels::{ChannelError, RefundState, SplitState, UpstreamStatus};
use crate::domain::{
    Channel, Order, OrderId, Refund, Split, SplitRatio, UpstreamFields, UpstreamOrderNo,
    UpstreamRefundNo,
};

use super::{OrderService, ServiceError};

impl OrderService {
    /// `order` as its channel calls must be made: an Alipay order paid to a merchant that
    /// authorised the operator's app carries that merchant's `app_auth_token`, read from its site
    /// now (a token the merchant renewed is the one used). When the site no longer has a token for
    /// that account, the order is handed on without one and the channel layer refuses to call.
    pub(super) async fn authorised<'a>(
        &self,
        order: &'a Order,
    ) -> Result<Cow<'a, Order>, ChannelError> {
        let Some(seller) = &order.alipay_seller_id else {
            return Ok(Cow::Borrowed(order));
        };
        if order.pay_method.channel() != Channel::Alipay || order.alipay_auth.is_some() {
            return Ok(Cow::Borrowed(order));
        }
        let site =
            self.store
                .find_site(&order.site_id)
                .await
                .map_err(|e| ChannelError::Unknown {
                    channel: Channel::Alipay,
                    message: format!("reading the order's Alipay merchant: {e}"),
                })?;
        let token = site
            .and_then(|s| s.alipay_merchant)
            .filter(|m| m.seller_id == *seller)
            .map(|m| m.app_auth_token);
        Ok(match token {
            Some(token) => Cow::Owned(order.clone().authorised_by(token)),
            None => Cow::Borrowed(order),
        })
    }

    /// Creates `order` upstream (idempotent for the same stored order; see
    /// [`Channels::create`](crate::channels::Channels::create)).
    pub(super) async fn create_upstream(
        &self,
        order: &Order,
    ) -> Result<UpstreamFields, ChannelError> {
        counted(
            order,
            "create",
            match own_upstream(order) {
                Ok(()) => match self.authorised(order).await {
                    Ok(order) => self.channels.create(&order).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
        )
    }

    /// Asks the channel what became of `order`. A failure is logged here.
    ///
    /// # Errors
    /// As [`Channels::query`](crate::channels::Channels::query).
    pub async fn query_channel(&self, order: &Order) -> Result<UpstreamStatus, ChannelError> {
        let result = match own_upstream(order) {
            Ok(()) => match self.authorised(order).await {
                Ok(authorised) => counted(order, "query", self.channels.query(&authorised).await),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(order = order.id.as_i64(), error = %e, "order query failed");
        }
        result
    }

    /// Closes `order` upstream.
    ///
    /// # Errors
    /// As [`Channels::close`](crate::channels::Channels::close).
    pub async fn close_channel(&self, order: &Order) -> Result<(), ChannelError> {
        own_upstream(order)?;
        if let Some(combine_no) = &order.combine_no {
            // WeChat Pay closes a combined order's sub-orders together: closing one closes all,
            // and each sibling's own check then finds it closed.
            let subs = self
                .store
                .sub_orders_of_combined(combine_no)
                .await
                .map_err(|e| ChannelError::Unknown {
                    channel: Channel::Wechat,
                    message: format!("reading the combined order's sub-orders: {e}"),
                })?;
            return counted(
                order,
                "close",
                self.channels.close_combined(combine_no, &subs).await,
            );
        }
        let authorised = self.authorised(order).await?;
        counted(order, "close", self.channels.close(&authorised).await)
    }

    /// Sends `refund` of `order` upstream (idempotent for the same stored refund; see
    /// [`Channels::refund`](crate::channels::Channels::refund)).
    pub(super) async fn refund_upstream(
        &self,
        order: &Order,
        refund: &Refund,
    ) -> Result<RefundState, ChannelError> {
        own_upstream(order)?;
        let authorised = self.authorised(order).await?;
        counted(
            order,
            "refund",
            self.channels.refund(&authorised, refund).await,
        )
    }

    /// Asks the channel what became of `refund`. A failure is logged here.
    ///
    /// # Errors
    /// As [`Channels::query_refund`](crate::channels::Channels::query_refund).
    pub async fn query_refund_channel(
        &self,
        order: &Order,
        refund: &Refund,
    ) -> Result<RefundState, ChannelError> {
        let result = match self.authorised(order).await {
            Ok(authorised) => counted(
                order,
                "refund_query",
                self.channels.query_refund(&authorised, refund).await,
            ),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(refund = refund.id, error = %e, "refund query failed");
        }
        result
    }

    /// How much of `order` its splits may take (see
    /// [`Channels::split_ratio`](crate::channels::Channels::split_ratio)).
    pub(super) async fn split_ratio_upstream(
        &self,
        order: &Order,
    ) -> Result<SplitRatio, ChannelError> {
        own_upstream(order)?;
        let authorised = self.authorised(order).await?;
        counted(
            order,
            "split_ratio",
            self.channels.split_ratio(&authorised).await,
        )
    }

    /// Sends `split` of `order` upstream (idempotent for the same stored split; see
    /// [`Channels::split`](crate::channels::Channels::split)).
    pub(super) async fn split_upstream(
        &self,
        order: &Order,
        split: &Split,
    ) -> Result<SplitState, ChannelError> {
        own_upstream(order)?;
        let authorised = self.authorised(order).await?;
        counted(
            order,
            "split",
            self.channels.split(&authorised, split).await,
        )
    }

    /// Asks the channel what became of `split`. A failure is logged here.
    ///
    /// # Errors
    /// As [`Channels::query_split`](crate::channels::Channels::query_split).
    pub async fn query_split_channel(
        &self,
        order: &Order,
        split: &Split,
    ) -> Result<SplitState, ChannelError> {
        let result = match self.authorised(order).await {
            Ok(authorised) => counted(
                order,
                "split_query",
                self.channels.query_split(&authorised, split).await,
            ),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(split = split.id, error = %e, "split query failed");
        }
        result
    }

    /// The order with `id`, as stored (for the order checker, whose jobs name orders by id).
    ///
    /// # Errors
    /// `Store`.
    pub async fn order_by_id(&self, id: OrderId) -> Result<Option<Order>, ServiceError> {
        Ok(self.store.order_by_id(id).await?)
    }

    /// The refund with this upstream refund number, as stored (for callbacks, which name refunds
    /// so).
    ///
    /// # Errors
    /// `Store`.
    pub async fn refund_by_upstream_no(
        &self,
        no: &UpstreamRefundNo,
    ) -> Result<Option<Refund>, ServiceError> {
        Ok(self.store.find_refund_by_upstream_no(no).await?)
    }

    /// The order with this upstream order number, as stored (for callbacks, which name orders so);
    /// for the number of one of a channel-neutral order's pay attempts, the order seen through
    /// that attempt.
    ///
    /// # Errors
    /// `Store`.
    pub async fn order_by_upstream_no(
        &self,
        no: &UpstreamOrderNo,
    ) -> Result<Option<Order>, ServiceError> {
        if let Some(order) = self.store.find_order_by_upstream_no(no).await? {
            return Ok(Some(order));
        }
        let Some(attempt) = self.store.find_pay_attempt_by_upstream_no(no).await? else {
            return Ok(None);
        };
        let order = self.store.order_by_id(attempt.order_id).await?;
        Ok(order.map(|o| o.through(&attempt)))
    }
}

/// A channel-neutral order no attempt has paid has no upstream order of its own: every channel
/// call about it goes through its attempts. Refused here, so a slip can never send its
/// placeholder method and number to a channel.
fn own_upstream(order: &Order) -> Result<(), ChannelError> {
    if order.is_unbound() {
        return Err(ChannelError::Invalid(format!(
            "order {} is channel-neutral: its channel calls go through its pay attempts",
            order.id.as_i64()
        )));
    }
    Ok(())
}

/// Counts one channel call by its result, and hands the result on.
fn counted<T>(
    order: &Order,
    operation: &'static str,
    result: Result<T, ChannelError>,
) -> Result<T, ChannelError> {
    let outcome = match &result {
        Ok(_) => "ok",
        Err(ChannelError::Refused { .. }) => "refused",
        Err(ChannelError::Unknown { .. }) => "unknown",
        Err(ChannelError::NotConfigured(_)) => "not_configured",
        Err(ChannelError::Invalid(_)) => "invalid",
    };
    metrics::counter!(
        "paygate_upstream_calls_total",
        "channel" => order.pay_method.channel().as_str(),
        "operation" => operation,
        "outcome" => outcome,
    )
    .increment(1);
    result
}
