//! Reconciliation's reads and records: paygate's side of the numbers a bill lists (orders, pay
//! attempts and refunds, looked up a batch at a time), the payments paygate recorded on a day, and
//! each run's row with its discrepancies.

use std::collections::HashMap;

use crate::domain::{
    Account, Balance, BillDay, BillTotals, Channel, Discrepancy, DiscrepancyKind, FundsTotals,
    JobSubject, OrderId, OrderStatus, OurPayment, OurRefund, PayAttemptId, Reconciliation,
    ReconciliationStatus, RefundStatus, Resolution, SiteId, Statement, StatementPayment,
    StatementRefund, Timestamp,
};

use super::jobs::{UPSERT_JOB, subject_column};
use super::{Pool, Store, StoreError, with_pool, with_write, with_write_tx};

/// At most this many numbers per lookup statement (far below either database's limit on bound
/// values).
pub const LOOKUP_BATCH: usize = 500;

pub(super) const SELECT_RUNS: &str = "SELECT id, channel, account, bill_date, status, started_at, \
     finished_at, error, payments, payments_fen, refunds, refunds_fen, fees_fen, matched, \
     funds_movements, funds_income_fen, funds_expense_fen, funds_payments_fen, funds_refunds_fen, \
     funds_fees_fen, lines_read, lines_total FROM reconciliations";

/// A discrepancy to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscrepancy {
    pub reconciliation_id: i64,
    pub discrepancy: Discrepancy,
}

/// A payment paygate recorded on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    pub order_id: OrderId,
    pub upstream_order_no: String,
    pub amount_fen: i64,
}

/// A refund paygate recorded as paid out on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SucceededRefund {
    pub refund_id: i64,
    pub order_id: OrderId,
    pub upstream_refund_no: String,
    pub amount_fen: i64,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    no: String,
    id: i64,
    status: String,
    amount_fen: i64,
    transaction_id: Option<String>,
    trade_no: Option<String>,
    paid_through: String,
    attempt_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    upstream_refund_no: String,
    id: i64,
    order_id: i64,
    status: String,
    amount_fen: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct ReconciliationRow {
    id: i64,
    channel: String,
    account: String,
    bill_date: String,
    status: String,
    started_at: i64,
    finished_at: Option<i64>,
    error: Option<String>,
    payments: i64,
    payments_fen: i64,
    refunds: i64,
    refunds_fen: i64,
    fees_fen: i64,
    matched: i64,
    funds_movements: Option<i64>,
    funds_income_fen: Option<i64>,
    funds_expense_fen: Option<i64>,
    funds_payments_fen: Option<i64>,
    funds_refunds_fen: Option<i64>,
    funds_fees_fen: Option<i64>,
    lines_read: i64,
    lines_total: Option<i64>,
}

