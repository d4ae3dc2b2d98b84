//! Anomalies: what paygate refused from a channel (an amount or merchant that does not match the
//! order, a callback that did not verify…), kept for the operator. The caller also logs and counts
//! them.
//!
//! Each anomaly has a dedupe key: the same anomaly again adds to the row's `occurrences` and
//! `last_at` instead of writing a new row, so repeated or flooded input costs one row per distinct
//! fact (per source and window, for unverified callbacks), not one row per request.

use crate::domain::{
    Anomaly, AnomalyKind, AnomalyNote, AuditEntry, Channel, Email, OrderId, Timestamp,
};

use super::audit::insert_audit;
use super::{Store, StoreError, with_pool, with_write, with_write_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnomaly {
    pub kind: AnomalyKind,
    pub channel: Channel,
    pub order_id: Option<OrderId>,
    /// What makes two anomalies the same one (counted on one row). Unique across kinds: callers
    /// start it with the kind.
    pub dedupe_key: String,
    /// What was expected and what came, for a human. Never secrets (keys, signatures, payloads with
    /// personal data). A repeat keeps the first one's detail.
    pub detail: String,
    pub at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct AnomalyRow {
    id: i64,
    kind: String,
    channel: String,
    order_id: Option<i64>,
    dedupe_key: Option<String>,
    detail: String,
    at: i64,
    occurrences: i64,
    last_at: Option<i64>,
}

impl TryFrom<AnomalyRow> for Anomaly {
    type Error = StoreError;

    fn try_from(r: AnomalyRow) -> Result<Self, StoreError> {
        Ok(Self {
            channel: Channel::parse(&r.channel)
                .map_err(|e| StoreError::corrupt("anomaly", format!("{}: {e}", r.id)))?,
            id: r.id,
            kind: r.kind,
            order_id: r.order_id.map(OrderId::from_i64),
            dedupe_key: r.dedupe_key,
            detail: r.detail,
            at: Timestamp::from_millis(r.at),
            occurrences: r.occurrences,
            last_at: Timestamp::from_millis(r.last_at.unwrap_or(r.at)),
        })
    }
}

impl Store {
    /// Records the anomaly, or counts it again on the row with the same dedupe key (which opens it
    /// again if a person had acknowledged it: it happened since). Returns how many times it has
    /// happened now (1 for a new row), so that callers can log the first and not every repeat.
    ///
    /// # Errors
    /// `Database` (an unknown order fails the foreign key).
    pub async fn record_anomaly(&self, a: &NewAnomaly) -> Result<i64, StoreError> {
        let sql = "INSERT INTO anomalies (kind, channel, order_id, dedupe_key, detail, at, occurrences, last_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, 1, $6) \
                   ON CONFLICT (dedupe_key) DO UPDATE \
                   SET occurrences = anomalies.occurrences + 1, last_at = excluded.last_at, \
                   acknowledged_at = NULL, acknowledged_by = NULL, ack_note = NULL \
                   RETURNING occurrences";
        let occurrences = with_write!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(a.kind.as_str())
            .bind(a.channel.as_str())
            .bind(a.order_id.map(OrderId::as_i64))
            .bind(&a.dedupe_key)
            .bind(&a.detail)
            .bind(a.at.as_millis())
            .fetch_one(pool)
            .await)?;
        Ok(occurrences)
    }

    /// Marks anomaly `id` seen to by `by` at `at` with `note` (replacing an earlier
    /// acknowledgement), and writes `audit`, in one transaction; false (and nothing written) when
    /// there is no such anomaly.
    ///
    /// # Errors
    /// `Database`.
    pub async fn acknowledge_anomaly(
        &self,
        id: i64,
        at: Timestamp,
        by: &Email,
        note: &AnomalyNote,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE anomalies SET acknowledged_at = $1, acknowledged_by = $2, ack_note = $3 \
                   WHERE id = $4";
        with_write_tx!(self, tx => {
            let found = sqlx::query(sql)
                .bind(at.as_millis())
                .bind(by.as_str())
                .bind(note.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if found {
                insert_audit!(tx, audit)?;
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(found)
        })
    }

    /// Every anomaly, newest first (by when it first happened).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn anomalies(&self) -> Result<Vec<Anomaly>, StoreError> {
        let sql = "SELECT id, kind, channel, order_id, dedupe_key, detail, at, occurrences, last_at \
                   FROM anomalies ORDER BY at DESC, id DESC";
        let rows =
            with_pool!(self, pool => sqlx::query_as::<_, AnomalyRow>(sql).fetch_all(pool).await)?;
        rows.into_iter().map(Anomaly::try_from).collect()
    }

    /// The anomalies recorded about one order, oldest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn anomalies_for_order(&self, order: OrderId) -> Result<Vec<Anomaly>, StoreError> {
        let sql = "SELECT id, kind, channel, order_id, dedupe_key, detail, at, occurrences, last_at \
                   FROM anomalies WHERE order_id = $1 ORDER BY at, id";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, AnomalyRow>(sql)
            .bind(order.as_i64())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Anomaly::try_from).collect()
    }

    /// Claims the right to ask the channel about `order` now, outside its check schedule, for
    /// `reason` (a callback prompted it): granted when no such query was claimed for this order
    /// and reason in the last `gap`. Atomic across nodes, so that of concurrent callbacks one
    /// wins.
    ///
    /// # Errors
    /// `Database` (an unknown order fails the foreign key).
    pub async fn claim_callback_query(
        &self,
        order: OrderId,
        reason: &str,
        now: Timestamp,
        gap: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let gap_ms = i64::try_from(gap.as_millis()).unwrap_or(i64::MAX);
        let sql = "INSERT INTO callback_queries (order_id, reason, at) VALUES ($1, $2, $3) \
                   ON CONFLICT (order_id, reason) DO UPDATE SET at = excluded.at \
                   WHERE callback_queries.at <= $4";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(order.as_i64())
            .bind(reason)
            .bind(now.as_millis())
            .bind(now.as_millis().saturating_sub(gap_ms))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }
}
