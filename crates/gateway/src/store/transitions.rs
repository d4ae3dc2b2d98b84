//! Status changes: compare-and-set on the status, with everything that follows from the change
//! written in the same transaction: the `order_events` history row, the payment and the operator's
//! fee booked in the ledger when the order becomes paid, the site's notification event with its
//! delivery job (the outbox), the end of the order's check job once it is final, and (on
//! PostgreSQL) the notice that tells other nodes' status streams. After the commit, this process's
//! streams are told too.

use crate::domain::{
    EventType, JobSubject, Order, OrderId, OrderStatus, Timestamp, UpstreamFields, new_event_id,
};

use super::jobs::subject_column;
use super::ledger::post_payment;
use super::rows::{OrderRow, order_columns};
use super::{Store, StoreError, with_write, with_write_tx};

/// One intended status change of an order.
#[derive(Debug, Clone)]
pub struct Transition {
    pub order_id: OrderId,
    /// The status the caller saw. If the order is no longer in it, the transition loses.
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// Why, for the event history: `upstream_accepted`, `callback TRANSACTION.SUCCESS`, `expired`…
    pub reason: String,
    /// What the channel said along with it; recorded in the same write.
    pub upstream: UpstreamFields,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// This call changed the order (and wrote its history row); the order as it is now, and the id
    /// of the notification event written with it, if the new status is one the site is told about.
    Applied {
        order: Order,
        event_id: Option<String>,
    },
    /// Someone else changed it first (or the caller's `from` was stale): nothing was written.
    /// The order as it is now, so the caller can see what happened instead.
    Lost(Order),
}

impl TransitionOutcome {
    #[must_use]
    pub fn won(&self) -> bool {
        matches!(self, Self::Applied { .. })
    }

    #[must_use]
    pub fn order(&self) -> &Order {
        match self {
            Self::Applied { order, .. } | Self::Lost(order) => order,
        }
    }

    /// The notification event this call created (`evt_…`); `None` when it lost or the new status
    /// is not announced.
    #[must_use]
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::Applied { event_id, .. } => event_id.as_deref(),
            Self::Lost(_) => None,
        }
    }

    /// The order as it is now, whoever changed it.
    #[must_use]
    pub fn into_order(self) -> Order {
        match self {
            Self::Applied { order, .. } | Self::Lost(order) => order,
        }
    }
}

/// The event the site is told about when an order reaches `to`, if any.
fn announced(to: OrderStatus) -> Option<EventType> {
    match to {
        OrderStatus::Paid => Some(EventType::TransactionSuccess),
        OrderStatus::Closed => Some(EventType::TransactionClosed),
        // Refund events belong to refunds (their own records), not to the order's status.
        OrderStatus::Created
        | OrderStatus::Pending
        | OrderStatus::Failed
        | OrderStatus::Refunded => None,
    }
}

/// Whether asking the channel about the order can still change anything. `Failed` is not final here:
/// the channel may still report a payment (see `OrderStatus::can_become`). `Paid` is final for the
/// payment check even though a refund may follow; refunds are checked by their own jobs.
fn ends_checking(to: OrderStatus) -> bool {
    match to {
        OrderStatus::Paid | OrderStatus::Closed | OrderStatus::Refunded => true,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => false,
    }
}

impl Store {
    /// Moves an order from `t.from` to `t.to` if — and only if — it is still in `t.from`, recording
    /// in the same transaction the upstream fields, an `order_events` row, and:
    /// - for `paid`, the payment and the operator's fee booked in the ledger (`ledger.rs`);
    /// - for `paid` / `closed`, a `notification_events` row (`TRANSACTION.SUCCESS` /
    ///   `TRANSACTION.CLOSED`) with its `deliver_notification` job due at `t.at`;
    /// - for a final status (`paid`, `closed`, `refunded`), the deletion of the order's `check_order` job.
    ///
    /// Of any number of concurrent transitions from the same status, exactly one is applied; a lost
    /// one writes nothing. So the site gets exactly one event per announced status change, and a
    /// crash can only lose the change and its event together.
    ///
    /// # Errors
    /// `IllegalTransition` when the domain forbids `from → to` (nothing is written); `NotFound` for
    /// an unknown order; `Database`, `Corrupt`.
    pub async fn transition(&self, t: &Transition) -> Result<TransitionOutcome, StoreError> {
        self.transition_through(t, None).await
    }

