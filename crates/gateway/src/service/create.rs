//! Creating an order: stored first, then sent upstream, then recorded as `pending`.

use crate::domain::{
    NewOrder, Order, OrderMethod, OrderRequest, OrderStatus, Origin, Site, SplitReceiver,
    Timestamp, UpstreamFields,
};
use crate::store::{InsertOutcome, NonceUse, Transition};

use super::{OrderService, OrderView, ServiceError, UpstreamOp, channel_error};

impl OrderService {
    /// Creates the site's order, or answers the same order again for the same request.
    ///
    /// The row is committed before the channel hears of the order, so a crash after the channel
    /// accepted it leaves a `created` row that the next create (or GET) completes with the same,
    /// idempotent upstream call — never a second upstream order.
    ///
    /// The signed request's `nonce` is used up in the transaction that stores the order (or finds
    /// it there, for a retry), and on its own when the request is refused before that: whatever
    /// the answer, a replay of the request is answered `NonceReused`, as the API's signature
    /// check answers every other replayed request. Only a database failure may leave it unused.
    ///
    /// # Errors
    /// `NonceReused`, `UnsignableForAlipay`, `PaymentNotConfigured`, `OutTradeNoConflict`, `UpstreamRefused` (the order stays `created`
    /// and a retry tries again), `UpstreamUnknown` (retry the same request), `Store`, `Channel`.
    pub async fn create(
        &self,
        site: &Site,
        request: OrderRequest,
        nonce: &NonceUse,
    ) -> Result<OrderView, ServiceError> {
        self.create_once(site, request, None, Some(nonce), Vec::new())
            .await
    }

    /// [`OrderService::create`] for a request of another protocol (EPay, weidoufu, Jeepay), which
    /// `origin` names with what the order must remember of it, and the `ledger` receivers (the
    /// site's own, with their amounts) it asks to be split to once paid. Those protocols have no
    /// nonce: a replayed request answers the same order, as any retry does.
    ///
    /// # Errors
    /// As [`OrderService::create`], but never `NonceReused`.
    pub async fn create_through(
        &self,
        site: &Site,
        request: OrderRequest,
        origin: Origin,
        ledger: Vec<SplitReceiver>,
    ) -> Result<OrderView, ServiceError> {
        self.create_once(site, request, Some(origin), None, ledger)
            .await
    }

    async fn create_once(
        &self,
        site: &Site,
        request: OrderRequest,
        origin: Option<Origin>,
        nonce: Option<&NonceUse>,
        ledger: Vec<SplitReceiver>,
    ) -> Result<OrderView, ServiceError> {
        let refused = |e: ServiceError| async move {
            if let Some(nonce) = nonce {
                self.use_nonce(nonce).await?;
            }
            Err(e)
        };
        let method = request.pay_method;
        if let Some(field) = crate::channels::alipay_unsignable_field(&request) {
            return refused(ServiceError::UnsignableForAlipay { field }).await;
        }
        let usable = match method {
            OrderMethod::Fixed(m) => {
                site.may_use(m)
                    && self
                        .channels
                        .supports_for(m, site.wechat_sub_merchant.as_ref())
            }
            OrderMethod::Any => !self.neutral_methods(site).is_empty(),
        };
        if !usable {
            return refused(ServiceError::PaymentNotConfigured(method)).await;
        }
        let plan = self.split_plan_for(site, &request, ledger).await?;
        let mut new = NewOrder::prepare(site.id.clone(), request, Timestamp::now())
            .first_checked_after(self.settings.order_check_after)
            .paid_to(site)
            .split_by(plan);
        if let Some(origin) = origin {
            new = new.made_through(origin);
        }
        let inserted = match nonce {
            Some(nonce) => self.store.insert_order_with_nonce(&new, nonce).await?,
            None => Some(self.store.insert_order_if_absent(&new).await?),
        };
        let (order, seen) = match inserted.ok_or(ServiceError::NonceReused)? {
            // This call made it: nobody else has sent it upstream yet.
            InsertOutcome::Inserted(order) => (order, Seen::JustInserted),
            InsertOutcome::Existing(order) if order.fingerprint == *new.fingerprint() => {
                (order, Seen::Earlier)
            }
            InsertOutcome::Existing(_) => return Err(ServiceError::OutTradeNoConflict),
        };
        let order = self.send_upstream_seen(order, seen).await?;
        self.view(order).await
    }

