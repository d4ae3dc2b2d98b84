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
    /// `SplitExceedsPaid` when the receivers and the fee together take more than the amount;
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
        let plan = SplitPlan {
            ledger,
            fee,
            unfreeze_rest: !request.profit_sharing,
        };
        // What the plan splits away must be there to split: checked now, before the payer pays,
        // not found missing after.
        let fee = plan.fee_of(request.amount);
        let ledger: i64 = plan.ledger.iter().map(|r| r.amount.as_i64()).sum();
        if ledger + fee > request.amount.as_i64() {
            return Err(ServiceError::SplitExceedsPaid {
                splittable: (request.amount.as_i64() - fee).max(0),
            });
        }
        Ok(plan)
    }

    /// Makes the planned splits of order `id` once it has been paid for `after`, and sends each
    /// to its channel. With `last_try`, what still cannot be done is given up instead of retried:
    /// a fee not taken is booked as owed, and the rest is unfrozen.
    ///
    /// # Errors
    /// None: a failure is [`PlannedSplits::Retry`], logged.
    pub async fn split_as_planned(
        &self,
        id: OrderId,
        after: std::time::Duration,
        now: Timestamp,
        last_try: bool,
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
        let mut outcome = PlannedSplits::Done;
        for planned in splits {
            let purpose = planned.purpose;
            let amount = planned.request.receivers.total();
            let unfreezes = planned.request.unfreeze_rest;
            // A fee already booked as owed (its split was refused before, or given up) is never
            // taken as well: a rerun of this job must not book it twice.
            if purpose == SplitPurpose::Fee {
                match self.store.fee_booked_at_payment(order.id).await {
                    Ok(false) => {}
                    Ok(true) => continue,
                    Err(e) => {
                        tracing::error!(order = id.as_i64(), error = %e, "could not read the order's fee");
                        return PlannedSplits::Retry;
                    }
                }
            }
            let made = match self.take_split(&order, planned).await {
                Ok(SplitTaken::New(split)) => Some(split),
                Ok(SplitTaken::Again(split)) if split.status == SplitStatus::Processing => {
                    Some(split)
                }
                Ok(SplitTaken::Again(_)) => None,
                Err(ServiceError::Store(e)) => {
                    tracing::error!(order = id.as_i64(), error = %e, "could not store a planned split");
                    return PlannedSplits::Retry;
                }
                Err(ServiceError::UpstreamUnknown { message, .. }) if !last_try => {
                    tracing::warn!(
                        order = id.as_i64(),
                        message,
                        "planned split waits for the channel"
                    );
                    outcome = PlannedSplits::Retry;
                    // The splits after it wait too: the fee goes first, and the last unfreezes.
                    break;
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
                    if unfreezes {
                        self.unfreeze_rest(&order).await;
                    }
                    None
                }
            };
            if let Some(split) = made
                && let Err(e) = self.send_split(&order, split).await
            {
                tracing::warn!(order = id.as_i64(), error = %e, "planned split stored; its check job sends it");
            }
        }
        outcome
    }

    /// Has the channel unfreeze what `order` has left, when the planned split meant to do it
    /// could not. Best effort: logged when the channel cannot (Alipay unfreezes only with a
    /// settlement), as the money is the site's either way, only later.
    pub(super) async fn unfreeze_rest(&self, order: &Order) {
        let no = format!("uf{}", order.upstream_order_no.as_str());
        match self.channels.unfreeze_rest(order, &no).await {
            Ok(()) => tracing::info!(
                order = order.id.as_i64(),
                "the order's unsplit money unfrozen"
            ),
            Err(e) => tracing::warn!(
                order = order.id.as_i64(),
                error = %e,
                "could not unfreeze the order's unsplit money; the channel releases it itself later"
            ),
        }
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
