//! Reading orders, and resolving one whose upstream outcome paygate does not know yet.

use crate::channels::UpstreamStatus;
use crate::domain::{CheckoutToken, Order, OrderStatus, OutTradeNo, Site, Timestamp};

use super::payments::{Applied, ResultSource};
use super::{OrderService, OrderView, ServiceError, site_order};

/// What asking the channel about an order on demand found ([`OrderService::check_now`]).
#[derive(Debug, Clone)]
pub enum ChannelCheck {
    /// The channel answered `said` (its status in paygate's words: `not_paid`, `paying`, `paid`,
    /// `failed`, `closed`, `refunded`, `not_found`), and the answer was recorded as any query's
    /// is; the order as it is now.
    Answered { said: &'static str, order: Order },
    /// The channel could not be asked, or did not answer clearly; nothing changed.
    Failed { error: String, order: Order },
    /// A channel-neutral order no app has paid: its check job, which asks each of its upstream
    /// orders, was made due now.
    Scheduled { order: Order },
}

impl OrderService {
    /// `site`'s statement of `day` (see [`Statement`]).
    ///
    /// # Errors
    /// `Store`.
    pub async fn statement(
        &self,
        site: &crate::domain::SiteId,
        day: crate::domain::BillDay,
    ) -> Result<crate::domain::Statement, ServiceError> {
        Ok(self.store.statement(site, day).await?)
    }

    /// Asks the channel about one of the site's orders now, whatever its check schedule, and
    /// records the answer through [`OrderService::apply_upstream`] like the order check does (a
    /// payment is recorded and notified, a contradiction becomes an anomaly).
    ///
    /// # Errors
    /// `NotFound` (also for another site's order), `Store`.
    pub async fn check_now(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
    ) -> Result<ChannelCheck, ServiceError> {
        let order = site_order(&self.store, site, out_trade_no).await?;
        if order.is_unbound() {
            self.store
                .expedite_check(order.id, Timestamp::now())
                .await?;
            return Ok(ChannelCheck::Scheduled { order });
        }
        match self.query_channel(&order).await {
            Ok(news) => {
                let said = upstream_word(&news);
                let order = self.record_news(order, news).await?;
                Ok(ChannelCheck::Answered { said, order })
            }
            Err(e) => Ok(ChannelCheck::Failed {
                error: e.to_string(),
                order,
            }),
        }
    }

    /// One of the site's orders. An order still `created` (its upstream answer was lost to a crash
    /// or a timeout) is resolved first, so the site sees what the channel knows.
    ///
    /// # Errors
    /// `NotFound` (also for another site's order with the same number), `Store`, `Channel`.
    pub async fn get(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
    ) -> Result<OrderView, ServiceError> {
        let order = site_order(&self.store, site, out_trade_no).await?;
        let order = self.resolve(order).await?;
        self.view(order).await
    }

    /// The order a checkout token belongs to, as stored. No upstream call: whoever holds the token
    /// may poll this from a browser every few seconds, and must not be able to make paygate call
    /// the channel that often.
    ///
    /// # Errors
    /// `NotFound`, `Store`, `Channel`.
    pub async fn by_token(&self, token: &CheckoutToken) -> Result<OrderView, ServiceError> {
        self.view(self.order_by_token(token).await?).await
    }

    /// This process's hub of order change signals, for status streams to watch.
    #[must_use]
    pub fn order_changes(&self) -> &crate::live::OrderChanges {
        self.store.order_changes()
    }

    /// The order alone, for status polling: browsers poll it every few seconds, and building the
    /// view would sign pay parameters (an RSA operation for most methods) only to throw them away.
    pub async fn order_by_token(&self, token: &CheckoutToken) -> Result<Order, ServiceError> {
        self.store
            .find_order_by_token(token)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// For a `created` order, asks the channel and records what it says: paid, closed or failed
    /// orders are moved there; one the channel has (or may create on demand) is completed with the
    /// idempotent create call. Any other status, or a channel that cannot be reached, leaves the
    /// order as it is: a read must still answer what paygate knows.
    pub(super) async fn resolve(&self, order: Order) -> Result<Order, ServiceError> {
        if order.status != OrderStatus::Created {
            return Ok(order);
        }
        if order.neutral {
            // Stored, and a crash came before it was marked pending: nothing upstream to ask.
            return self.send_upstream(order).await;
        }
        let Some(upstream) = self.query(&order).await else {
            return Ok(order);
        };
        match upstream {
            // The channel has it (or, for Alipay's QR/WAP/page/App, creates it when the payer
            // opens it): the same create call gives back its pay parameters.
            UpstreamStatus::NotPaid | UpstreamStatus::Paying | UpstreamStatus::NotFound => {
                match self.send_upstream(order.clone()).await {
                    Ok(done) => Ok(done),
                    Err(e) => {
                        tracing::warn!(order = order.id.as_i64(), error = %e, "could not complete a created order");
                        Ok(order)
                    }
                }
            }
            news => self.record_news(order, news).await,
        }
    }

    /// Asks the channel about an order that is `created` or `pending` and records a final answer
    /// (paid, failed, closed); used when a close was refused, to tell "already paid" apart.
    pub(super) async fn refresh(&self, order: Order) -> Result<Order, ServiceError> {
        match self.query(&order).await {
            Some(news) => self.record_news(order, news).await,
            None => Ok(order),
        }
    }

    async fn query(&self, order: &Order) -> Option<UpstreamStatus> {
        self.query_channel(order).await.ok()
    }

    /// Records what the channel reported through the one place that turns upstream news into a
    /// state change (amount check, anomaly, CAS, notification in the same transaction).
    async fn record_news(&self, order: Order, news: UpstreamStatus) -> Result<Order, ServiceError> {
        match self
            .apply_upstream(&order, &news, ResultSource::Query)
            .await?
        {
            Applied::Changed(now) | Applied::Unchanged(now) => Ok(now),
            // Already recorded as an anomaly; a read still answers what paygate knows.
            Applied::Refused(_) => Ok(order),
        }
    }
}

fn upstream_word(news: &UpstreamStatus) -> &'static str {
    match news {
        UpstreamStatus::NotPaid => "not_paid",
        UpstreamStatus::Paying => "paying",
        UpstreamStatus::Paid { .. } => "paid",
        UpstreamStatus::Failed => "failed",
        UpstreamStatus::Closed => "closed",
        UpstreamStatus::Refunded => "refunded",
        UpstreamStatus::NotFound => "not_found",
    }
}