    /// Uses up the nonce of a create refused before its order is stored, as every signed request
    /// uses its nonce up: a replay of the request is then told it is one (`NonceReused`), not
    /// refused again for its content.
    ///
    /// # Errors
    /// `NonceReused`, `Store`.
    pub async fn use_nonce(&self, nonce: &NonceUse) -> Result<(), ServiceError> {
        let fresh = self
            .store
            .remember_nonce(&nonce.ak, &nonce.nonce, nonce.at, nonce.retention)
            .await?;
        if fresh {
            Ok(())
        } else {
            Err(ServiceError::NonceReused)
        }
    }

    /// Sends a `created` order to its channel and records it as `pending`; any other status is
    /// returned as it is. Idempotent: the channel call is, and the status change is a
    /// compare-and-set that a concurrent request may win (its result is then the answer).
    pub(super) async fn send_upstream(&self, order: Order) -> Result<Order, ServiceError> {
        self.send_upstream_seen(order, Seen::Earlier).await
    }

    async fn send_upstream_seen(&self, order: Order, seen: Seen) -> Result<Order, ServiceError> {
        if order.status != OrderStatus::Created {
            return Ok(order);
        }
        let _serialised = self.locks.lock(order.id).await;
        // Whoever held the lock before may have finished the job. An order this very call just
        // inserted is read again only if that could be so: a retry racing its first request
        // may, rarely, send it upstream too, which the channel answers as the same order and the
        // status's compare-and-set settles.
        let order = match seen {
            Seen::JustInserted => order,
            Seen::Earlier => self
                .store
                .find_order(&order.site_id, &order.out_trade_no)
                .await?
                .ok_or(ServiceError::NotFound)?,
        };
        if order.status != OrderStatus::Created {
            return Ok(order);
        }
        if order.combine_no.is_some() {
            // A sub-order goes upstream only with its combined order: the platform's same
            // request sends it.
            return Ok(order);
        }
        if order.neutral {
            // Nothing to send: each app the payer opens the checkout in gets its own upstream
            // order then.
            return self.awaiting_payer(&order).await;
        }
        let channel = order.pay_method.channel();
        let fields = match self.create_upstream(&order).await {
            Ok(fields) => fields,
            Err(e) => {
                let e = channel_error(channel, UpstreamOp::Create, e);
                if let ServiceError::UpstreamRefused { code, message, .. } = &e {
                    self.record_refusal(&order, code, message).await;
                }
                return Err(e);
            }
        };
        // Test builds only (the `failpoints` feature): a release build has no such code path.
        #[cfg(feature = "failpoints")]
        self.hang_at(super::Failpoint::HangAfterUpstreamCreate)
            .await;
        let transition = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Pending,
            reason: "upstream_accepted".to_owned(),
            upstream: fields,
            at: Timestamp::now(),
        };
        // Lost: another node (or the payer's callback) moved the order first; its state is the answer.
        Ok(self.store.transition(&transition).await?.order().clone())
    }

    /// A channel-neutral order is `pending` as soon as it is stored: it waits for the payer.
    async fn awaiting_payer(&self, order: &Order) -> Result<Order, ServiceError> {
        let transition = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Pending,
            reason: "awaiting_payer".to_owned(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        };
        Ok(self.store.transition(&transition).await?.into_order())
    }

    /// Keeps the channel's refusal on the order (for the operator); the order stays `created`, so
    /// the same request may try again. Failing to record it must not hide the refusal itself.
    async fn record_refusal(&self, order: &Order, code: &str, message: &str) {
        let fields = UpstreamFields {
            error: Some(format!("{code}: {message}")),
            ..UpstreamFields::default()
        };
        let recorded = self
            .store
            .record_upstream_result(order.id, OrderStatus::Created, &fields, Timestamp::now())
            .await;
        if let Err(e) = recorded {
            tracing::error!(order = order.id.as_i64(), error = %e, "could not record upstream refusal");
        }
    }
}

/// How a caller came by the order it sends upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Inserted by this very call.
    JustInserted,
    /// Read earlier; someone may have sent it meanwhile.
    Earlier,
}
