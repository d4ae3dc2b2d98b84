//! The ledger's SQL (see `crate::domain::ledger` for the chart of accounts): posting, the one
//! place that books money, and the reads of balances and fees.
//!
//! Posting happens only inside the transaction of the state change that causes it —
//! [`post_payment!`] in `transitions.rs` when an order becomes paid, [`post_refund!`] in
//! `refunds.rs` when a refund succeeds, [`post_split!`] in `splits.rs` when a split's shares are paid — so the money and the status change commit or roll back
//! together: a transition that loses its compare-and-set books nothing, and a crash cannot leave
//! one without the other. A movement is inserted with `ON CONFLICT DO NOTHING` on its cause and
//! kind, so the same cause is never booked twice even if a caller tried.

use crate::domain::{
    Account, Amount, AuditEntry, Balance, FeeSchedule, Movement, Order, OrderId, SiteId, SplitPlan,
    Timestamp,
};

use super::audit::insert_audit;
use super::{Store, StoreError, with_pool, with_write_tx};

/// The paid order's site and amount, with the site's fee in force now (none without a row).
pub(super) const ORDER_AND_FEE: &str = "SELECT o.site_id, o.amount_fen, f.rate_bps, f.fixed_fen, \
     o.split_plan FROM orders o LEFT JOIN site_fees f ON f.site_id = o.site_id WHERE o.id = $1";

pub(super) const INSERT_MOVEMENT: &str = "INSERT INTO ledger_movements \
     (site_id, kind, cause, cause_id, order_id, entry_count, detail, at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (cause, cause_id, kind) DO NOTHING RETURNING id";

/// A movement's debit and credit, in one statement: one round trip less on the payment's path.
pub(super) const INSERT_ENTRIES: &str = "INSERT INTO ledger_entries \
     (movement_id, site_id, account, amount_fen, at) \
     VALUES ($1, $2, $3, $4, $5), ($1, $2, $6, $7, $5)";

