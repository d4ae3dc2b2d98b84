//! Refunds: the reservation that keeps an order's refunds within what was paid, and the lookups.
//! Every lookup a site can trigger is scoped by its `SiteId`.

use crate::domain::{
    Amount, Fingerprint, NewRefund, NotifyUrl, OrderId, OrderStatus, OutRefundNo, Refund,
    RefundReason, RefundStatus, SiteId, Timestamp, UpstreamRefundNo,
};

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
    /// The amount is more than what is left to refund (paid, less every refund that is not
    /// `failed`).
    ExceedsPaid { refundable: i64 },
}

/// An order's refund ledger: what its refunds that are not `failed` hold, and what was given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundTotals {
    pub paid: i64,
    pub reserved: i64,
    pub refunded: i64,
}

const SELECT_REFUNDS: &str = "SELECT id, order_id, site_id, out_refund_no, upstream_refund_no, \
     amount_fen, reason, notify_url, fingerprint, status, channel_refund_id, upstream_error, \
     created_at, updated_at, succeeded_at, version FROM refunds";

impl Store {
    /// Stores the refund and reserves its amount against its order, in one transaction, unless the
    /// site already has a refund with this `out_refund_no`. The reservation is one conditional
    /// update of the order (paid, and what the refunds hold plus this amount within what was paid),
    /// so the sum of an order's refunds that are not `failed` never exceeds what was paid, under
    /// any concurrency: SQLite runs one writer at a time, and PostgreSQL re-checks the condition
    /// on the row it locks.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reserve_refund(&self, new: &NewRefund) -> Result<ReserveOutcome, StoreError> {
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
                       AND refund_reserved_fen + $2 <= amount_fen";
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
                if reserved == 0 {
                    // Dropping the transaction rolls the insert back: nothing was stored.
                    tx.rollback().await?;
                    None
                } else {
                    tx.commit().await?;
                    inserted
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
        let (status, totals) = self
            .order_refund_state(new.site_id(), new.order_id())
            .await?
            .ok_or(StoreError::NotFound("order to refund"))?;
        Ok(if status == OrderStatus::Paid {
            ReserveOutcome::ExceedsPaid {
                refundable: totals.paid - totals.reserved,
            }
        } else {
            ReserveOutcome::NotRefundable(status)
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

    async fn refund_by_id(&self, id: i64) -> Result<Option<Refund>, StoreError> {
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
