//! Refunds: the reservation that keeps an order's refunds within what was paid, and the lookups.
//! Every lookup a site can trigger is scoped by its `SiteId`.

use crate::domain::{
    Amount, Channel, EventType, Fingerprint, JobSubject, NewRefund, NotifyUrl, OrderId,
    OrderStatus, OutRefundNo, OutTradeNo, Refund, RefundReason, RefundStatus, SiteId, Timestamp,
    UpstreamRefundNo, new_event_id,
};

use super::jobs::subject_column;
use super::ledger::post_refund;
use super::{Store, StoreError, with_pool, with_write_tx};

/// What [`Store::reserve_refund`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// This call stored the refund, `processing`, with its amount reserved against the order.
    Reserved(Refund),
    /// The site already had a refund with this `out_refund_no` (maybe from a concurrent call);
    /// nothing was reserved. Whether it is the same request is for the caller to decide (compare
    /// fingerprints).
    Existing(Refund),
    /// The order is not paid (or is already fully refunded): nothing can be refunded.
    NotRefundable(OrderStatus),
    /// The amount is more than what is left to refund (paid, less every refund and split that is
    /// not `failed`).
    ExceedsPaid { refundable: i64 },
}

/// An order's refund ledger: what its refunds that are not `failed` hold, and what was given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundTotals {
    pub paid: i64,
    pub reserved: i64,
    pub refunded: i64,
}

/// How a `processing` refund ended, as the channel said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFinish {
    pub refund_id: i64,
    /// `Succeeded`, `Failed` or `Abnormal`.
    pub to: RefundStatus,
    /// The channel's own refund id, when it gave one.
    pub channel_refund_id: Option<String>,
    /// What the channel said when it refused or closed the refund.
    pub error: Option<String>,
    pub at: Timestamp,
}

/// What [`Store::finish_refund`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// This call ended the refund; the refund as it is now, whether the order became `refunded`
    /// with it, and the notification event written for the site.
    Applied {
        refund: Refund,
        order_refunded: bool,
        event_id: String,
    },
    /// The refund was no longer `processing` (a duplicate or late answer): nothing was written.
    Lost(Refund),
}

impl FinishOutcome {
    #[must_use]
    pub fn applied(&self) -> bool {
        matches!(self, Self::Applied { .. })
    }
}

/// Which refunds [`Store::list_refunds`] returns (the operator's view across sites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFilter {
    /// Only this site's refunds; every site's when `None`.
    pub site: Option<SiteId>,
    pub status: Option<RefundStatus>,
    /// At most this many, the newest.
    pub limit: u32,
}

/// A refund with the number of the order it gives back from, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRefund {
    pub refund: Refund,
    pub out_trade_no: OutTradeNo,
}

#[derive(sqlx::FromRow)]
struct ListedRefundRow {
    #[sqlx(flatten)]
    refund: RefundRow,
    out_trade_no: String,
}

impl TryFrom<ListedRefundRow> for ListedRefund {
    type Error = StoreError;

    fn try_from(r: ListedRefundRow) -> Result<Self, StoreError> {
        let out_trade_no = OutTradeNo::parse(&r.out_trade_no)
            .map_err(|e| StoreError::corrupt("order", format!("of refund {}: {e}", r.refund.id)))?;
        Ok(Self {
            refund: Refund::try_from(r.refund)?,
            out_trade_no,
        })
    }
}

/// The refund columns (qualified: the orders they are joined with have columns of the same names)
/// and the order's number.
const SELECT_LISTED_REFUNDS: &str = "SELECT r.id, r.order_id, r.site_id, r.channel, \
     r.out_refund_no, r.upstream_refund_no, r.amount_fen, r.reason, r.notify_url, r.fingerprint, \
     r.status, r.channel_refund_id, r.upstream_error, r.created_at, r.updated_at, r.succeeded_at, \
     r.version, o.out_trade_no FROM refunds r JOIN orders o ON o.id = r.order_id";

const SELECT_REFUNDS: &str = "SELECT id, order_id, site_id, channel, out_refund_no, upstream_refund_no, \
     amount_fen, reason, notify_url, fingerprint, status, channel_refund_id, upstream_error, \
     created_at, updated_at, succeeded_at, version FROM refunds";

