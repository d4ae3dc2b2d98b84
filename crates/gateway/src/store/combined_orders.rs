//! Combined orders: the platform's row and its sub-orders, each an ordinary order of its own site,
//! stored together in one transaction; and the reads that find them again.

use crate::domain::{
    CheckoutToken, CombinedOrder, Fingerprint, JobSubject, NewCombinedOrder, Order, OrderId,
    OutTradeNo, PayMethod, SiteId, Timestamp, UpstreamFields, UpstreamOrderNo,
};

use super::jobs::subject_column;
use super::orders::{INSERT_CHECK_JOB, INSERT_ORDER, bind_new_order};
use super::rows::{OrderRow, select_orders_where};
use super::{Store, StoreError, with_pool, with_write, with_write_tx};

const COMBINED_COLUMNS: &str = "id, site_id, combine_out_trade_no, upstream_no, method, \
     fingerprint, amount_fen, prepay_id, code_url, h5_url, checkout_token, created_at, expires_at";

/// What [`Store::insert_combined_order`] did.
#[derive(Debug)]
pub enum CombinedInsert {
    /// Stored now, with its sub-orders in request order.
    Inserted(CombinedOrder, Vec<Order>),
    /// The platform already has a combined order of this number: nothing was written.
    Existing(CombinedOrder),
    /// A sub-order's site already has an order of its number: nothing was written.
    SubOrderTaken {
        site_id: SiteId,
        out_trade_no: OutTradeNo,
    },
}