impl ReconciliationRow {
    /// The account bill's figures, when a run recorded them.
    fn funds(&self) -> Option<FundsTotals> {
        Some(FundsTotals {
            movements: self.funds_movements?,
            income_fen: self.funds_income_fen?,
            expense_fen: self.funds_expense_fen?,
            payments_fen: self.funds_payments_fen?,
            refunds_fen: self.funds_refunds_fen?,
            fees_fen: self.funds_fees_fen?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DiscrepancyRow {
    kind: String,
    upstream_no: String,
    order_id: Option<i64>,
    refund_id: Option<i64>,
    billed_fen: Option<i64>,
    ours_fen: Option<i64>,
    resolution: String,
    detail: String,
    at: i64,
}

impl ReconciliationRow {
    /// The run the row records.
    pub(super) fn run(&self) -> Result<Reconciliation, StoreError> {
        let corrupt =
            |what: &str| StoreError::corrupt("reconciliation", format!("{}: {what}", self.id));
        Ok(Reconciliation {
            id: self.id,
            channel: Channel::parse(&self.channel).map_err(|e| corrupt(&e.to_string()))?,
            account: self.account.clone(),
            day: BillDay::parse(&self.bill_date).ok_or_else(|| corrupt(&self.bill_date))?,
            status: ReconciliationStatus::parse(&self.status)
                .ok_or_else(|| corrupt(&self.status))?,
            started_at: Timestamp::from_millis(self.started_at),
            finished_at: self.finished_at.map(Timestamp::from_millis),
            error: self.error.clone(),
            totals: BillTotals {
                payments: self.payments,
                payments_fen: self.payments_fen,
                refunds: self.refunds,
                refunds_fen: self.refunds_fen,
                fees_fen: self.fees_fen,
            },
            matched: self.matched,
            funds: self.funds(),
            lines_read: self.lines_read,
            lines_total: self.lines_total,
        })
    }
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// paygate's records of the upstream orders of `channel` numbered `numbers` (at most
    /// [`LOOKUP_BATCH`]): orders sent upstream under that number, and channel-neutral orders one
    /// of whose pay attempts has it. Numbers paygate never used are absent from the map.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn our_payments(
        &self,
        channel: Channel,
        numbers: &[String],
    ) -> Result<HashMap<String, OurPayment>, StoreError> {
        if numbers.is_empty() {
            return Ok(HashMap::new());
        }
        // An order's own number, then its attempts' (a paid channel-neutral order carries its
        // paying attempt's number as its own: both rows say the same).
        let select = |list: &str| {
            format!(
                "SELECT o.upstream_order_no AS no, o.id, o.status, o.amount_fen, o.transaction_id, \
                        o.trade_no, o.upstream_order_no AS paid_through, NULL AS attempt_id \
                 FROM orders o WHERE o.channel = $1 AND o.upstream_order_no {list} \
                 UNION ALL \
                 SELECT a.upstream_order_no AS no, o.id, o.status, o.amount_fen, o.transaction_id, \
                        o.trade_no, o.upstream_order_no AS paid_through, a.id AS attempt_id \
                 FROM pay_attempts a JOIN orders o ON o.id = a.order_id \
                 WHERE a.channel = $1 AND a.upstream_order_no {list}"
            )
        };
        let rows = match &self.pool {
            // One array parameter: the same statement, prepared once, for every batch.
            Pool::Postgres(pool) => {
                self.count_query();
                sqlx::query_as::<_, PaymentRow>(&select("= ANY($2)"))
                    .bind(channel.as_str())
                    .bind(numbers)
                    .fetch_all(pool)
                    .await
            }
            Pool::Sqlite(pool, _) => {
                self.count_query();
                let sql = select(&format!("IN ({})", placeholders(2, numbers.len())));
                let mut q = sqlx::query_as::<_, PaymentRow>(&sql).bind(channel.as_str());
                for n in numbers {
                    q = q.bind(n.as_str());
                }
                q.fetch_all(pool).await
            }
        }?;
        let mut found = HashMap::with_capacity(rows.len());
        for r in rows {
            let status = OrderStatus::parse(&r.status)
                .map_err(|e| StoreError::corrupt("order", format!("{}: {e}", r.id)))?;
            let transaction_id = match channel {
                Channel::Wechat => r.transaction_id,
                Channel::Alipay => r.trade_no,
            };
            let payment = OurPayment {
                order_id: OrderId::from_i64(r.id),
                status,
                amount_fen: r.amount_fen,
                transaction_id,
                attempt: r.attempt_id.map(PayAttemptId::from_i64),
                paid_through_this: r.paid_through == r.no,
            };
            // The attempt's row of a paid channel-neutral order says what its order row says,
            // with the attempt named: keep that one.
            match found.get(&r.no) {
                Some(OurPayment {
                    attempt: Some(_), ..
                }) => {}
                _ => {
                    found.insert(r.no, payment);
                }
            }
        }
        Ok(found)
    }

    /// paygate's refunds of `channel` numbered `numbers` (at most [`LOOKUP_BATCH`]) upstream.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn our_refunds(
        &self,
        channel: Channel,
        numbers: &[String],
    ) -> Result<HashMap<String, OurRefund>, StoreError> {
        if numbers.is_empty() {
            return Ok(HashMap::new());
        }
        let select = "SELECT upstream_refund_no, id, order_id, status, amount_fen FROM refunds \
                      WHERE channel = $1 AND upstream_refund_no";
        let rows = match &self.pool {
            Pool::Postgres(pool) => {
                self.count_query();
                sqlx::query_as::<_, RefundRow>(&format!("{select} = ANY($2)"))
                    .bind(channel.as_str())
                    .bind(numbers)
                    .fetch_all(pool)
                    .await
            }
            Pool::Sqlite(pool, _) => {
                self.count_query();
                let sql = format!("{select} IN ({})", placeholders(2, numbers.len()));
                let mut q = sqlx::query_as::<_, RefundRow>(&sql).bind(channel.as_str());
                for n in numbers {
                    q = q.bind(n.as_str());
                }
                q.fetch_all(pool).await
            }
        }?;
        rows.into_iter()
            .map(|r| {
                let status = RefundStatus::parse(&r.status)
                    .map_err(|e| StoreError::corrupt("refund", format!("{}: {e}", r.id)))?;
                Ok((
                    r.upstream_refund_no,
                    OurRefund {
                        refund_id: r.id,
                        order_id: OrderId::from_i64(r.order_id),
                        status,
                        amount_fen: r.amount_fen,
                    },
                ))
            })
            .collect()
    }

    /// Orders of `channel` that paygate recorded paid within `[from, to)`, by id after `after`,
    /// at most `limit`: one page of a day's payments to the operator's own account. Orders paid
    /// to a merchant of a site's own (a WeChat Pay sub-merchant, an Alipay merchant that
    /// authorised the app) are that merchant's bill's, not the operator's: left out.
    ///
    /// # Errors
    /// `Database`.
    pub async fn paid_orders_between(
        &self,
        channel: Channel,
        from: Timestamp,
        to: Timestamp,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<PaidOrder>, StoreError> {
        let sql = "SELECT id, upstream_order_no, amount_fen FROM orders \
                   WHERE paid_at IS NOT NULL AND paid_at >= $1 AND paid_at < $2 \
                   AND channel = $3 AND id > $4 \
                   AND wechat_sub_mchid IS NULL AND alipay_seller_id IS NULL \
                   ORDER BY id LIMIT $5";
        let rows: Vec<(i64, String, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(from.as_millis())
            .bind(to.as_millis())
            .bind(channel.as_str())
            .bind(after.map_or(0, OrderId::as_i64))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, no, amount_fen)| PaidOrder {
                order_id: OrderId::from_i64(id),
                upstream_order_no: no,
                amount_fen,
            })
            .collect())
    }

    /// Refunds of `channel` that paygate recorded succeeded and that the channel's bill of
    /// `[from, to)` should list, by id after `after`, at most `limit`. WeChat Pay bills a refund
    /// on the day it accepted it (paygate's `created_at`, moments before); Alipay on the day it
    /// was made, which is when it succeeded (its refunds answer at once). Refunds of orders paid
    /// to a merchant of a site's own are left out, as their payments are.
    ///
    /// # Errors
    /// `Database`.
    pub async fn succeeded_refunds_between(
        &self,
        channel: Channel,
        from: Timestamp,
        to: Timestamp,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SucceededRefund>, StoreError> {
        let billed_at = match channel {
            Channel::Wechat => "created_at",
            Channel::Alipay => "succeeded_at",
        };
        let sql = format!(
            "SELECT id, order_id, upstream_refund_no, amount_fen FROM refunds \
             WHERE status = 'succeeded' AND {billed_at} >= $1 AND {billed_at} < $2 \
             AND channel = $3 AND id > $4 \
             AND order_id IN (SELECT id FROM orders \
                              WHERE wechat_sub_mchid IS NULL AND alipay_seller_id IS NULL) \
             ORDER BY id LIMIT $5"
        );
        let rows: Vec<(i64, i64, String, i64)> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(from.as_millis())
            .bind(to.as_millis())
            .bind(channel.as_str())
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(id, order, no, amount_fen)| SucceededRefund {
                refund_id: id,
                order_id: OrderId::from_i64(order),
                upstream_refund_no: no,
                amount_fen,
            })
            .collect())
    }

