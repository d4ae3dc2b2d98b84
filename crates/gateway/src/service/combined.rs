//! Combined orders (合单): a platform site's one payment for sub-orders of itself and of the sites
//! the operator let it combine for. Each sub-order is an ordinary order of its own site, stored
//! with the combined order in one transaction; they go upstream together and are `pending`
//! together. From then on each is its own site's order: read, notified, refunded alone.

use crate::channels::PayParams;
use crate::domain::{
    Channel, CheckoutToken, CombinedOrder, CombinedRequest, NewCombinedOrder, NewOrder, Order,
    OrderStatus, OutTradeNo, PayMethod, Site, SiteId, SiteStatus, Timestamp, UpstreamOrderNo,
};
use crate::store::{CombinedInsert, Transition};

use super::{OrderService, ServiceError, UpstreamOp, channel_error};

/// Why a combined order was refused or not found.
#[derive(Debug, thiserror::Error)]
pub enum CombineError {
    /// A sub-order is for a site the platform may not combine for.
    #[error("site {0} is not one this site may combine orders for")]
    NotAllowed(SiteId),
    /// A sub-order is for a site the operator disabled.
    #[error("site {0} is disabled")]
    MemberDisabled(SiteId),
    /// A sub-order's site may not use the combined order's method.
    #[error("site {site} may not use {method}")]
    MethodNotEnabled { site: SiteId, method: PayMethod },
    /// Sub-orders of sites served as WeChat Pay sub-merchants beside sub-orders paid to the
    /// operator's own merchant: WeChat Pay combines either the direct merchant's orders or one
    /// service provider's sub-merchants', never both.
    #[error(
        "site {0} is paid to another kind of WeChat Pay merchant than the other sub-orders (the operator's own merchant or its sub-merchants); a combined order is of one kind"
    )]
    MerchantsMixed(SiteId),
    /// The platform has a combined order of this number, asked with other content.
    #[error("combine_out_trade_no is already used by a combined order with different content")]
    Conflict,
    /// A sub-order's site already has an order of its number.
    #[error("site {site} already has an order {out_trade_no}")]
    SubOrderTaken {
        site: SiteId,
        out_trade_no: OutTradeNo,
    },
    /// No combined order of the signing site has this number.
    #[error("combined order not found")]
    NotFound,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for CombineError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Service(e.into())
    }
}

/// A combined order with its sub-orders (in the order asked) and, while they are payable, the pay
/// parameters they share.
#[derive(Debug, Clone)]
pub struct CombinedView {
    pub combined: CombinedOrder,
    pub sub_orders: Vec<Order>,
    pub pay_params: Option<PayParams>,
    /// The payer's checkout page of the whole combined order.
    pub checkout_url: String,
}

