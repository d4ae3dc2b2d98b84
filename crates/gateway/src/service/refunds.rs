//! The one place where what a channel says about a refund (its answer to the refund call or a
//! query, and later its notifications) ends the refund. Pure mapping first ([`end_of`]), then one
//! compare-and-set in the store, which writes the ledger change and the site's notification event
//! with it; a duplicate or late answer loses the race and changes nothing.

use crate::channels::RefundState;
use crate::domain::{AnomalyKind, Refund, RefundStatus, Timestamp};
use crate::store::{FinishOutcome, RefundFinish};

use super::{OrderService, ServiceError};

/// How a channel's refund state ends a refund: `None` while it is not final (processing, or not
/// seen upstream yet: an unknown outcome is never taken as a failure).
#[must_use]
pub fn end_of(state: &RefundState) -> Option<(RefundStatus, Option<String>)> {
    match state {
        RefundState::Succeeded {
            channel_refund_id, ..
        } => Some((RefundStatus::Succeeded, channel_refund_id.clone())),
        RefundState::Abnormal { channel_refund_id } => {
            Some((RefundStatus::Abnormal, channel_refund_id.clone()))
        }
        RefundState::Closed => Some((RefundStatus::Failed, None)),
        RefundState::Processing { .. } | RefundState::NotFound => None,
    }
}

/// What [`OrderService::apply_refund_state`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundApplied {
    /// This call ended the refund; as it is now.
    Ended(Refund),
    /// Nothing to record: not final yet, or already ended (a duplicate). The refund as it is now
    /// when it was read.
    Unchanged(Refund),
}

impl OrderService {
    /// Records what the channel says about `refund`: ends it when the state is final, with the
    /// channel's payment time for a success when it is not in the future (the site is told when
    /// the money went back, not when paygate heard of it).
    ///
    /// # Errors
    /// `Store` only; duplicates and not-yet-final states are `Unchanged`.
    pub async fn apply_refund_state(
        &self,
        refund: &Refund,
        state: &RefundState,
    ) -> Result<RefundApplied, ServiceError> {
        let Some((to, channel_refund_id)) = end_of(state) else {
            return Ok(RefundApplied::Unchanged(refund.clone()));
        };
        let now = Timestamp::now();
        let at = match state {
            RefundState::Succeeded { at: Some(at), .. } if *at <= now => *at,
            _ => now,
        };
        let finish = RefundFinish {
            refund_id: refund.id,
            to,
            channel_refund_id,
            error: (to == RefundStatus::Failed).then(|| "closed by the channel".to_owned()),
            at,
        };
        let applied = self.finish_refund(&finish).await?;
        if let RefundApplied::Unchanged(now) = &applied {
            // Ended before, otherwise: the site was told, and a failed refund's amount may have
            // been refunded again. Not undone here; the operator is shown what the channel said.
            if now.status != RefundStatus::Processing && now.status != to {
                let detail = format!(
                    "the channel reports refund {} (upstream {}) {}; paygate ended it {}",
                    now.id,
                    now.upstream_refund_no.as_str(),
                    to.as_str(),
                    now.status.as_str()
                );
                self.report_anomaly(
                    AnomalyKind::RefundOutcomeMismatch,
                    now.channel,
                    Some(now.order_id),
                    detail,
                )
                .await;
            }
        }
        Ok(applied)
    }

    /// Ends a `processing` refund once (see [`crate::store::Store::finish_refund`]) and counts it:
    /// `paygate_refunds_total{channel,outcome}`, `paygate_refunded_fen_total{channel,outcome}` and
    /// `paygate_refund_seconds_to_final{channel,outcome}`, outcome `succeeded`, `failed` or
    /// `abnormal`.
    pub(super) async fn finish_refund(
        &self,
        finish: &RefundFinish,
    ) -> Result<RefundApplied, ServiceError> {
        Ok(match self.store.finish_refund(finish).await? {
            FinishOutcome::Applied { refund: ended, .. } => {
                tracing::info!(
                    refund = ended.id,
                    order = ended.order_id.as_i64(),
                    status = ended.status.as_str(),
                    "refund ended"
                );
                count_ended(&ended);
                RefundApplied::Ended(ended)
            }
            FinishOutcome::Lost(now) => RefundApplied::Unchanged(now),
        })
    }
}

fn count_ended(refund: &Refund) {
    let channel = refund.channel.as_str();
    let outcome = refund.status.as_str();
    metrics::counter!("paygate_refunds_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
    metrics::counter!("paygate_refunded_fen_total", "channel" => channel, "outcome" => outcome)
        .increment(u64::try_from(refund.amount.as_i64()).unwrap_or(0));
    // Milliseconds to seconds for the histogram: a duration, never an amount.
    #[allow(clippy::cast_precision_loss)]
    let seconds =
        (refund.updated_at.as_millis() - refund.created_at.as_millis()).max(0) as f64 / 1000.0;
    metrics::histogram!("paygate_refund_seconds_to_final", "channel" => channel, "outcome" => outcome)
        .record(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_states_end_a_refund_and_unknown_is_never_a_failure() {
        let id = || Some("50300001".to_owned());
        assert_eq!(
            end_of(&RefundState::Succeeded {
                channel_refund_id: id(),
                at: None
            }),
            Some((RefundStatus::Succeeded, id()))
        );
        assert_eq!(
            end_of(&RefundState::Abnormal {
                channel_refund_id: id()
            }),
            Some((RefundStatus::Abnormal, id()))
        );
        assert_eq!(
            end_of(&RefundState::Closed),
            Some((RefundStatus::Failed, None))
        );
        assert_eq!(
            end_of(&RefundState::Processing {
                channel_refund_id: id()
            }),
            None
        );
        assert_eq!(end_of(&RefundState::NotFound), None);
    }
}
