//! Closing an order: upstream first (so it can no longer be paid), then here.

use crate::channels::ChannelError;
use crate::domain::{Channel, Order, OrderStatus, OutTradeNo, Site, Timestamp, UpstreamFields};
use crate::store::Transition;

use super::{OrderService, OrderView, ServiceError, UpstreamOp, channel_error, site_order};

impl OrderService {
    /// Closes one of the site's orders. Closing a closed order again answers it as it is.
    ///
    /// A `created` order is closed upstream too: its upstream order may exist (a crash or a lost
    /// answer after the channel accepted it), and closing here alone would leave it payable there.
    ///
    /// # Errors
    /// `NotFound` (also for another site's order), `AlreadyPaid` (paid or refunded),
    /// `NotClosable` (failed), `UpstreamRefused`/`UpstreamUnknown` from the channel's close.
    pub async fn close(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
    ) -> Result<OrderView, ServiceError> {
        let order = site_order(&self.store, site, out_trade_no).await?;
        let order = match order.status {
            OrderStatus::Closed => order,
            OrderStatus::Paid | OrderStatus::Refunded => {
                return Err(ServiceError::AlreadyPaid(order.status));
            }
            OrderStatus::Failed => return Err(ServiceError::NotClosable(order.status)),
            OrderStatus::Created | OrderStatus::Pending => self.close_open(order).await?,
        };
        self.view(order).await
    }

    async fn close_open(&self, order: Order) -> Result<Order, ServiceError> {
        let serialised = self.locks.lock(order.id).await;
        match self.close_upstream(&order).await {
            Ok(()) => {}
            // The channel never had it. For a `created` order nobody outside paygate has its pay
            // parameters, so nothing can be paid: close it here. A `pending` Alipay order the payer
            // has not opened yet can still be paid until it expires, so it cannot be closed now.
            Err((view, e)) if e.is_not_found() => {
                if order.status == OrderStatus::Pending
                    && view.pay_method.channel() == Channel::Alipay
                {
                    return Err(ServiceError::NotYetClosable {
                        expires_at: order.expires_at,
                    });
                }
            }
            Err((view, e)) => {
                // Release before querying: nothing below needs the channel serialised.
                drop(serialised);
                let channel = view.pay_method.channel();
                return self.after_refused_close(view, channel, e).await;
            }
        }
        let transition = Transition {
            order_id: order.id,
            from: order.status,
            to: OrderStatus::Closed,
            reason: "closed_by_site".to_owned(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        };
        let outcome = self.store.transition(&transition).await?;
        let current = outcome.order().clone();
        // Lost the compare-and-set: the payer's callback (paid) or another close got there first.
        match current.status {
            OrderStatus::Closed => {
                self.sweep_attempts(&current).await;
                Ok(current)
            }
            OrderStatus::Paid | OrderStatus::Refunded => {
                Err(ServiceError::AlreadyPaid(current.status))
            }
            OrderStatus::Failed => Err(ServiceError::NotClosable(current.status)),
            // Moved from created to pending while we closed upstream: closed there, so close here.
            OrderStatus::Created | OrderStatus::Pending => {
                let again = Transition {
                    from: current.status,
                    ..transition
                };
                Ok(self.store.transition(&again).await?.order().clone())
            }
        }
    }

    /// Closes the order upstream: its own upstream order, or every pay attempt of a
    /// channel-neutral one. A failure comes with the order as the failing call saw it.
    async fn close_upstream(&self, order: &Order) -> Result<(), (Order, ChannelError)> {
        if order.is_unbound() {
            return self.close_attempts(order, None).await;
        }
        self.close_channel(order)
            .await
            .map_err(|e| (order.clone(), e))
    }

    /// The usual refusal of a close is "already paid": find out, record it, and say so.
    async fn after_refused_close(
        &self,
        order: Order,
        channel: Channel,
        e: ChannelError,
    ) -> Result<Order, ServiceError> {
        let current = self.refresh(order).await?;
        match current.status {
            OrderStatus::Paid | OrderStatus::Refunded => {
                Err(ServiceError::AlreadyPaid(current.status))
            }
            OrderStatus::Closed => Ok(current),
            OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => {
                Err(channel_error(channel, UpstreamOp::Close, e))
            }
        }
    }
}
