//! A site's split (分账) of one of its paid orders, from the request to the channel and to its end.
//!
//! The rule that makes a split crash-safe and never more than was paid: the split row, the
//! reservation of its amount (counted with the order's refunds) and its `check_split` job are
//! committed in one transaction before the channel hears of it, and the channel call is
//! idempotent for the stored split (the same upstream split number). Whatever interrupts the
//! request afterwards, the check job finds out what the channel did, and sends the split if the
//! channel never got it. What the channel says ends the split in one place,
//! [`OrderService::apply_split_state`]; an unknown outcome is never taken as a failure.

use crate::channels::{ChannelError, SplitState};
use crate::domain::{
    NewSplit, Order, OrderStatus, OutSplitNo, OutTradeNo, PlannedSplit, ReceiverResult, Site,
    SiteId, Split, SplitPurpose, SplitRequest, SplitShare, SplitStatus, Timestamp, UpstreamSplitNo,
};
use crate::store::{SplitFinish, SplitFinishOutcome, SplitReserveOutcome};

use super::{OrderService, ServiceError, site_order};

/// A split and the order number it belongs to, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitView {
    pub split: Split,
    pub out_trade_no: OutTradeNo,
}

/// What [`OrderService::take_split`] did with a request.
pub(super) enum SplitTaken {
    /// Stored, `processing`, its amount reserved: it is to be sent to the channel.
    New(Split),
    /// The site asked for this split before (same number, same content): the split as stored.
    Again(Split),
}

/// How a finished split ends: `succeeded` when the channel paid any share (what it paid is
/// booked, the rest freed), `failed` when it paid none.
#[must_use]
pub fn end_of(shares: &[SplitShare]) -> SplitStatus {
    if shares.iter().any(|s| s.result == ReceiverResult::Succeeded) {
        SplitStatus::Succeeded
    } else {
        SplitStatus::Failed
    }
}

impl OrderService {
    /// Splits part of one of the site's paid orders, made for profit sharing, to the receivers it
    /// names: stores the split with its amount reserved, then sends it to the channel and records
    /// what the channel answered. The answer is the split as it stands: `processing` until the
    /// channel says how it ended (WeChat Pay finishes splits later), or when its answer was
    /// unclear.
    ///
    /// # Errors
    /// `NotFound` (also another site's order), the rules of `take_split`, `Store`.
    pub async fn split(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
        request: SplitRequest,
    ) -> Result<SplitView, ServiceError> {
        let order = site_order(&self.store, site, out_trade_no).await?;
        let asked = PlannedSplit {
            purpose: SplitPurpose::Site,
            request,
        };
        let split = match self.take_split(&order, asked).await? {
            SplitTaken::New(split) => self.send_split(&order, split).await?,
            // A retry of a split still open: ask again (the same number is the same split).
            SplitTaken::Again(split) if split.status == SplitStatus::Processing => {
                self.send_split(&order, split).await?
            }
            SplitTaken::Again(split) => split,
        };
        Ok(SplitView {
            split,
            out_trade_no: order.out_trade_no,
        })
    }