/// Books `$movement` (a `&Movement`) at `$at` (millis) inside the transaction `$tx`: the movement,
/// declaring its two entries, then the entries. A movement of the same cause and kind already
/// booked is left as it is.
macro_rules! post_movement {
    ($tx:ident, $movement:expr, $at:expr) => {{
        let movement: &$crate::domain::Movement = $movement;
        let at: i64 = $at;
        let (cause, cause_id) = movement.cause.columns();
        let [debit, credit] = movement.entries();
        let id: Option<i64> = sqlx::query_scalar(super::ledger::INSERT_MOVEMENT)
            .bind(movement.site_id.as_str())
            .bind(movement.kind.as_str())
            .bind(cause)
            .bind(cause_id)
            .bind(movement.order_id.as_i64())
            // Every movement is one debit and one credit (`Movement::entries`).
            .bind(2_i64)
            .bind(movement.detail.as_str())
            .bind(at)
            .fetch_optional(&mut *$tx)
            .await?;
        if let Some(id) = id {
            sqlx::query(super::ledger::INSERT_ENTRIES)
                .bind(id)
                .bind(movement.site_id.as_str())
                .bind(debit.account.as_str())
                .bind(debit.amount_fen)
                .bind(at)
                .bind(credit.account.as_str())
                .bind(credit.amount_fen)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Books the payment of order `$order_id` (an `OrderId`) and the operator's fee on it, at the
/// site's rate in force now, inside the transaction `$tx` that makes it paid, at `$at` (millis).
macro_rules! post_payment {
    ($tx:ident, $order_id:expr, $at:expr) => {{
        let order_id: $crate::domain::OrderId = $order_id;
        let (site, amount, rate, fixed, plan): (
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
        ) = sqlx::query_as(super::ledger::ORDER_AND_FEE)
            .bind(order_id.as_i64())
            .fetch_one(&mut *$tx)
            .await?;
        let movements =
            super::ledger::payment_movements(order_id, &site, amount, (rate, fixed), plan)?;
        for movement in movements {
            super::ledger::post_movement!($tx, &movement, $at);
        }
    }};
}

/// Books refund `$refund_id` of `$amount` fen on order `$order_id` (both `i64`) of site `$site`
/// (`&str`), inside the transaction `$tx` in which it succeeds, at `$at` (millis).
macro_rules! post_refund {
    ($tx:ident, $refund_id:expr, $order_id:expr, $site:expr, $amount:expr, $at:expr) => {{
        let movement = super::ledger::refund_movement($refund_id, $order_id, $site, $amount)?;
        super::ledger::post_movement!($tx, &movement, $at);
    }};
}

/// Books what split `$split_id` paid to its receivers, `$amount` fen of order `$order_id` (all
/// `i64`) of site `$site` (`&str`), inside the transaction `$tx` in which it ends, at `$at`.
macro_rules! post_split {
    ($tx:ident, $split_id:expr, $order_id:expr, $site:expr, $amount:expr, $at:expr) => {{
        let movement = super::ledger::split_movement($split_id, $order_id, $site, $amount)?;
        super::ledger::post_movement!($tx, &movement, $at);
    }};
}

pub(super) use {post_movement, post_payment, post_refund, post_split};

/// The movements of a payment: the payment itself, and the fee when there is one, unless the
/// order's split plan takes the fee by profit sharing (then its fee split books it when it ends).
/// The stored values are parsed again: a bad one is refused (and the transition with it) rather
/// than booked.
pub(super) fn payment_movements(
    order_id: OrderId,
    site: &str,
    amount: i64,
    (rate_bps, fixed_fen): (Option<i64>, Option<i64>),
    split_plan: Option<String>,
) -> Result<Vec<Movement>, StoreError> {
    let bad = |e: crate::domain::DomainError| {
        StoreError::corrupt("order", format!("row {}: {e}", order_id.as_i64()))
    };
    let site = SiteId::parse(site).map_err(bad)?;
    let amount = Amount::parse(amount).map_err(bad)?;
    let plan = split_plan
        .as_deref()
        .map(SplitPlan::from_json)
        .transpose()
        .map_err(bad)?;
    let mut movements = vec![Movement::payment(site.clone(), order_id, amount)];
    if plan.is_none_or(|p| p.fee.is_none()) {
        let schedule = fee_schedule(rate_bps, fixed_fen).map_err(bad)?;
        movements.extend(Movement::fee(site, order_id, amount, schedule));
    }
    Ok(movements)
}

/// The movements of the operator's fee split when it ends: the fee it took (`taken` fen, booked
/// against the split) and what it did not take, owed (booked against the order, as a direct
/// merchant's fee is). Either may be none.
pub(super) fn fee_split_movements(
    split_id: i64,
    order_id: i64,
    site: &str,
    taken: i64,
    owed: i64,
) -> Result<Vec<Movement>, StoreError> {
    let bad = |e: crate::domain::DomainError| {
        StoreError::corrupt("split", format!("row {split_id}: {e}"))
    };
    let site = SiteId::parse(site).map_err(bad)?;
    let order = OrderId::from_i64(order_id);
    let mut movements = Vec::new();
    if taken > 0 {
        let amount = Amount::parse(taken).map_err(bad)?;
        movements.push(Movement::fee_taken(site.clone(), order, split_id, amount));
    }
    if owed > 0 {
        let amount = Amount::parse(owed).map_err(bad)?;
        movements.push(Movement::fee_owed(site, order, amount));
    }
    Ok(movements)
}

/// The movement of a succeeded refund.
pub(super) fn refund_movement(
    refund_id: i64,
    order_id: i64,
    site: &str,
    amount: i64,
) -> Result<Movement, StoreError> {
    let bad = |e: crate::domain::DomainError| {
        StoreError::corrupt("refund", format!("row {refund_id}: {e}"))
    };
    Ok(Movement::refund(
        SiteId::parse(site).map_err(bad)?,
        OrderId::from_i64(order_id),
        refund_id,
        Amount::parse(amount).map_err(bad)?,
    ))
}

/// The movement of what a split paid to its receivers.
pub(super) fn split_movement(
    split_id: i64,
    order_id: i64,
    site: &str,
    amount: i64,
) -> Result<Movement, StoreError> {
    let bad = |e: crate::domain::DomainError| {
        StoreError::corrupt("split", format!("row {split_id}: {e}"))
    };
    Ok(Movement::split(
        SiteId::parse(site).map_err(bad)?,
        OrderId::from_i64(order_id),
        split_id,
        Amount::parse(amount).map_err(bad)?,
    ))
}

/// A `site_fees` row's schedule; none at all is no fee.
fn fee_schedule(
    rate_bps: Option<i64>,
    fixed_fen: Option<i64>,
) -> Result<FeeSchedule, crate::domain::DomainError> {
    FeeSchedule::parse(rate_bps.unwrap_or(0), fixed_fen.unwrap_or(0))
}

impl Store {
    /// The site's balance, from the sums of its accounts' entries (all zero for a site with none,
    /// or no such site).
    ///
    /// # Errors
    /// `Database`, `Corrupt` (an account not in the chart).
    pub async fn site_balance(&self, site: &SiteId) -> Result<Balance, StoreError> {
        Ok(Balance::from_sums(self.account_sums(site).await?))
    }

    /// The sum of each of the site's accounts that has entries (debit positive, credit negative).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn account_sums(&self, site: &SiteId) -> Result<Vec<(Account, i64)>, StoreError> {
        let sql = "SELECT account, COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) \
                   FROM ledger_entries WHERE site_id = $1 GROUP BY account ORDER BY account";
        let rows: Vec<(String, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(site.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(account, sum)| {
                let account = Account::parse(&account)
                    .map_err(|e| StoreError::corrupt("ledger entry", format!("{account}: {e}")))?;
                Ok((account, sum))
            })
            .collect()
    }

    /// The operator's fee on the site's orders; nothing (the default) unless one was set.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn site_fee(&self, site: &SiteId) -> Result<FeeSchedule, StoreError> {
        let sql = "SELECT rate_bps, fixed_fen FROM site_fees WHERE site_id = $1";
        let row: Option<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(site.as_str())
            .fetch_optional(pool)
            .await)?;
        let (rate, fixed) = row.unzip();
        fee_schedule(rate, fixed)
            .map_err(|e| StoreError::corrupt("site fee", format!("{}: {e}", site.as_str())))
    }

    /// Whether the operator's fee on the order was booked against the order itself (at payment,
    /// or as owed when its fee split could not take it).
    ///
    /// # Errors
    /// `Database`.
    pub async fn fee_booked_at_payment(&self, order: OrderId) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM ledger_movements \
                   WHERE cause = 'order' AND cause_id = $1 AND kind = 'fee'";
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(order.as_i64())
            .fetch_one(pool)
            .await)?;
        Ok(n > 0)
    }

    /// Books the operator's fee on `order` as owed, when its fee split could not be made. Once
    /// per order: a second call books nothing.
    ///
    /// # Errors
    /// `Database`.
    pub async fn book_fee_owed(
        &self,
        order: &Order,
        fee: Amount,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let movement = Movement::fee_owed(order.site_id.clone(), order.id, fee);
        with_write_tx!(self, tx => {
            post_movement!(tx, &movement, at.as_millis());
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets the operator's fee on the site's orders from now on, with `audit`, in one transaction.
    /// Orders already paid keep the fee booked when they were paid.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn set_site_fee(
        &self,
        site: &SiteId,
        schedule: FeeSchedule,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let exists = "SELECT COUNT(*) FROM sites WHERE id = $1";
        let upsert = "INSERT INTO site_fees (site_id, rate_bps, fixed_fen, updated_at) \
                      VALUES ($1, $2, $3, $4) ON CONFLICT (site_id) DO UPDATE SET \
                      rate_bps = excluded.rate_bps, fixed_fen = excluded.fixed_fen, \
                      updated_at = excluded.updated_at";
        with_write_tx!(self, tx => {
            let found: i64 = sqlx::query_scalar(exists)
                .bind(site.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if found != 1 {
                tx.rollback().await?;
                return Err(StoreError::NotFound("site"));
            }
            sqlx::query(upsert)
                .bind(site.as_str())
                .bind(schedule.rate_bps())
                .bind(schedule.fixed_fen())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
