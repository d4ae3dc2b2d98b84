//! Pay attempts of channel-neutral orders: one upstream order per app the payer opened the
//! checkout in. Found by their upstream number (callbacks) and by their order (the checkout, the
//! check job, closing).

use crate::domain::{
    OrderId, PayAttempt, PayAttemptId, PayMethod, Payer, Timestamp, UpstreamFields, UpstreamOrderNo,
};

use super::rows::{PAY_ATTEMPT_COLUMNS, PayAttemptRow};
use super::{Store, StoreError, with_pool, with_write};

impl Store {
    /// Stores a new attempt of `order` under a fresh upstream number, before the channel hears of
    /// it (so a crash after the channel accepted it leaves a row that callbacks and checks find).
    ///
    /// # Errors
    /// `Database` (an unknown order fails the foreign key), `Corrupt`.
    pub async fn insert_pay_attempt(
        &self,
        order: OrderId,
        method: PayMethod,
        payer: &Payer,
        now: Timestamp,
    ) -> Result<PayAttempt, StoreError> {
        let sql = format!(
            "INSERT INTO pay_attempts (order_id, upstream_order_no, channel, method, payer_openid, \
             payer_buyer_id, payer_client_ip, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {PAY_ATTEMPT_COLUMNS}"
        );
        let no = UpstreamOrderNo::generate(now);
        let row = with_write!(self, pool => sqlx::query_as::<_, PayAttemptRow>(&sql)
            .bind(order.as_i64())
            .bind(no.as_str())
            .bind(method.channel().as_str())
            .bind(method.method().as_str())
            .bind(payer.openid.as_ref().map(|v| v.as_str()))
            .bind(payer.buyer_id.as_ref().map(|v| v.as_str()))
            .bind(payer.client_ip.map(|ip| ip.to_string()))
            .bind(now.as_millis())
            .fetch_one(pool)
            .await)?;
        PayAttempt::try_from(row)
    }

    /// The order's attempts, oldest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn pay_attempts(&self, order: OrderId) -> Result<Vec<PayAttempt>, StoreError> {
        let sql = format!(
            "SELECT {PAY_ATTEMPT_COLUMNS} FROM pay_attempts WHERE order_id = $1 ORDER BY id"
        );
        let rows = with_pool!(self, pool => sqlx::query_as::<_, PayAttemptRow>(&sql)
            .bind(order.as_i64())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(PayAttempt::try_from).collect()
    }

    /// The attempt paygate sent upstream under this number (channel callbacks).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_pay_attempt_by_upstream_no(
        &self,
        no: &UpstreamOrderNo,
    ) -> Result<Option<PayAttempt>, StoreError> {
        let sql =
            format!("SELECT {PAY_ATTEMPT_COLUMNS} FROM pay_attempts WHERE upstream_order_no = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, PayAttemptRow>(&sql)
            .bind(no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(PayAttempt::try_from).transpose()
    }

    /// Records what the channel answered the attempt's create. A field given replaces the stored
    /// one (a WeChat H5 link asked for again is a new link); absent fields keep theirs.
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `NotFound`.
    pub async fn record_pay_attempt(
        &self,
        id: PayAttemptId,
        fields: &UpstreamFields,
        now: Timestamp,
    ) -> Result<PayAttempt, StoreError> {
        let sql = format!(
            "UPDATE pay_attempts SET prepay_id = COALESCE($1, prepay_id), \
             code_url = COALESCE($2, code_url), h5_url = COALESCE($3, h5_url), \
             qr_code = COALESCE($4, qr_code), updated_at = $5 WHERE id = $6 \
             RETURNING {PAY_ATTEMPT_COLUMNS}"
        );
        let row = with_write!(self, pool => sqlx::query_as::<_, PayAttemptRow>(&sql)
            .bind(fields.prepay_id.as_deref())
            .bind(fields.code_url.as_deref())
            .bind(fields.h5_url.as_deref())
            .bind(fields.qr_code.as_deref())
            .bind(now.as_millis())
            .bind(id.as_i64())
            .fetch_optional(pool)
            .await)?;
        row.map(PayAttempt::try_from)
            .transpose()?
            .ok_or(StoreError::NotFound("pay attempt"))
    }

    /// Marks the attempt as no longer payable (the channel closed it, or never had it). Keeps the
    /// first time it was seen closed.
    ///
    /// # Errors
    /// `Database`.
    pub async fn close_pay_attempt(
        &self,
        id: PayAttemptId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE pay_attempts SET closed_at = COALESCE(closed_at, $1) WHERE id = $2";
        with_write!(self, pool => sqlx::query(sql)
            .bind(now.as_millis())
            .bind(id.as_i64())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