    /// Checks a split of `order` against the rules and stores it with its amount reserved and
    /// its check job due; nothing is sent anywhere. The same number with the same content is the
    /// same split; with other content (or for another order) a conflict. The channel's ratio
    /// limit is part of the reservation, so it holds before any call, under any concurrency.
    ///
    /// # Errors
    /// `OutSplitNoConflict`, `SplitReceiversOfAnotherChannel`, `NotSplittable`,
    /// `SplitExceedsPaid`, `SplitRatioExceeded`, `UpstreamUnknown` (the sub-merchant's ratio could
    /// not be read), `Store`.
    pub(super) async fn take_split(
        &self,
        order: &Order,
        planned: PlannedSplit,
    ) -> Result<SplitTaken, ServiceError> {
        let request = &planned.request;
        let again = |existing: Split| {
            if existing.fingerprint == request.fingerprint(order.id) {
                Ok(SplitTaken::Again(existing))
            } else {
                Err(ServiceError::OutSplitNoConflict)
            }
        };
        if let Some(existing) = self
            .store
            .find_split(&order.site_id, &request.out_split_no)
            .await?
        {
            return again(existing);
        }
        let channel = order.pay_method.channel();
        if request.receivers.channel() != channel {
            return Err(ServiceError::SplitReceiversOfAnotherChannel(channel));
        }
        match order.status {
            OrderStatus::Paid => {}
            // Paid, and all of it given back: what is wrong is the amount, not the order.
            OrderStatus::Refunded => {
                return Err(ServiceError::SplitExceedsPaid { splittable: 0 });
            }
            OrderStatus::Created
            | OrderStatus::Pending
            | OrderStatus::Failed
            | OrderStatus::Closed => {
                return Err(ServiceError::NotSplittable("it is not paid"));
            }
        }
        if !order.profit_sharing {
            return Err(ServiceError::NotSplittable(
                "it was not made for profit sharing (profit_sharing: true)",
            ));
        }
        // The operator's fee is split first: until its split is made, a site's own split could
        // take (or unfreeze) what the fee needs.
        if planned.purpose == SplitPurpose::Site
            && order
                .split_plan
                .as_ref()
                .is_some_and(|p| p.fee_of(order.amount) > 0)
        {
            let fee_split = SplitPurpose::Fee.split_no(order.id);
            let fee_made = self
                .store
                .find_split(&order.site_id, &fee_split)
                .await?
                .is_some()
                || self.store.fee_booked_at_payment(order.id).await?;
            if !fee_made {
                return Err(ServiceError::NotSplittable(
                    "the operator's fee is split from it first, a minute after payment",
                ));
            }
        }
        let ratio =
            self.split_ratio_upstream(order)
                .await
                .map_err(|e| ServiceError::UpstreamUnknown {
                    channel,
                    message: format!("reading the merchant's split ratio: {e}"),
                })?;
        let now = Timestamp::now();
        let check_at = now.plus(self.settings.refund_check_after);
        let new = NewSplit::planned(order, planned.clone(), now);
        match self
            .store
            .reserve_split(&new, ratio.cap_of(order.amount), check_at)
            .await?
        {
            SplitReserveOutcome::Reserved(split) => {
                tracing::info!(
                    split = split.id,
                    order = order.id.as_i64(),
                    amount = split.amount.as_i64(),
                    "split reserved"
                );
                Ok(SplitTaken::New(split))
            }
            SplitReserveOutcome::Existing(existing) => again(existing),
            SplitReserveOutcome::NotSplittable(OrderStatus::Refunded) => {
                Err(ServiceError::SplitExceedsPaid { splittable: 0 })
            }
            SplitReserveOutcome::NotSplittable(_) => {
                Err(ServiceError::NotSplittable("it is not paid"))
            }
            SplitReserveOutcome::NotForProfitSharing => Err(ServiceError::NotSplittable(
                "it was not made for profit sharing (profit_sharing: true)",
            )),
            SplitReserveOutcome::ExceedsPaid { splittable } => {
                Err(ServiceError::SplitExceedsPaid { splittable })
            }
            SplitReserveOutcome::ExceedsRatio { left } => {
                Err(ServiceError::SplitRatioExceeded { left })
            }
        }
    }

    /// Sends a `processing` split to the channel (again: the same number is the same split) and
    /// records a final answer. A refusal fails the split, freeing its amount, only once the
    /// channel says it has no split under the number; an unclear answer leaves it `processing`
    /// for its check job.
    ///
    /// # Errors
    /// `Store`.
    pub(crate) async fn send_split(
        &self,
        order: &Order,
        split: Split,
    ) -> Result<Split, ServiceError> {
        match self.split_upstream(order, &split).await {
            Ok(state) => self.apply_split_state(&split, &state).await,
            Err(ChannelError::Refused { code, message, .. }) => {
                tracing::warn!(
                    split = split.id,
                    code,
                    message,
                    "the channel refused the split"
                );
                // As for refunds: a refusal of a retry says nothing of a split the channel took
                // before. Only a split the channel does not have can fail.
                match self.query_split_channel(order, &split).await {
                    Ok(SplitState::NotFound) => {}
                    Ok(state) => return self.apply_split_state(&split, &state).await,
                    Err(_) => return Ok(split),
                }
                let shares = split
                    .shares
                    .iter()
                    .map(|s| SplitShare {
                        result: ReceiverResult::Failed,
                        ..s.clone()
                    })
                    .collect();
                let finish = SplitFinish {
                    split_id: split.id,
                    to: SplitStatus::Failed,
                    shares,
                    channel_split_id: None,
                    error: Some(format!("{code}: {message}")),
                    at: Timestamp::now(),
                };
                self.finish_split(&finish).await
            }
            Err(e) => {
                tracing::warn!(split = split.id, error = %e, "split outcome unknown; its check job will find out");
                Ok(split)
            }
        }
    }