    /// Records the fees a bill states: for each payment `(order, fee kept)`, for each refund
    /// `(refund id, fee given back)` (at most [`LOOKUP_BATCH`] of each). A later bill's word
    /// replaces an earlier one's.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_billed_fees(
        &self,
        payments: &[(OrderId, i64)],
        refunds: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        let payments: Vec<(i64, i64)> = payments.iter().map(|(o, f)| (o.as_i64(), *f)).collect();
        let statements = [
            ("orders", "channel_fee_fen", payments.as_slice()),
            ("refunds", "channel_fee_returned_fen", refunds),
        ];
        if let Pool::Postgres(pool) = &self.pool {
            self.count_query();
            let mut tx = pool.begin().await?;
            for (table, column, rows) in statements {
                if rows.is_empty() {
                    continue;
                }
                // Two array parameters: one statement, prepared once, whatever the batch.
                let (ids, fees): (Vec<i64>, Vec<i64>) = rows.iter().copied().unzip();
                let sql = format!(
                    "UPDATE {table} SET {column} = v.fee \
                     FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS v(id, fee) WHERE {table}.id = v.id"
                );
                sqlx::query(&sql)
                    .bind(ids)
                    .bind(fees)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        with_write_tx!(self, tx => {
            for (table, column, rows) in statements {
                if rows.is_empty() {
                    continue;
                }
                let cases: String = (0..rows.len())
                    .map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                    .collect();
                let ids: Vec<String> = (0..rows.len()).map(|i| format!("${}", 2 * i + 1)).collect();
                let sql = format!(
                    "UPDATE {table} SET {column} = CASE id{cases} END WHERE id IN ({})",
                    ids.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for (id, fee) in rows {
                    q = q.bind(*id).bind(*fee);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Asks for `day` of `channel` to be reconciled at `due_at` (now, for an operator's request):
    /// its job, due then, with its retries restarted. A node's workers run it.
    ///
    /// # Errors
    /// `Database`.
    pub async fn request_reconciliation(
        &self,
        channel: Channel,
        day: BillDay,
        due_at: Timestamp,
    ) -> Result<(), StoreError> {
        let subject = JobSubject::Bill(channel, day);
        with_write!(self, pool => sqlx::query(UPSERT_JOB)
            .bind(subject.kind().as_str())
            .bind(subject_column(&subject))
            .bind(due_at.as_millis())
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.wake_workers();
        Ok(())
    }

    /// Plans `day` of `channel` for `due_at` unless it is planned already or was reconciled
    /// completely: the daily schedule, which never moves a run already planned or retried.
    /// Returns whether it planned it.
    ///
    /// # Errors
    /// `Database`.
    pub async fn plan_reconciliation(
        &self,
        channel: Channel,
        day: BillDay,
        due_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let subject = JobSubject::Bill(channel, day);
        let sql = "INSERT INTO jobs (kind, subject, due_at, attempt) \
                   SELECT $1, $2, $3, 0 WHERE NOT EXISTS (SELECT 1 FROM reconciliations \
                   WHERE channel = $4 AND bill_date = $5 AND status = 'complete') \
                   ON CONFLICT (kind, subject) DO NOTHING";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(subject.kind().as_str())
            .bind(subject_column(&subject))
            .bind(due_at.as_millis())
            .bind(channel.as_str())
            .bind(day.to_string())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }

    /// Starts (or starts again) the run of `day` for `channel`'s `account`: its row, `running`,
    /// with the discrepancies an earlier run recorded kept. Returns the row's id.
    ///
    /// # Errors
    /// `Database`.
    pub async fn start_reconciliation(
        &self,
        channel: Channel,
        account: &str,
        day: BillDay,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO reconciliations (channel, account, bill_date, status, started_at) \
                   VALUES ($1, $2, $3, 'running', $4) \
                   ON CONFLICT (channel, account, bill_date) DO UPDATE SET \
                   status = 'running', started_at = excluded.started_at, finished_at = NULL, \
                   error = NULL, lines_read = 0, lines_total = NULL \
                   RETURNING id";
        Ok(with_write!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(channel.as_str())
            .bind(account)
            .bind(day.to_string())
            .bind(now.as_millis())
            .fetch_one(pool)
            .await)?)
    }

    /// Records how far a running run has read its bill: `lines_read` lines so far, of
    /// `lines_total` when the bill has said (an unknown total leaves one said before). Written
    /// every few thousand lines, for `paygate reconcile` to show.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_reconciliation_progress(
        &self,
        id: i64,
        lines_read: i64,
        lines_total: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE reconciliations SET lines_read = $1, \
                   lines_total = COALESCE($2, lines_total) WHERE id = $3 AND status = 'running'";
        with_write!(self, pool => sqlx::query(sql)
            .bind(lines_read)
            .bind(lines_total)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a discrepancy of a run. The same line of the same day again (a run repeated) keeps
    /// what the first run did, unless that was to retry. Returns whether it was written.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_discrepancy(&self, new: &NewDiscrepancy) -> Result<bool, StoreError> {
        let d = &new.discrepancy;
        let sql = "INSERT INTO reconciliation_discrepancies \
                   (reconciliation_id, kind, upstream_no, order_id, refund_id, billed_fen, \
                    ours_fen, resolution, detail, at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                   ON CONFLICT (reconciliation_id, kind, upstream_no) DO UPDATE SET \
                   resolution = excluded.resolution, detail = excluded.detail, at = excluded.at \
                   WHERE reconciliation_discrepancies.resolution = 'retry'";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(new.reconciliation_id)
            .bind(d.kind.as_str())
            .bind(&d.upstream_no)
            .bind(d.order_id.map(OrderId::as_i64))
            .bind(d.refund_id)
            .bind(d.billed_fen)
            .bind(d.ours_fen)
            .bind(d.resolution.as_str())
            .bind(&d.detail)
            .bind(d.at.as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }

    /// Records what a run's account bill says moved, before the run ends (a run that then fails
    /// leaves them, like its totals, as no report).
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_funds(&self, id: i64, f: &FundsTotals) -> Result<(), StoreError> {
        let sql = "UPDATE reconciliations SET funds_movements = $1, funds_income_fen = $2, \
                   funds_expense_fen = $3, funds_payments_fen = $4, funds_refunds_fen = $5, \
                   funds_fees_fen = $6 WHERE id = $7";
        with_write!(self, pool => sqlx::query(sql)
            .bind(f.movements)
            .bind(f.income_fen)
            .bind(f.expense_fen)
            .bind(f.payments_fen)
            .bind(f.refunds_fen)
            .bind(f.fees_fen)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Ends a run: `complete` with the bill's totals and the lines that matched, or `failed` with
    /// why (the totals of a failed run are not a report and are left as they were).
    ///
    /// # Errors
    /// `Database`.
    pub async fn finish_reconciliation(
        &self,
        id: i64,
        outcome: Result<(&BillTotals, i64), &str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match outcome {
            Ok((t, matched)) => {
                let sql = "UPDATE reconciliations SET status = 'complete', finished_at = $1, \
                           error = NULL, payments = $2, payments_fen = $3, refunds = $4, \
                           refunds_fen = $5, fees_fen = $6, matched = $7, lines_read = $8, \
                           lines_total = $8 WHERE id = $9";
                with_write!(self, pool => sqlx::query(sql)
                    .bind(now.as_millis())
                    .bind(t.payments)
                    .bind(t.payments_fen)
                    .bind(t.refunds)
                    .bind(t.refunds_fen)
                    .bind(t.fees_fen)
                    .bind(matched)
                    .bind(t.payments + t.refunds)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(|_| ()))?;
            }
            Err(error) => {
                let sql = "UPDATE reconciliations SET status = 'failed', finished_at = $1, \
                           error = $2 WHERE id = $3";
                with_write!(self, pool => sqlx::query(sql)
                    .bind(now.as_millis())
                    .bind(error)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(|_| ()))?;
            }
        }
        Ok(())
    }

    /// The run of `day` for `channel`'s `account`, with its discrepancies (by kind, then number).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reconciliation(
        &self,
        channel: Channel,
        account: &str,
        day: BillDay,
    ) -> Result<Option<(Reconciliation, Vec<Discrepancy>)>, StoreError> {
        let sql = format!("{SELECT_RUNS} WHERE channel = $1 AND account = $2 AND bill_date = $3");
        let row = with_pool!(self, pool => sqlx::query_as::<_, ReconciliationRow>(&sql)
            .bind(channel.as_str())
            .bind(account)
            .bind(day.to_string())
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => Ok(Some(self.with_discrepancies(row).await?)),
            None => Ok(None),
        }
    }

    /// Every run of `day` (each channel and account), without its discrepancies: what a command
    /// waiting for the runs polls.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn runs_of_day(&self, day: BillDay) -> Result<Vec<Reconciliation>, StoreError> {
        let sql = format!("{SELECT_RUNS} WHERE bill_date = $1 ORDER BY channel, account");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ReconciliationRow>(&sql)
            .bind(day.to_string())
            .fetch_all(pool)
            .await)?;
        rows.iter().map(ReconciliationRow::run).collect()
    }

    /// Every run of `day` (each channel and account), with its discrepancies.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn reconciliations_of(
        &self,
        day: BillDay,
    ) -> Result<Vec<(Reconciliation, Vec<Discrepancy>)>, StoreError> {
        let sql = format!("{SELECT_RUNS} WHERE bill_date = $1 ORDER BY channel, account");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ReconciliationRow>(&sql)
            .bind(day.to_string())
            .fetch_all(pool)
            .await)?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            runs.push(self.with_discrepancies(row).await?);
        }
        Ok(runs)
    }

    async fn with_discrepancies(
        &self,
        row: ReconciliationRow,
    ) -> Result<(Reconciliation, Vec<Discrepancy>), StoreError> {
        let run = row.run()?;
        let corrupt =
            |what: &str| StoreError::corrupt("reconciliation", format!("{}: {what}", run.id));
        let sql = "SELECT kind, upstream_no, order_id, refund_id, billed_fen, ours_fen, \
                   resolution, detail, at FROM reconciliation_discrepancies \
                   WHERE reconciliation_id = $1 ORDER BY kind, upstream_no";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, DiscrepancyRow>(sql)
            .bind(run.id)
            .fetch_all(pool)
            .await)?;
        let discrepancies = rows
            .into_iter()
            .map(|r| {
                Ok(Discrepancy {
                    kind: DiscrepancyKind::parse(&r.kind).ok_or_else(|| corrupt(&r.kind))?,
                    upstream_no: r.upstream_no,
                    order_id: r.order_id.map(OrderId::from_i64),
                    refund_id: r.refund_id,
                    billed_fen: r.billed_fen,
                    ours_fen: r.ours_fen,
                    resolution: Resolution::parse(&r.resolution)
                        .ok_or_else(|| corrupt(&r.resolution))?,
                    detail: r.detail,
                    at: Timestamp::from_millis(r.at),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((run, discrepancies))
    }

    /// The site's statement of `day`: its payments of the day (by when they were paid) and its
    /// refunds that reached the payer on the day, in time order, with the fees bills stated.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn statement(&self, site: &SiteId, day: BillDay) -> Result<Statement, StoreError> {
        let (from, to) = day.bounds();
        let payments_sql = "SELECT out_trade_no, channel, transaction_id, trade_no, amount_fen, \
                            channel_fee_fen, paid_at FROM orders \
                            WHERE site_id = $1 AND paid_at IS NOT NULL AND paid_at >= $2 \
                            AND paid_at < $3 ORDER BY paid_at, id";
        let refunds_sql = "SELECT o.out_trade_no, r.out_refund_no, r.channel, r.amount_fen, \
                           r.channel_fee_returned_fen, r.succeeded_at \
                           FROM refunds r JOIN orders o ON o.id = r.order_id \
                           WHERE r.site_id = $1 AND r.status = 'succeeded' \
                           AND r.succeeded_at >= $2 AND r.succeeded_at < $3 \
                           ORDER BY r.succeeded_at, r.id";
        type PaymentLine = (
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<i64>,
            i64,
        );
        type RefundLine = (String, String, String, i64, Option<i64>, i64);
        let payments: Vec<PaymentLine> = with_pool!(self, pool => sqlx::query_as(payments_sql)
            .bind(site.as_str())
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(pool)
            .await)?;
        let refunds: Vec<RefundLine> = with_pool!(self, pool => sqlx::query_as(refunds_sql)
            .bind(site.as_str())
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(pool)
            .await)?;
        let channel = |s: &str| {
            Channel::parse(s).map_err(|e| StoreError::corrupt("order", format!("channel {s}: {e}")))
        };
        Ok(Statement {
            site_id: site.clone(),
            day,
            payments: payments
                .into_iter()
                .map(
                    |(no, ch, transaction_id, trade_no, amount_fen, fee_fen, paid_at)| {
                        let channel = channel(&ch)?;
                        Ok(StatementPayment {
                            out_trade_no: no,
                            transaction_id: match channel {
                                Channel::Wechat => transaction_id,
                                Channel::Alipay => trade_no,
                            },
                            channel,
                            amount_fen,
                            fee_fen,
                            paid_at: Timestamp::from_millis(paid_at),
                        })
                    },
                )
                .collect::<Result<_, StoreError>>()?,
            refunds: refunds
                .into_iter()
                .map(|(no, refund_no, ch, amount_fen, fee, at)| {
                    Ok(StatementRefund {
                        out_trade_no: no,
                        out_refund_no: refund_no,
                        channel: channel(&ch)?,
                        amount_fen,
                        fee_returned_fen: fee,
                        succeeded_at: Timestamp::from_millis(at),
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            balance: self.balance_between(site, from, to).await?,
        })
    }

    /// What the ledger booked on the site's balance in `[from, to)`.
    async fn balance_between(
        &self,
        site: &SiteId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Balance, StoreError> {
        let sql = "SELECT account, COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) \
                   FROM ledger_entries WHERE site_id = $1 AND at >= $2 AND at < $3 \
                   GROUP BY account";
        let rows: Vec<(String, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(site.as_str())
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(pool)
            .await)?;
        let sums = rows
            .into_iter()
            .map(|(account, sum)| {
                Account::parse(&account)
                    .map(|a| (a, sum))
                    .map_err(|e| StoreError::corrupt("ledger entry", format!("{account}: {e}")))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Balance::from_sums(sums))
    }
}