#[derive(sqlx::FromRow)]
struct CombinedRow {
    id: i64,
    site_id: String,
    combine_out_trade_no: String,
    upstream_no: String,
    method: String,
    fingerprint: String,
    amount_fen: i64,
    prepay_id: Option<String>,
    code_url: Option<String>,
    h5_url: Option<String>,
    checkout_token: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<CombinedRow> for CombinedOrder {
    type Error = StoreError;

    fn try_from(r: CombinedRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| {
            StoreError::corrupt("combined order", format!("row {}: {e}", r.id))
        };
        Ok(Self {
            id: r.id,
            platform: SiteId::parse(&r.site_id).map_err(bad)?,
            combine_out_trade_no: OutTradeNo::parse(&r.combine_out_trade_no).map_err(bad)?,
            upstream_no: UpstreamOrderNo::parse(&r.upstream_no).map_err(bad)?,
            pay_method: PayMethod::parse_dotted(&r.method).map_err(bad)?,
            fingerprint: Fingerprint::from_stored(r.fingerprint),
            amount_total: r.amount_fen,
            upstream: UpstreamFields {
                prepay_id: r.prepay_id,
                code_url: r.code_url,
                h5_url: r.h5_url,
                ..UpstreamFields::default()
            },
            checkout_token: r
                .checkout_token
                .as_deref()
                .map(CheckoutToken::parse)
                .transpose()
                .map_err(bad)?,
            created_at: Timestamp::from_millis(r.created_at),
            expires_at: Timestamp::from_millis(r.expires_at),
        })
    }
}

impl Store {
    /// Stores the combined order and every sub-order (with its first check job) in one
    /// transaction, or nothing: not when the platform has a combined order of this number already,
    /// nor when a sub-order's site has an order of that number.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn insert_combined_order(
        &self,
        new: &NewCombinedOrder,
    ) -> Result<CombinedInsert, StoreError> {
        let insert = format!(
            "INSERT INTO combined_orders (site_id, combine_out_trade_no, upstream_no, method, \
             fingerprint, amount_fen, checkout_token, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
             ON CONFLICT (site_id, combine_out_trade_no) DO NOTHING RETURNING {COMBINED_COLUMNS}"
        );
        let link = "UPDATE orders SET combined_order_id = $1, combine_no = $2 WHERE id = $3";
        let done: Result<(CombinedRow, Vec<OrderRow>), Option<usize>> = with_write_tx!(self, tx => {
            let combined: Option<CombinedRow> = sqlx::query_as(&insert)
                .bind(new.platform.as_str())
                .bind(new.combine_out_trade_no.as_str())
                .bind(new.upstream_no.as_str())
                .bind(new.pay_method.to_string())
                .bind(new.fingerprint.as_str())
                .bind(new.amount_total)
                .bind(new.checkout_token.as_str())
                .bind(new.created_at.as_millis())
                .bind(new.expires_at.as_millis())
                .fetch_optional(&mut *tx)
                .await?;
            match combined {
                None => {
                    tx.rollback().await?;
                    Err(None)
                }
                Some(combined) => {
                    let mut rows = Vec::with_capacity(new.sub_orders.len());
                    let mut taken = None;
                    for (i, sub) in new.sub_orders.iter().enumerate() {
                        let row: Option<OrderRow> = bind_new_order!(sqlx::query_as(INSERT_ORDER), sub)
                            .fetch_optional(&mut *tx)
                            .await?;
                        let Some(row) = row else {
                            taken = Some(i);
                            break;
                        };
                        sqlx::query(link)
                            .bind(combined.id)
                            .bind(new.upstream_no.as_str())
                            .bind(row.id())
                            .execute(&mut *tx)
                            .await?;
                        let subject = JobSubject::Order(OrderId::from_i64(row.id()));
                        sqlx::query(INSERT_CHECK_JOB)
                            .bind(subject.kind().as_str())
                            .bind(subject_column(&subject))
                            .bind(sub.first_check_at().as_millis())
                            .execute(&mut *tx)
                            .await?;
                        rows.push(row);
                    }
                    if taken.is_some() {
                        tx.rollback().await?;
                        Err(taken)
                    } else {
                        tx.commit().await?;
                        Ok((combined, rows))
                    }
                }
            }
        });
        match done {
            Ok((combined, rows)) => {
                let combined = CombinedOrder::try_from(combined)?;
                // Read back after linking: the rows returned by the insert predate the link.
                let orders = rows
                    .into_iter()
                    .map(|row| {
                        let mut order = Order::try_from(row)?;
                        order.combine_no = Some(combined.upstream_no.clone());
                        Ok(order)
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(CombinedInsert::Inserted(combined, orders))
            }
            Err(None) => {
                let existing = self
                    .find_combined_order(&new.platform, &new.combine_out_trade_no)
                    .await?;
                Ok(CombinedInsert::Existing(existing.ok_or(
                    StoreError::NotFound("conflicting combined order"),
                )?))
            }
            Err(Some(i)) => {
                let sub = new
                    .sub_orders
                    .get(i)
                    .ok_or(StoreError::NotFound("sub-order"))?;
                Ok(CombinedInsert::SubOrderTaken {
                    site_id: sub.site_id().clone(),
                    out_trade_no: sub.request().out_trade_no.clone(),
                })
            }
        }
    }

    /// The platform's combined order with this number; another site's is not found.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_combined_order(
        &self,
        platform: &SiteId,
        combine_out_trade_no: &OutTradeNo,
    ) -> Result<Option<CombinedOrder>, StoreError> {
        let sql = format!(
            "SELECT {COMBINED_COLUMNS} FROM combined_orders \
             WHERE site_id = $1 AND combine_out_trade_no = $2"
        );
        let row: Option<CombinedRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(platform.as_str())
            .bind(combine_out_trade_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(CombinedOrder::try_from).transpose()
    }

    /// The combined order whose checkout page `token` opens, whichever platform's: the token is
    /// the payer's only key to it.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_combined_by_token(
        &self,
        token: &CheckoutToken,
    ) -> Result<Option<CombinedOrder>, StoreError> {
        let sql =
            format!("SELECT {COMBINED_COLUMNS} FROM combined_orders WHERE checkout_token = $1");
        let row: Option<CombinedRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(token.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(CombinedOrder::try_from).transpose()
    }

    /// The combined order WeChat Pay knows as `combine_no` (a sub-order's link to it).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_combined_by_upstream_no(
        &self,
        combine_no: &UpstreamOrderNo,
    ) -> Result<Option<CombinedOrder>, StoreError> {
        let sql = format!("SELECT {COMBINED_COLUMNS} FROM combined_orders WHERE upstream_no = $1");
        let row: Option<CombinedRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(combine_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(CombinedOrder::try_from).transpose()
    }

    /// Gives a combined order stored without a checkout token (before paygate made them) this
    /// one, unless another reader gave it one first; the token it has afterwards.
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `NotFound` if the combined order is gone.
    pub async fn give_combined_token(
        &self,
        combined_id: i64,
        token: &CheckoutToken,
    ) -> Result<CheckoutToken, StoreError> {
        let set = "UPDATE combined_orders SET checkout_token = $1 \
                   WHERE id = $2 AND checkout_token IS NULL";
        with_write!(self, pool => sqlx::query(set)
            .bind(token.as_str())
            .bind(combined_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        let read = "SELECT checkout_token FROM combined_orders WHERE id = $1";
        let stored: Option<Option<String>> = with_pool!(self, pool => sqlx::query_scalar(read)
            .bind(combined_id)
            .fetch_optional(pool)
            .await)?;
        let stored = stored
            .flatten()
            .ok_or(StoreError::NotFound("combined order"))?;
        CheckoutToken::parse(&stored)
            .map_err(|e| StoreError::corrupt("combined order", format!("row {combined_id}: {e}")))
    }

    /// The combined order's sub-orders, in the order they were asked for.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn combined_sub_orders(&self, combined_id: i64) -> Result<Vec<Order>, StoreError> {
        let sql = select_orders_where!("combined_order_id = $1 ORDER BY id");
        let rows: Vec<OrderRow> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(combined_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Order::try_from).collect()
    }

    /// Every sub-order of the combined order WeChat Pay knows as `combine_no`.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn sub_orders_of_combined(
        &self,
        combine_no: &UpstreamOrderNo,
    ) -> Result<Vec<Order>, StoreError> {
        let sql = select_orders_where!("combine_no = $1 ORDER BY id");
        let rows: Vec<OrderRow> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(combine_no.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Order::try_from).collect()
    }

    /// Keeps WeChat Pay's answer to the combined create (its pay parameters), the first one only:
    /// the same create answers the same parameters again.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_combined_upstream(
        &self,
        combined_id: i64,
        fields: &UpstreamFields,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE combined_orders SET prepay_id = $1, code_url = $2, h5_url = $3, \
                   updated_at = $4 \
                   WHERE id = $5 AND prepay_id IS NULL AND code_url IS NULL AND h5_url IS NULL";
        with_write!(self, pool => sqlx::query(sql)
            .bind(fields.prepay_id.as_deref())
            .bind(fields.code_url.as_deref())
            .bind(fields.h5_url.as_deref())
            .bind(now.as_millis())
            .bind(combined_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