    /// Records what the channel says about `split`: ends it when every share is final, at the
    /// channel's time when it is not in the future. Not final, or already ended: the split as
    /// it is.
    ///
    /// # Errors
    /// `Store`.
    pub async fn apply_split_state(
        &self,
        split: &Split,
        state: &SplitState,
    ) -> Result<Split, ServiceError> {
        let SplitState::Finished {
            channel_split_id,
            shares: outcomes,
            at,
        } = state
        else {
            return Ok(split.clone());
        };
        let shares: Vec<SplitShare> = split
            .shares
            .iter()
            .zip(outcomes)
            .map(|(share, outcome)| SplitShare {
                receiver: share.receiver.clone(),
                result: outcome.result,
                channel_detail_id: outcome.channel_detail_id.clone(),
                fail_reason: outcome.fail_reason.clone(),
            })
            .collect();
        let to = end_of(&shares);
        let error = (to == SplitStatus::Failed).then(|| {
            shares
                .iter()
                .find_map(|s| s.fail_reason.clone())
                .unwrap_or_else(|| "no share was paid".to_owned())
        });
        let now = Timestamp::now();
        let finish = SplitFinish {
            split_id: split.id,
            to,
            shares,
            channel_split_id: channel_split_id.clone(),
            error,
            at: at.filter(|at| *at <= now).unwrap_or(now),
        };
        self.finish_split(&finish).await
    }

    async fn finish_split(&self, finish: &SplitFinish) -> Result<Split, ServiceError> {
        Ok(match self.store.finish_split(finish).await? {
            SplitFinishOutcome::Applied { split, .. } => {
                tracing::info!(
                    split = split.id,
                    order = split.order_id.as_i64(),
                    status = split.status.as_str(),
                    "split ended"
                );
                metrics::counter!(
                    "paygate_splits_total",
                    "channel" => split.channel.as_str(),
                    "outcome" => split.status.as_str()
                )
                .increment(1);
                // A planned split that was to unfreeze the rest and failed did not: the site did
                // not ask to keep its money frozen, so it is unfrozen all the same.
                if split.status == SplitStatus::Failed
                    && split.unfreeze_rest
                    && split.purpose != SplitPurpose::Site
                    && let Some(order) = self.store.order_by_id(split.order_id).await?
                {
                    self.unfreeze_rest(&order).await;
                }
                split
            }
            SplitFinishOutcome::Lost(now) => now,
        })
    }

    /// One of the site's splits by its number; `SplitNotFound` also for another site's.
    ///
    /// # Errors
    /// `SplitNotFound`, `Store`.
    pub async fn find_split(
        &self,
        site: &SiteId,
        out_split_no: &OutSplitNo,
    ) -> Result<SplitView, ServiceError> {
        let split = self
            .store
            .find_split(site, out_split_no)
            .await?
            .ok_or(ServiceError::SplitNotFound)?;
        let order = self
            .store
            .order_by_id(split.order_id)
            .await?
            .ok_or(ServiceError::SplitNotFound)?;
        Ok(SplitView {
            split,
            out_trade_no: order.out_trade_no,
        })
    }

    /// The channel's news that a split paid a receiver: asks the channel about the split and
    /// records what it answers, as the check job would. `None` for a split paygate does not have;
    /// a split already ended is left as it is.
    ///
    /// # Errors
    /// `Store`; `UpstreamUnknown` when the channel could not be asked (the check job asks later).
    pub async fn split_news(
        &self,
        upstream_split_no: &UpstreamSplitNo,
    ) -> Result<Option<Split>, ServiceError> {
        let Some(split) = self.store.split_by_upstream_no(upstream_split_no).await? else {
            return Ok(None);
        };
        if split.status != SplitStatus::Processing {
            return Ok(Some(split));
        }
        let Some(order) = self.store.order_by_id(split.order_id).await? else {
            return Ok(None);
        };
        let state = self
            .query_split_channel(&order, &split)
            .await
            .map_err(|e| ServiceError::UpstreamUnknown {
                channel: split.channel,
                message: e.to_string(),
            })?;
        Ok(Some(self.apply_split_state(&split, &state).await?))
    }

    /// A split by its row id, as stored (for the split check job).
    ///
    /// # Errors
    /// `Store`.
    pub async fn split_by_id(&self, id: i64) -> Result<Option<Split>, ServiceError> {
        Ok(self.store.split_by_id(id).await?)
    }
}
