//! paygate's own splits of a paid order: the plan fixed when the order was made (the receivers
//! its site named, the operator's fee from a sub-merchant), carried out by the `split_paid_order`
//! job that the payment queued in its own transaction.
//!
//! Each planned split goes through the same reservation, ratio check and channel calls as a
//! site's split, under a number derived from the order, so a job run twice (a crash, two nodes)
//! makes each split once. A planned split the rules refuse (the order was refunded meanwhile, a
//! ratio the sub-merchant lowered) is not retried: the money stays the site's, and a fee that
//! could not be taken is booked as owed.

use crate::domain::{
    Amount, Channel, Order, OrderId, OrderRequest, OrderStatus, PlannedFee, Site, SplitPlan,
    SplitPurpose, SplitReceiver, SplitStatus, Timestamp,
};

use super::splits::SplitTaken;
use super::{OrderService, ServiceError};

/// What the `split_paid_order` job does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedSplits {
    /// Every planned split was made (or cannot be): nothing left to do. Their check jobs drive
    /// them to their end.
    Done,
    /// Too early: the channel takes a split only a while after the payment.
    NotBefore(Timestamp),
    /// paygate or the channel could not be asked; try again later.
    Retry,
}

impl OrderService {
    /// The plan of an order about to be made by `site`: the `ledger` receivers it names, and the
    /// operator's fee when the site is served as the channel's sub-merchant, its fee is not
    /// nothing, and the operator's own receiver is set up. The plan unfreezes what is left after
    /// its last split unless the site asked to split the order itself.
    ///
    /// # Errors
    /// `Store`.
    pub(super) async fn split_plan_for(
        &self,
        site: &Site,
        request: &OrderRequest,
        ledger: Vec<SplitReceiver>,
    ) -> Result<SplitPlan, ServiceError> {
        let channel = match request.pay_method {
            crate::domain::OrderMethod::Fixed(m) => Some(m.channel()),
            crate::domain::OrderMethod::Any => None,
        };
        let served = match channel {
            Some(Channel::Wechat) => site.wechat_sub_merchant.is_some(),
            Some(Channel::Alipay) => site.alipay_merchant.is_some(),
            None => false,
        };
        let mut fee = None;
        if served && let Some(receiver) = channel.and_then(|c| self.channels.fee_receiver(c)) {
            let schedule = self.store.site_fee(&site.id).await?;
            if schedule.fee_of(request.amount) > 0 {
                fee = Some(PlannedFee {
                    kind: receiver.kind,
                    account: receiver.account,
                    name: receiver.name,
                    schedule,
                });
            }
        }
        Ok(SplitPlan {
            ledger,
            fee,
            unfreeze_rest: !request.profit_sharing,
        })
    }

    /// Makes the planned splits of order `id` once it has been paid for `after`, and sends each
    /// to its channel.
    ///
    /// # Errors
    /// None: a failure is [`PlannedSplits::Retry`], logged.
    pub async fn split_as_planned(
        &self,
        id: OrderId,
        after: std::time::Duration,
        now: Timestamp,
    ) -> PlannedSplits {
        let order = match self.store.order_by_id(id).await {
            Ok(Some(order)) => order,
            Ok(None) => {
                tracing::error!(order = id.as_i64(), "planned splits of an unknown order");
                return PlannedSplits::Done;
            }
            Err(e) => {
                tracing::error!(order = id.as_i64(), error = %e, "could not load the order to split");
                return PlannedSplits::Retry;
            }
        };
        let Some(plan) = order.split_plan.clone() else {
            return PlannedSplits::Done;
        };
        if let Some(paid_at) = order.paid_at {
            let due = paid_at.plus(after);
            if now < due {
                return PlannedSplits::NotBefore(due);
            }
        }
        let splits = match plan.splits(&order) {
            Ok(splits) => splits,
            Err(e) => {
                tracing::error!(order = id.as_i64(), error = %e, "the order's split plan is not a valid split");
                return PlannedSplits::Done;
            }
        };
        for planned in splits {
            let purpose = planned.purpose;
            let amount = planned.request.receivers.total();
            match self.take_split(&order, planned).await {
                Ok(SplitTaken::New(split)) => {
                    if let Err(e) = self.send_split(&order, split).await {
                        tracing::warn!(order = id.as_i64(), error = %e, "planned split stored; its check job sends it");
                    }
                }
                Ok(SplitTaken::Again(split)) if split.status == SplitStatus::Processing => {
                    if let Err(e) = self.send_split(&order, split).await {
                        tracing::warn!(order = id.as_i64(), error = %e, "planned split stored; its check job sends it");
                    }
                }
                Ok(SplitTaken::Again(_)) => {}
                Err(ServiceError::Store(e)) => {
                    tracing::error!(order = id.as_i64(), error = %e, "could not store a planned split");
                    return PlannedSplits::Retry;
                }
                Err(ServiceError::UpstreamUnknown { message, .. }) => {
                    tracing::warn!(
                        order = id.as_i64(),
                        message,
                        "planned split waits for the channel"
                    );
                    return PlannedSplits::Retry;
                }
                Err(e) => {
                    tracing::warn!(
                        order = id.as_i64(),
                        purpose = purpose.as_str(),
                        error = %e,
                        "a planned split cannot be made; the money stays the site's"
                    );
                    if purpose == SplitPurpose::Fee
                        && let Err(e) = self.fee_left_owed(&order, amount).await
                    {
                        tracing::error!(order = id.as_i64(), error = %e, "could not book the fee as owed");
                        return PlannedSplits::Retry;
                    }
                }
            }
        }
        PlannedSplits::Done
    }

    /// Books the operator's fee its split could not take as owed (once per order, whoever asks).
    async fn fee_left_owed(&self, order: &Order, fee: i64) -> Result<(), ServiceError> {
        if order.status != OrderStatus::Paid && order.status != OrderStatus::Refunded {
            return Ok(());
        }
        let Ok(fee) = Amount::parse(fee) else {
            return Ok(());
        };
        Ok(self
            .store
            .book_fee_owed(order, fee, Timestamp::now())
            .await?)
    }
}