impl OrderService {
    /// Makes the platform's combined order, or answers the same one again for the same request.
    ///
    /// Every sub-order's site is checked first (the platform itself, or a member it may combine
    /// for that is active and may use the method), and all of them are paid to the operator's
    /// merchant or all to sub-merchants of its service provider; nothing is stored when one
    /// fails. Then all of it is stored in one transaction, and sent upstream as
    /// one combined order; a create that failed upstream leaves the sub-orders `created`, and the
    /// same request tries again.
    ///
    /// # Errors
    /// Every [`CombineError`]; `Service` with `PaymentNotConfigured`, `UpstreamRefused`,
    /// `UpstreamUnknown`, `Store`, `Channel`.
    pub async fn create_combined(
        &self,
        platform: &Site,
        request: CombinedRequest,
    ) -> Result<CombinedView, CombineError> {
        let method = request.pay_method;
        if method.channel() != Channel::Wechat
            || !self.channels.supports(method)
            || !platform.may_use(method)
        {
            return Err(ServiceError::PaymentNotConfigured(method.into()).into());
        }
        let members = self.store.combine_members(&platform.id).await?;
        let now = Timestamp::now();
        let mut subs = Vec::with_capacity(request.sub_orders.len());
        for sub in &request.sub_orders {
            let site = if sub.site_id == platform.id {
                platform.clone()
            } else if members.contains(&sub.site_id) {
                self.store
                    .find_site(&sub.site_id)
                    .await?
                    .ok_or_else(|| CombineError::NotAllowed(sub.site_id.clone()))?
            } else {
                return Err(CombineError::NotAllowed(sub.site_id.clone()));
            };
            member_may_combine(&site, method)?;
            let served = site.wechat_sub_merchant.is_some();
            if subs
                .first()
                .is_some_and(|o: &NewOrder| o.sub_merchant().is_some() != served)
            {
                return Err(CombineError::MerchantsMixed(site.id.clone()));
            }
            if !self
                .channels
                .supports_for(method, site.wechat_sub_merchant.as_ref())
            {
                return Err(ServiceError::PaymentNotConfigured(method.into()).into());
            }
            // A sub-merchant's sub-order carries the operator's fee split as its own order would.
            let plan = self.split_plan_for(&site, &sub.request, Vec::new()).await?;
            subs.push(
                NewOrder::prepare(site.id.clone(), sub.request.clone(), now)
                    .first_checked_after(self.settings.order_check_after)
                    .paid_to(&site)
                    .split_by(plan),
            );
        }
        let new = NewCombinedOrder {
            platform: platform.id.clone(),
            combine_out_trade_no: request.combine_out_trade_no.clone(),
            pay_method: method,
            fingerprint: request.fingerprint(),
            amount_total: request.amount_total(),
            upstream_no: UpstreamOrderNo::generate(now),
            checkout_token: CheckoutToken::generate(),
            created_at: now,
            expires_at: subs.first().map_or(now, NewOrder::expires_at),
            sub_orders: subs,
        };
        let (combined, orders) = match self.store.insert_combined_order(&new).await? {
            CombinedInsert::Inserted(combined, orders) => (combined, orders),
            CombinedInsert::Existing(combined) if combined.fingerprint == new.fingerprint => {
                let orders = self.store.combined_sub_orders(combined.id).await?;
                (combined, orders)
            }
            CombinedInsert::Existing(_) => return Err(CombineError::Conflict),
            CombinedInsert::SubOrderTaken {
                site_id,
                out_trade_no,
            } => {
                return Err(CombineError::SubOrderTaken {
                    site: site_id,
                    out_trade_no,
                });
            }
        };
        let (combined, orders) = self.send_combined_upstream(combined, orders).await?;
        self.combined_view(combined, orders).await
    }

    /// The platform's combined order with its sub-orders as they are now.
    ///
    /// # Errors
    /// `NotFound` (also for another site's combined order); `Service` with `Store`.
    pub async fn get_combined(
        &self,
        platform: &Site,
        combine_out_trade_no: &OutTradeNo,
    ) -> Result<CombinedView, CombineError> {
        let combined = self
            .store
            .find_combined_order(&platform.id, combine_out_trade_no)
            .await?
            .ok_or(CombineError::NotFound)?;
        let orders = self.store.combined_sub_orders(combined.id).await?;
        self.combined_view(combined, orders).await
    }

    /// Sends a combined order whose sub-orders are still `created` upstream, then records every
    /// one `pending` with the pay parameters they share. Idempotent, as the channel's create is;
    /// a sub-order moved meanwhile (its payment's callback came first) keeps its own state.
    async fn send_combined_upstream(
        &self,
        combined: CombinedOrder,
        orders: Vec<Order>,
    ) -> Result<(CombinedOrder, Vec<Order>), ServiceError> {
        if !orders.iter().any(|o| o.status == OrderStatus::Created) {
            return Ok((combined, orders));
        }
        let fields = self
            .channels
            .create_combined(&combined, &orders)
            .await
            .map_err(|e| channel_error(Channel::Wechat, UpstreamOp::Create, e))?;
        let now = Timestamp::now();
        self.store
            .record_combined_upstream(combined.id, &fields, now)
            .await?;
        let mut moved = Vec::with_capacity(orders.len());
        for order in orders {
            if order.status != OrderStatus::Created {
                moved.push(order);
                continue;
            }
            let transition = Transition {
                order_id: order.id,
                from: OrderStatus::Created,
                to: OrderStatus::Pending,
                reason: "upstream_accepted".to_owned(),
                upstream: fields.clone(),
                at: now,
            };
            moved.push(self.store.transition(&transition).await?.into_order());
        }
        let combined = CombinedOrder {
            upstream: fields,
            ..combined
        };
        Ok((combined, moved))
    }

