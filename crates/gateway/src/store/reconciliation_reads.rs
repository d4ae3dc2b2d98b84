//! Reconciliation as the console reads it: the days that have a run, newest first, a page at a
//! time; the runs of a span of days with how many discrepancies each found; the days planned and
//! not run yet; the order numbers discrepancies name; and the fee a bill stated for an order.

use std::collections::HashMap;

use crate::domain::{BillDay, Channel, JobKind, OrderId, Reconciliation, Timestamp};

use super::reconciliation::{LOOKUP_BATCH, ReconciliationRow, SELECT_RUNS};
use super::{Store, StoreError, with_pool};

/// A run of a day, with how many discrepancies it recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRun {
    pub run: Reconciliation,
    pub discrepancies: i64,
}

/// A day of a channel whose run is planned: its `reconcile_day` job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRun {
    pub channel: Channel,
    pub day: BillDay,
    pub due_at: Timestamp,
    /// How many tries failed before (0 for a first run, or one asked for again).
    pub attempt: i64,
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    run: ReconciliationRow,
    discrepancies: i64,
}

impl Store {
    /// Up to `limit` days that have a run, newest first, before `before` (all, without it).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reconciled_days(
        &self,
        before: Option<BillDay>,
        limit: u32,
    ) -> Result<Vec<BillDay>, StoreError> {
        // `YYYY-MM-DD` sorts as the days do.
        let sql = "SELECT DISTINCT bill_date FROM reconciliations WHERE bill_date < $1 \
                   ORDER BY bill_date DESC LIMIT $2";
        let before = before.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string());
        let rows: Vec<String> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.iter()
            .map(|d| {
                BillDay::parse(d).ok_or_else(|| StoreError::corrupt("reconciliation", d.clone()))
            })
            .collect()
    }

    /// The runs of the days `from` to `to` (both included), newest day first, then by channel and
    /// account, each with how many discrepancies it recorded.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reconciliation_runs(
        &self,
        from: BillDay,
        to: BillDay,
    ) -> Result<Vec<ListedRun>, StoreError> {
        let sql = format!(
            "SELECT r.*, (SELECT COUNT(*) FROM reconciliation_discrepancies d \
             WHERE d.reconciliation_id = r.id) AS discrepancies FROM ({SELECT_RUNS}) r \
             WHERE r.bill_date >= $1 AND r.bill_date <= $2 \
             ORDER BY r.bill_date DESC, r.channel, r.account"
        );
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ListedRow>(&sql)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| {
                Ok(ListedRun {
                    run: r.run.run()?,
                    discrepancies: r.discrepancies,
                })
            })
            .collect()
    }

    /// Every day planned to be reconciled (its job waiting, or being run), by day then channel.
    ///
    /// # Errors
    /// `Database`.
    pub async fn planned_reconciliations(&self) -> Result<Vec<PlannedRun>, StoreError> {
        let sql = "SELECT subject, due_at, attempt FROM jobs WHERE kind = $1";
        let rows: Vec<(String, i64, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(JobKind::ReconcileDay.as_str())
            .fetch_all(pool)
            .await)?;
        let mut planned: Vec<PlannedRun> = rows
            .into_iter()
            // A subject that names no bill is no day's plan: the workers drop such a job when
            // they claim it.
            .filter_map(|(subject, due_at, attempt)| {
                let (channel, day) = subject.split_once(':')?;
                Some(PlannedRun {
                    channel: Channel::parse(channel).ok()?,
                    day: BillDay::parse(day)?,
                    due_at: Timestamp::from_millis(due_at),
                    attempt,
                })
            })
            .collect();
        planned.sort_by_key(|p| (std::cmp::Reverse(p.day), p.channel.as_str()));
        Ok(planned)
    }

    /// The `out_trade_no` of each order of `ids` that exists.
    ///
    /// # Errors
    /// `Database`.
    pub async fn order_numbers(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, String>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for batch in ids.chunks(LOOKUP_BATCH) {
            let list = (1..=batch.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT id, out_trade_no FROM orders WHERE id IN ({list})");
            let rows: Vec<(i64, String)> = with_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql);
                for id in batch {
                    q = q.bind(id.as_i64());
                }
                q.fetch_all(pool).await
            })?;
            found.extend(rows.into_iter().map(|(id, no)| (OrderId::from_i64(id), no)));
        }
        Ok(found)
    }

    /// The fee the channel's bill stated for order `id`, once a reconciled bill has listed it.
    ///
    /// # Errors
    /// `Database`.
    pub async fn billed_fee(&self, id: OrderId) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT channel_fee_fen FROM orders WHERE id = $1";
        let fee: Option<Option<i64>> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(id.as_i64())
            .fetch_optional(pool)
            .await)?;
        Ok(fee.flatten())
    }
}