    /// [`Store::transition`], and, when `through` is given (a channel-neutral order seen through
    /// the pay attempt that paid it), the order takes the attempt's method, upstream number, payer
    /// and pay parameters in the same write, so that everything after payment (refunds, notifications, bills) sees
    /// the upstream order that was paid.
    ///
    /// # Errors
    /// As [`Store::transition`].
    pub async fn transition_through(
        &self,
        t: &Transition,
        through: Option<&Order>,
    ) -> Result<TransitionOutcome, StoreError> {
        if !t.from.can_become(t.to) {
            return Err(StoreError::IllegalTransition {
                from: t.from,
                to: t.to,
            });
        }
        let paid_at = (t.to == OrderStatus::Paid).then_some(t.at.as_millis());
        let closed_at = (t.to == OrderStatus::Closed).then_some(t.at.as_millis());
        // The row as it is after the change comes back with it: no read after the commit.
        let update = concat!(
            "UPDATE orders SET status = $1, updated_at = $2, version = version + 1, \
                      paid_at = COALESCE($3, paid_at), closed_at = COALESCE($4, closed_at), \
                      prepay_id = COALESCE($5, $20, prepay_id), code_url = COALESCE($6, $21, code_url), \
                      h5_url = COALESCE($7, $22, h5_url), qr_code = COALESCE($8, $23, qr_code), \
                      transaction_id = COALESCE($9, transaction_id), trade_no = COALESCE($10, trade_no), \
                      upstream_error = COALESCE($11, upstream_error), \
                      channel = COALESCE($14, channel), method = COALESCE($15, method), \
                      upstream_order_no = COALESCE($16, upstream_order_no), \
                      payer_openid = COALESCE($17, payer_openid), \
                      payer_buyer_id = COALESCE($18, payer_buyer_id), \
                      payer_client_ip = COALESCE($19, payer_client_ip) \
                      WHERE id = $12 AND status = $13",
            " RETURNING ",
            order_columns!()
        );
        let history = "INSERT INTO order_events (order_id, from_status, to_status, reason, at) \
                       VALUES ($1, $2, $3, $4, $5)";
        // The site id comes from the row just updated, inside the same transaction.
        let notification = "INSERT INTO notification_events \
                            (id, site_id, order_id, event_type, status, attempts, created_at) \
                            SELECT $1, site_id, id, $2, 'pending', 0, $3 FROM orders WHERE id = $4";
        let deliver = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";
        let end_check = "DELETE FROM jobs WHERE kind = $1 AND subject = $2";
        let split_later = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0) \
                           ON CONFLICT (kind, subject) DO NOTHING";
        let event = announced(t.to).map(|kind| (kind, new_event_id()));
        let u = &t.upstream;
        let won = with_write_tx!(self, tx => {
            let changed: Option<OrderRow> = sqlx::query_as(update)
                .bind(t.to.as_str())
                .bind(t.at.as_millis())
                .bind(paid_at)
                .bind(closed_at)
                .bind(u.prepay_id.as_deref())
                .bind(u.code_url.as_deref())
                .bind(u.h5_url.as_deref())
                .bind(u.qr_code.as_deref())
                .bind(u.transaction_id.as_deref())
                .bind(u.trade_no.as_deref())
                .bind(u.error.as_deref())
                .bind(t.order_id.as_i64())
                .bind(t.from.as_str())
                .bind(through.map(|a| a.pay_method.channel().as_str()))
                .bind(through.map(|a| a.pay_method.method().as_str()))
                .bind(through.map(|a| a.upstream_order_no.as_str()))
                .bind(through.and_then(|a| a.payer.openid.as_ref().map(|v| v.as_str())))
                .bind(through.and_then(|a| a.payer.buyer_id.as_ref().map(|v| v.as_str())))
                .bind(through.and_then(|a| a.payer.client_ip.map(|ip| ip.to_string())))
                .bind(through.and_then(|a| a.upstream.prepay_id.as_deref()))
                .bind(through.and_then(|a| a.upstream.code_url.as_deref()))
                .bind(through.and_then(|a| a.upstream.h5_url.as_deref()))
                .bind(through.and_then(|a| a.upstream.qr_code.as_deref()))
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = changed {
                sqlx::query(history)
                    .bind(t.order_id.as_i64())
                    .bind(t.from.as_str())
                    .bind(t.to.as_str())
                    .bind(&t.reason)
                    .bind(t.at.as_millis())
                    .execute(&mut *tx)
                    .await?;
                // The money moves with the status: booked in this transaction or not at all.
                if t.to == OrderStatus::Paid {
                    post_payment!(tx, t.order_id, t.at.as_millis());
                    // The order's planned splits are queued with the payment, so a crash
                    // right after it loses none of them.
                    if row.has_split_plan() {
                        let subject = JobSubject::PaidOrder(t.order_id);
                        sqlx::query(split_later)
                            .bind(subject.kind().as_str())
                            .bind(subject_column(&subject))
                            .bind(t.at.as_millis())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                if let Some((kind, id)) = &event {
                    sqlx::query(notification)
                        .bind(id)
                        .bind(kind.as_str())
                        .bind(t.at.as_millis())
                        .bind(t.order_id.as_i64())
                        .execute(&mut *tx)
                        .await?;
                    let subject = JobSubject::Event(id.clone());
                    sqlx::query(deliver)
                        .bind(subject.kind().as_str())
                        .bind(subject_column(&subject))
                        .bind(t.at.as_millis())
                        .execute(&mut *tx)
                        .await?;
                }
                // A channel-neutral order paid through one attempt keeps its check job: the job
                // goes on to close its other attempts and to find a second payment through them.
                if ends_checking(t.to) && through.is_none() {
                    let subject = JobSubject::Order(t.order_id);
                    sqlx::query(end_check)
                        .bind(subject.kind().as_str())
                        .bind(subject_column(&subject))
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(notice) = self.change_notice() {
                    sqlx::query(notice)
                        .bind(crate::live::CHANNEL)
                        .bind(t.order_id.as_i64().to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Some(row)
            } else {
                tx.rollback().await?;
                None
            }
        });
        Ok(if let Some(row) = won {
            let order = Order::try_from(row)?;
            self.changed(t.order_id);
            if event.is_some() {
                // A delivery is due now: don't leave it to the next poll.
                self.wake_workers();
            }
            TransitionOutcome::Applied {
                order,
                event_id: event.map(|(_, id)| id),
            }
        } else {
            let order = self
                .order_by_id(t.order_id)
                .await?
                .ok_or(StoreError::NotFound("order"))?;
            TransitionOutcome::Lost(order)
        })
    }

    /// Records what the channel said without changing the status (say, a `transaction_id` learned
    /// by query, or a new `h5_url`), provided the order is still in `expected`. Absent fields keep
    /// their stored values. Returns whether the order was updated.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_upstream_result(
        &self,
        order_id: OrderId,
        expected: OrderStatus,
        upstream: &UpstreamFields,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE orders SET updated_at = $1, version = version + 1, \
                   prepay_id = COALESCE($2, prepay_id), code_url = COALESCE($3, code_url), \
                   h5_url = COALESCE($4, h5_url), qr_code = COALESCE($5, qr_code), \
                   transaction_id = COALESCE($6, transaction_id), trade_no = COALESCE($7, trade_no), \
                   upstream_error = COALESCE($8, upstream_error) \
                   WHERE id = $9 AND status = $10";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(at.as_millis())
            .bind(upstream.prepay_id.as_deref())
            .bind(upstream.code_url.as_deref())
            .bind(upstream.h5_url.as_deref())
            .bind(upstream.qr_code.as_deref())
            .bind(upstream.transaction_id.as_deref())
            .bind(upstream.trade_no.as_deref())
            .bind(upstream.error.as_deref())
            .bind(order_id.as_i64())
            .bind(expected.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }
}