    /// The combined order whose checkout page `token` opens, as [`OrderService::get_combined`]
    /// answers it (pay parameters while payable). No upstream call, as for an order's page.
    ///
    /// # Errors
    /// `NotFound`; `Service` with `Store`, `Channel`.
    pub async fn combined_by_token(
        &self,
        token: &CheckoutToken,
    ) -> Result<CombinedView, CombineError> {
        let (combined, orders) = self.combined_state_by_token(token).await?;
        self.combined_view(combined, orders).await
    }

    /// The combined order of `token` and its sub-orders as stored, for its page's live status:
    /// nothing signed, nothing asked upstream.
    ///
    /// # Errors
    /// `NotFound`; `Service` with `Store`.
    pub async fn combined_state_by_token(
        &self,
        token: &CheckoutToken,
    ) -> Result<(CombinedOrder, Vec<Order>), CombineError> {
        let combined = self
            .store
            .find_combined_by_token(token)
            .await?
            .ok_or(CombineError::NotFound)?;
        let orders = self.store.combined_sub_orders(combined.id).await?;
        Ok((combined, orders))
    }

    /// For a sub-order of a combined order, the checkout page where its payer pays the combined
    /// order; `None` for any other order.
    ///
    /// # Errors
    /// `Store`.
    pub async fn combined_checkout_of(
        &self,
        order: &Order,
    ) -> Result<Option<String>, ServiceError> {
        let Some(combine_no) = &order.combine_no else {
            return Ok(None);
        };
        let Some(combined) = self.store.find_combined_by_upstream_no(combine_no).await? else {
            return Ok(None);
        };
        let token = self.combined_token(&combined).await?;
        Ok(Some(self.combined_checkout_url(&token)))
    }

    /// The token of the combined order's page, given now to one stored before paygate made them.
    async fn combined_token(
        &self,
        combined: &CombinedOrder,
    ) -> Result<CheckoutToken, ServiceError> {
        match &combined.checkout_token {
            Some(token) => Ok(token.clone()),
            None => Ok(self
                .store
                .give_combined_token(combined.id, &CheckoutToken::generate())
                .await?),
        }
    }

    fn combined_checkout_url(&self, token: &CheckoutToken) -> String {
        format!(
            "{}/combined-checkout/{}",
            self.settings.public_url.trim_end_matches('/'),
            token.as_str()
        )
    }

    async fn combined_view(
        &self,
        combined: CombinedOrder,
        sub_orders: Vec<Order>,
    ) -> Result<CombinedView, CombineError> {
        let token = self.combined_token(&combined).await?;
        let checkout_url = self.combined_checkout_url(&token);
        let combined = CombinedOrder {
            checkout_token: Some(token),
            ..combined
        };
        // The sub-orders share one payment: payable while every one of them is.
        let payable =
            !sub_orders.is_empty() && sub_orders.iter().all(|o| o.status == OrderStatus::Pending);
        let pay_params = match sub_orders.first() {
            Some(first) if payable => Some(self.pay_params_of(first).await?),
            _ => None,
        };
        Ok(CombinedView {
            combined,
            sub_orders,
            pay_params,
            checkout_url,
        })
    }
}

/// Whether a sub-order of `site` may be in a combined order paid by `method`.
fn member_may_combine(site: &Site, method: PayMethod) -> Result<(), CombineError> {
    if site.status != SiteStatus::Active {
        return Err(CombineError::MemberDisabled(site.id.clone()));
    }
    if !site.enabled_methods.contains(&method) {
        return Err(CombineError::MethodNotEnabled {
            site: site.id.clone(),
            method,
        });
    }
    Ok(())
}
