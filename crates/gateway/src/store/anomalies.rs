//! Anomalies: what paygate refused from a channel (an amount or merchant that does not match the
//! order…), kept for the operator. The caller also logs and counts them.

use crate::domain::{Channel, OrderId, Timestamp};

use super::{Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnomaly {
    /// A stable snake_case name: `amount_mismatch`, `merchant_mismatch`…
    pub kind: String,
    pub channel: Channel,
    pub order_id: Option<OrderId>,
    /// What was expected and what came, for a human. Never secrets (keys, signatures, payloads with
    /// personal data).
    pub detail: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    pub id: i64,
    pub kind: String,
    pub channel: Channel,
    pub order_id: Option<OrderId>,
    pub detail: String,
    pub at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct AnomalyRow {
    id: i64,
    kind: String,
    channel: String,
    order_id: Option<i64>,
    detail: String,
    at: i64,
}

impl Store {
    /// # Errors
    /// `Database` (an unknown order fails the foreign key).
    pub async fn record_anomaly(&self, a: &NewAnomaly) -> Result<(), StoreError> {
        let sql = "INSERT INTO anomalies (kind, channel, order_id, detail, at) \
                   VALUES ($1, $2, $3, $4, $5)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&a.kind)
            .bind(a.channel.as_str())
            .bind(a.order_id.map(OrderId::as_i64))
            .bind(&a.detail)
            .bind(a.at.as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Every anomaly, newest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn anomalies(&self) -> Result<Vec<Anomaly>, StoreError> {
        let sql = "SELECT id, kind, channel, order_id, detail, at FROM anomalies \
                   ORDER BY at DESC, id DESC";
        let rows =
            with_pool!(self, pool => sqlx::query_as::<_, AnomalyRow>(sql).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(Anomaly {
                    channel: Channel::parse(&r.channel)
                        .map_err(|e| StoreError::corrupt("anomaly", format!("{}: {e}", r.id)))?,
                    id: r.id,
                    kind: r.kind,
                    order_id: r.order_id.map(OrderId::from_i64),
                    detail: r.detail,
                    at: Timestamp::from_millis(r.at),
                })
            })
            .collect()
    }
}
