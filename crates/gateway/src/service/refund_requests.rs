//! A site's (or the operator's) refund request, from the order it names to the channel.
//!
//! The rule that makes a refund crash-safe and never more than was paid: the refund row, the
//! reservation of its amount and its `check_refund` job are committed in one transaction before
//! the channel hears of it, and the channel call is idempotent for the stored refund (the same
//! upstream refund number). Whatever interrupts the request afterwards, the check job finds out
//! what the channel did, and sends the refund if the channel never got it.

use std::time::Duration;

use crate::channels::{ChannelError, RefundState};
use crate::domain::{
    NewRefund, Order, OrderStatus, OutRefundNo, OutTradeNo, Refund, RefundRequest, RefundStatus,
    RefundWindows, Site, SiteId, Timestamp,
};
use crate::store::{RefundFinish, ReserveOutcome, Store};

use super::refunds::RefundApplied;
use super::{OrderService, ServiceError, site_order};

/// What [`take_refund`] did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Stored, `processing`, its amount reserved: it is to be sent to the channel.
    New(Refund),
    /// The site asked for this refund before (same number, same content): the refund as stored.
    Again(Refund),
}

impl Taken {
    #[must_use]
    pub fn refund(&self) -> &Refund {
        match self {
            Self::New(r) | Self::Again(r) => r,
        }
    }
}

/// Checks a refund of `order` against the rules and stores it with its amount reserved and its
/// check job due at `check_at`; nothing is sent anywhere. The same number with the same content
/// is the same refund; with other content (or for another order) a conflict. An order refunded in
/// full has nothing left to refund (`RefundExceedsPaid`); one never paid is `NotRefundable`.
///
/// The operator's command takes refunds with this alone and leaves sending them to a running
/// `paygate serve` (the check job, due at once); the API sends them itself right away.
///
/// # Errors
/// `OutRefundNoConflict`, `NotRefundable`, `RefundWindowPassed`, `RefundExceedsPaid`, `Store`.
pub async fn take_refund(
    store: &Store,
    windows: &RefundWindows,
    order: &Order,
    request: RefundRequest,
    now: Timestamp,
    check_at: Timestamp,
) -> Result<Taken, ServiceError> {
    let again = |existing: Refund| {
        if existing.fingerprint == request.fingerprint(order.id) {
            Ok(Taken::Again(existing))
        } else {
            Err(ServiceError::OutRefundNoConflict)
        }
    };
    if let Some(existing) = store
        .find_refund(&order.site_id, &request.out_refund_no)
        .await?
    {
        return again(existing);
    }
    let paid_at = match (order.status, order.paid_at) {
        (OrderStatus::Paid, Some(paid_at)) => paid_at,
        // Paid, and all of it given back: what is wrong is the amount, not the order.
        (OrderStatus::Refunded, _) => {
            return Err(ServiceError::RefundExceedsPaid { refundable: 0 });
        }
        (status, _) => return Err(ServiceError::NotRefundable(status)),
    };
    let channel = order.pay_method.channel();
    if !windows.allows(channel, paid_at, now) {
        return Err(ServiceError::RefundWindowPassed {
            channel,
            ended_at: paid_at.plus(windows.of(channel)),
        });
    }
    let new = NewRefund::prepare(order, request.clone(), now);
    match store.reserve_refund(&new, check_at).await? {
        ReserveOutcome::Reserved(refund) => {
            tracing::info!(
                refund = refund.id,
                order = order.id.as_i64(),
                amount = refund.amount.as_i64(),
                "refund reserved"
            );
            Ok(Taken::New(refund))
        }
        ReserveOutcome::Existing(existing) => again(existing),
        // Refunded in full by concurrent refunds since the order was read.
        ReserveOutcome::NotRefundable(OrderStatus::Refunded) => {
            Err(ServiceError::RefundExceedsPaid { refundable: 0 })
        }
        ReserveOutcome::NotRefundable(status) => Err(ServiceError::NotRefundable(status)),
        ReserveOutcome::ExceedsPaid { refundable } => {
            Err(ServiceError::RefundExceedsPaid { refundable })
        }
    }
}

/// A refund and the order number it belongs to, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    pub refund: Refund,
    pub out_trade_no: OutTradeNo,
}