impl Store {
    /// Stores the refund and reserves its amount against its order, in one transaction, unless the
    /// site already has a refund with this `out_refund_no`. The reservation is one conditional
    /// update of the order (paid, and what its refunds and splits hold plus this amount within
    /// what was paid; [`Store::reserve_split`] checks the same sum on the same row), so the sum of
    /// an order's refunds and splits that are not `failed` never exceeds what was paid, under
    /// any concurrency: SQLite runs one writer at a time, and PostgreSQL re-checks the condition
    /// on the row it locks.
    ///
    ///
    /// The refund's `check_refund` job is inserted with it, due at `check_at`: whatever becomes of
    /// the caller after the commit (a crash, a lost answer), the job finds out what the channel did
    /// and sends the refund if the channel never got it.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reserve_refund(
        &self,
        new: &NewRefund,
        check_at: Timestamp,
    ) -> Result<ReserveOutcome, StoreError> {
        let insert = "INSERT INTO refunds (order_id, site_id, out_refund_no, upstream_refund_no, \
                      channel, amount_fen, reason, notify_url, fingerprint, status, created_at, \
                      updated_at, version) \
                      SELECT id, site_id, $2, $3, channel, $4, $5, $6, $7, $8, $9, $9, 0 \
                      FROM orders WHERE id = $1 AND site_id = $10 \
                      ON CONFLICT (site_id, out_refund_no) DO NOTHING \
                      RETURNING id";
        let reserve = "UPDATE orders SET refund_reserved_fen = refund_reserved_fen + $2, \
                       updated_at = $3, version = version + 1 \
                       WHERE id = $1 AND status = 'paid' \
                       AND refund_reserved_fen + split_reserved_fen + $2 <= amount_fen";
        let check = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";
        let r = new.request();
        let amount = r.amount.as_i64();
        let at = new.created_at().as_millis();
        let inserted: Option<i64> = with_write_tx!(self, tx => {
            let inserted: Option<i64> = sqlx::query_scalar(insert)
                .bind(new.order_id().as_i64())
                .bind(r.out_refund_no.as_str())
                .bind(new.upstream_refund_no().as_str())
                .bind(amount)
                .bind(r.reason.as_ref().map(RefundReason::as_str))
                .bind(r.notify_url.as_ref().map(NotifyUrl::as_str))
                .bind(new.fingerprint().as_str())
                .bind(RefundStatus::Processing.as_str())
                .bind(at)
                .bind(new.site_id().as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if inserted.is_some() {
                let reserved = sqlx::query(reserve)
                    .bind(new.order_id().as_i64())
                    .bind(amount)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                match inserted {
                    Some(id) if reserved == 1 => {
                        let subject = JobSubject::Refund(id);
                        sqlx::query(check)
                            .bind(subject.kind().as_str())
                            .bind(subject_column(&subject))
                            .bind(check_at.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        inserted
                    }
                    _ => {
                        // Nothing was stored.
                        tx.rollback().await?;
                        None
                    }
                }
            } else {
                tx.commit().await?;
                None
            }
        });
        if let Some(id) = inserted {
            return self
                .refund_by_id(id)
                .await?
                .map(ReserveOutcome::Reserved)
                .ok_or(StoreError::NotFound("reserved refund"));
        }
        if let Some(existing) = self.find_refund(new.site_id(), &r.out_refund_no).await? {
            return Ok(ReserveOutcome::Existing(existing));
        }
        // Not inserted and not there: the reservation was refused (or the order is not the site's).
        let (status, held) = self
            .order_held(new.site_id(), new.order_id())
            .await?
            .ok_or(StoreError::NotFound("order to refund"))?;
        Ok(if status == OrderStatus::Paid {
            ReserveOutcome::ExceedsPaid {
                refundable: held.free().max(0),
            }
        } else {
            ReserveOutcome::NotRefundable(status)
        })
    }

    /// Ends a `processing` refund, once: a compare-and-set on its status, with what follows from
    /// it in the same transaction. A failed refund frees its amount (it can be refunded again); a
    /// succeeded one is booked in the ledger (`ledger.rs`), adds to what the order has given back
    /// and, once that is all that was paid, moves the order to `refunded` (with its history row, and the status streams told as by
    /// [`Store::transition`]); an abnormal one keeps its amount
    /// reserved until the operator settles it. Each end writes the site's notification event
    /// (`REFUND.SUCCESS`, `REFUND.CLOSED`, `REFUND.ABNORMAL`) and its delivery job in the same
    /// transaction (the outbox), and deletes the refund's check job. Of any number of concurrent or repeated finishes of one refund,
    /// exactly one is applied, so the site is told once.
    ///
    /// # Errors
    /// `Corrupt` when asked to finish a refund as `processing` (nothing is written); `NotFound` for
    /// an unknown refund; `Database`.
    pub async fn finish_refund(&self, f: &RefundFinish) -> Result<FinishOutcome, StoreError> {
        if f.to == RefundStatus::Processing {
            return Err(StoreError::corrupt(
                "refund",
                format!("refund {} cannot be finished as processing", f.refund_id),
            ));
        }
        let succeeded_at = (f.to == RefundStatus::Succeeded).then_some(f.at.as_millis());
        let end = "UPDATE refunds SET status = $1, updated_at = $2, version = version + 1, \
                   channel_refund_id = COALESCE($3, channel_refund_id), \
                   upstream_error = COALESCE($4, upstream_error), \
                   succeeded_at = COALESCE($5, succeeded_at) \
                   WHERE id = $6 AND status = 'processing' \
                   RETURNING order_id, amount_fen, site_id";
        let release = "UPDATE orders SET refund_reserved_fen = refund_reserved_fen - $2, \
                       updated_at = $3, version = version + 1 WHERE id = $1";
        let give_back = "UPDATE orders SET refunded_fen = refunded_fen + $2, \
                         updated_at = $3, version = version + 1 WHERE id = $1";
        let all_back = "UPDATE orders SET status = 'refunded', updated_at = $2, \
                        version = version + 1 \
                        WHERE id = $1 AND status = 'paid' AND refunded_fen = amount_fen";
        let history = "INSERT INTO order_events (order_id, from_status, to_status, reason, at) \
                       VALUES ($1, 'paid', 'refunded', $2, $3)";
        let notification = "INSERT INTO notification_events \
                            (id, site_id, order_id, event_type, status, attempts, created_at, \
                            refund_id) \
                            SELECT $1, site_id, order_id, $2, 'pending', 0, $3, id \
                            FROM refunds WHERE id = $4";
        let deliver = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";
        let end_check = "DELETE FROM jobs WHERE kind = $1 AND subject = $2";
        let event_type = match f.to {
            RefundStatus::Succeeded => EventType::RefundSuccess,
            RefundStatus::Abnormal => EventType::RefundAbnormal,
            RefundStatus::Failed | RefundStatus::Processing => EventType::RefundClosed,
        };
        let event_id = new_event_id();
        let at = f.at.as_millis();
        let applied: Option<bool> = with_write_tx!(self, tx => {
            let ended: Option<(i64, i64, String)> = sqlx::query_as(end)
                .bind(f.to.as_str())
                .bind(at)
                .bind(f.channel_refund_id.as_deref())
                .bind(f.error.as_deref())
                .bind(succeeded_at)
                .bind(f.refund_id)
                .fetch_optional(&mut *tx)
                .await?;
            match ended {
                None => {
                    tx.rollback().await?;
                    None
                }
                Some((order_id, amount, site)) => {
                    let mut order_refunded = false;
                    match f.to {
                        RefundStatus::Failed => {
                            sqlx::query(release).bind(order_id).bind(amount).bind(at)
                                .execute(&mut *tx).await?;
                        }
                        RefundStatus::Succeeded => {
                            // The money moves with the status: booked here or not at all.
                            post_refund!(tx, f.refund_id, order_id, &site, amount, at);
                            sqlx::query(give_back).bind(order_id).bind(amount).bind(at)
                                .execute(&mut *tx).await?;
                            let moved = sqlx::query(all_back).bind(order_id).bind(at)
                                .execute(&mut *tx).await?.rows_affected();
                            if moved == 1 {
                                order_refunded = true;
                                sqlx::query(history)
                                    .bind(order_id)
                                    .bind("refunded in full")
                                    .bind(at)
                                    .execute(&mut *tx)
                                    .await?;
                                if let Some(notice) = self.change_notice() {
                                    sqlx::query(notice)
                                        .bind(crate::live::CHANNEL)
                                        .bind(order_id.to_string())
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            }
                        }
                        RefundStatus::Abnormal | RefundStatus::Processing => {}
                    }
                    sqlx::query(notification)
                        .bind(&event_id)
                        .bind(event_type.as_str())
                        .bind(at)
                        .bind(f.refund_id)
                        .execute(&mut *tx)
                        .await?;
                    let subject = JobSubject::Event(event_id.clone());
                    sqlx::query(deliver)
                        .bind(subject.kind().as_str())
                        .bind(subject_column(&subject))
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    let check = JobSubject::Refund(f.refund_id);
                    sqlx::query(end_check)
                        .bind(check.kind().as_str())
                        .bind(subject_column(&check))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Some(order_refunded)
                }
            }
        });
        let refund = self
            .refund_by_id(f.refund_id)
            .await?
            .ok_or(StoreError::NotFound("refund"))?;
        Ok(match applied {
            Some(order_refunded) => {
                if order_refunded {
                    self.changed(refund.order_id);
                }
                // A delivery is due now: don't leave it to the next poll.
                self.wake_workers();
                FinishOutcome::Applied {
                    refund,
                    order_refunded,
                    event_id,
                }
            }
            None => FinishOutcome::Lost(refund),
        })
    }

    /// The site's refund with this `out_refund_no`; another site's refund of the same number is not
    /// found.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_refund(
        &self,
        site: &SiteId,
        out_refund_no: &OutRefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        let sql = format!("{SELECT_REFUNDS} WHERE site_id = $1 AND out_refund_no = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, RefundRow>(&sql)
            .bind(site.as_str())
            .bind(out_refund_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Refund::try_from).transpose()
    }

    /// The site's refund with this `out_refund_no`, with its order's number.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_listed_refund(
        &self,
        site: &SiteId,
        out_refund_no: &OutRefundNo,
    ) -> Result<Option<ListedRefund>, StoreError> {
        let sql = format!("{SELECT_LISTED_REFUNDS} WHERE r.site_id = $1 AND r.out_refund_no = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, ListedRefundRow>(&sql)
            .bind(site.as_str())
            .bind(out_refund_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(ListedRefund::try_from).transpose()
    }

    /// Refunds for the operator, newest first (by creation), as `filter` says.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn list_refunds(
        &self,
        filter: &RefundFilter,
    ) -> Result<Vec<ListedRefund>, StoreError> {
        let sql = format!(
            "{SELECT_LISTED_REFUNDS} WHERE ($1 IS NULL OR r.site_id = $1) \
             AND ($2 IS NULL OR r.status = $2) ORDER BY r.created_at DESC, r.id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ListedRefundRow>(&sql)
            .bind(filter.site.as_ref().map(SiteId::as_str))
            .bind(filter.status.map(RefundStatus::as_str))
            .bind(i64::from(filter.limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(ListedRefund::try_from).collect()
    }

    /// The refund paygate sent upstream under this number (channel callbacks and queries).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_refund_by_upstream_no(
        &self,
        no: &UpstreamRefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        let sql = format!("{SELECT_REFUNDS} WHERE upstream_refund_no = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, RefundRow>(&sql)
            .bind(no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Refund::try_from).transpose()
    }

    /// The refunds of one of the site's orders, oldest first; empty for another site's order.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn refunds_for_order(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Vec<Refund>, StoreError> {
        let sql = format!("{SELECT_REFUNDS} WHERE site_id = $1 AND order_id = $2 ORDER BY id");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, RefundRow>(&sql)
            .bind(site.as_str())
            .bind(order.as_i64())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Refund::try_from).collect()
    }

    /// The order's status and refund ledger, if it is the site's.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn order_refund_state(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Option<(OrderStatus, RefundTotals)>, StoreError> {
        let sql = "SELECT status, amount_fen, refund_reserved_fen, refunded_fen FROM orders \
                   WHERE id = $1 AND site_id = $2";
        let row: Option<(String, i64, i64, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(order.as_i64())
            .bind(site.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(|(status, paid, reserved, refunded)| {
            let status = OrderStatus::parse(&status).map_err(|e| {
                StoreError::corrupt("order", format!("row {}: {e}", order.as_i64()))
            })?;
            Ok((
                status,
                RefundTotals {
                    paid,
                    reserved,
                    refunded,
                },
            ))
        })
        .transpose()
    }

    /// A refund by its row id (the check job's subject).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn refund_by_id(&self, id: i64) -> Result<Option<Refund>, StoreError> {
        let sql = format!("{SELECT_REFUNDS} WHERE id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, RefundRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Refund::try_from).transpose()
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: i64,
    order_id: i64,
    site_id: String,
    channel: String,
    out_refund_no: String,
    upstream_refund_no: String,
    amount_fen: i64,
    reason: Option<String>,
    notify_url: Option<String>,
    fingerprint: String,
    status: String,
    channel_refund_id: Option<String>,
    upstream_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    succeeded_at: Option<i64>,
    version: i64,
}

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;

    fn try_from(r: RefundRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| {
            StoreError::corrupt("refund", format!("row {}: {e}", r.id))
        };
        Ok(Self {
            id: r.id,
            order_id: OrderId::from_i64(r.order_id),
            site_id: SiteId::parse(&r.site_id).map_err(bad)?,
            channel: Channel::parse(&r.channel).map_err(bad)?,
            out_refund_no: OutRefundNo::parse(&r.out_refund_no).map_err(bad)?,
            upstream_refund_no: UpstreamRefundNo::parse(&r.upstream_refund_no).map_err(bad)?,
            amount: Amount::parse(r.amount_fen).map_err(bad)?,
            reason: r
                .reason
                .as_deref()
                .map(RefundReason::parse)
                .transpose()
                .map_err(bad)?,
            notify_url: r
                .notify_url
                .as_deref()
                .map(NotifyUrl::parse)
                .transpose()
                .map_err(bad)?,
            fingerprint: Fingerprint::from_stored(r.fingerprint),
            status: RefundStatus::parse(&r.status).map_err(bad)?,
            channel_refund_id: r.channel_refund_id,
            upstream_error: r.upstream_error,
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            succeeded_at: r.succeeded_at.map(Timestamp::from_millis),
            version: r.version,
        })
    }
}