impl OrderService {
    /// Refunds part or all of one of the site's paid orders: stores the refund with its amount
    /// reserved, then sends it to the channel and records what the channel answered. The answer is
    /// the refund as it stands: `processing` until the channel says how it ended (WeChat Pay
    /// mostly answers later), or when its answer was unclear.
    ///
    /// # Errors
    /// `NotFound` (also another site's order), the rules of [`take_refund`], `Store`.
    pub async fn refund(
        &self,
        site: &Site,
        out_trade_no: &OutTradeNo,
        request: RefundRequest,
    ) -> Result<RefundView, ServiceError> {
        let order = site_order(&self.store, site, out_trade_no).await?;
        let now = Timestamp::now();
        let windows = self.channels.refund_windows();
        let check_at = now.plus(self.settings.refund_check_after);
        let refund =
            match take_refund(&self.store, &windows, &order, request, now, check_at).await? {
                Taken::New(refund) => {
                    #[cfg(feature = "failpoints")]
                    self.hang_at(super::Failpoint::HangAfterRefundReserved)
                        .await;
                    self.send_refund(&order, refund).await?
                }
                // A retry of a refund still open: ask again (the same number is the same refund).
                Taken::Again(refund) if refund.status == RefundStatus::Processing => {
                    self.send_refund(&order, refund).await?
                }
                Taken::Again(refund) => refund,
            };
        Ok(RefundView {
            refund,
            out_trade_no: order.out_trade_no,
        })
    }

    /// Sends a `processing` refund to the channel (again: the same number is the same refund) and
    /// records a final answer. A definite refusal fails the refund and frees its amount; an unclear
    /// answer leaves it `processing` for its check job.
    ///
    /// # Errors
    /// `Store`.
    pub(crate) async fn send_refund(
        &self,
        order: &Order,
        refund: Refund,
    ) -> Result<Refund, ServiceError> {
        let answer = self.refund_upstream(order, &refund).await;
        #[cfg(feature = "failpoints")]
        self.hang_at(super::Failpoint::HangAfterUpstreamRefund)
            .await;
        match answer {
            Ok(state) => Ok(match self.apply_refund_state(&refund, &state).await? {
                RefundApplied::Ended(now) | RefundApplied::Unchanged(now) => now,
            }),
            Err(ChannelError::Refused { code, message, .. }) => {
                tracing::warn!(
                    refund = refund.id,
                    code,
                    message,
                    "the channel refused the refund"
                );
                // A refusal only says the channel took no refund from this call. It may be a
                // retry of one the channel took before, whose answer was lost, refused for the
                // retry alone (too many requests): failing it would free an amount already on
                // its way to the payer. Only a refund the channel does not have can fail.
                match self.query_refund_channel(order, &refund).await {
                    Ok(RefundState::NotFound) => {}
                    Ok(state) => {
                        return Ok(match self.apply_refund_state(&refund, &state).await? {
                            RefundApplied::Ended(now) | RefundApplied::Unchanged(now) => now,
                        });
                    }
                    // Unclear: it stays `processing`, and its check job asks again.
                    Err(_) => return Ok(refund),
                }
                let finish = RefundFinish {
                    refund_id: refund.id,
                    to: RefundStatus::Failed,
                    channel_refund_id: None,
                    error: Some(format!("{code}: {message}")),
                    at: Timestamp::now(),
                };
                Ok(match self.finish_refund(&finish).await? {
                    RefundApplied::Ended(now) | RefundApplied::Unchanged(now) => now,
                })
            }
            Err(e) => {
                // Unknown (timeout, 5xx) may have taken effect; anything else is for the operator.
                // Either way the refund stays `processing` and reserved: its check job asks again.
                tracing::warn!(refund = refund.id, error = %e, "refund outcome unknown; its check job will find out");
                Ok(refund)
            }
        }
    }

    /// One of the site's refunds by its number; `RefundNotFound` also for another site's.
    ///
    /// # Errors
    /// `RefundNotFound`, `Store`.
    pub async fn find_refund(
        &self,
        site: &SiteId,
        out_refund_no: &OutRefundNo,
    ) -> Result<RefundView, ServiceError> {
        let refund = self
            .store
            .find_refund(site, out_refund_no)
            .await?
            .ok_or(ServiceError::RefundNotFound)?;
        let order = self
            .store
            .order_by_id(refund.order_id)
            .await?
            .ok_or(ServiceError::RefundNotFound)?;
        Ok(RefundView {
            refund,
            out_trade_no: order.out_trade_no,
        })
    }

    /// The refunds of one of the site's orders, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn refunds_of(&self, order: &Order) -> Result<Vec<Refund>, ServiceError> {
        Ok(self
            .store
            .refunds_for_order(&order.site_id, order.id)
            .await?)
    }

    /// A refund by its row id, as stored (for the refund check job).
    ///
    /// # Errors
    /// `Store`.
    pub async fn refund_by_id(&self, id: i64) -> Result<Option<Refund>, ServiceError> {
        Ok(self.store.refund_by_id(id).await?)
    }
}

/// The first check of a refund the API sent itself: a minute, the first step of the default
/// order-check schedule (the app passes its configured first step).
pub const DEFAULT_REFUND_CHECK_AFTER: Duration = Duration::from_secs(60);
