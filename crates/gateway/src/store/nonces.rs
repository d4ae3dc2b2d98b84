//! API request nonces: each accepted once per AK within the signing window, on every node at once.

use std::time::Duration;

use crate::domain::{AccessKey, ApiNonce, Timestamp};

use super::{Store, StoreError, with_write};

/// A signed request's nonce, to be remembered in the same transaction as what the request writes
/// ([`Store::insert_order_with_nonce`]), so that a request is not charged a commit of its own for
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceUse {
    pub ak: AccessKey,
    pub nonce: ApiNonce,
    /// When the request was accepted.
    pub at: Timestamp,
    /// How long the nonce stays used (the API's `nonce_retention`).
    pub retention: Duration,
}

/// Records a nonce: one row affected if it is fresh (never seen, or last seen before `$4`), none
/// if it is a replay. A row older than the retention is expired but maybe not yet purged: it is
/// taken over. One atomic statement: of two nodes receiving the same request at once, exactly one
/// affects a row (on PostgreSQL the second waits for the first's transaction to end, then sees its
/// row, or none if it rolled back).
pub(super) const REMEMBER_NONCE: &str = "INSERT INTO api_nonces (access_key, nonce, seen_at) VALUES ($1, $2, $3) \
     ON CONFLICT (access_key, nonce) DO UPDATE SET seen_at = excluded.seen_at \
     WHERE api_nonces.seen_at < $4";

impl Store {
    /// Records `nonce` for `ak` at `now`. True if it is fresh (never seen, or last seen longer ago
    /// than `window`), false if it is a replay. Of concurrent calls with the same nonce, exactly
    /// one gets true.
    ///
    /// # Errors
    /// `Database`.
    pub async fn remember_nonce(
        &self,
        ak: &AccessKey,
        nonce: &ApiNonce,
        now: Timestamp,
        window: Duration,
    ) -> Result<bool, StoreError> {
        let affected = with_write!(self, pool => sqlx::query(REMEMBER_NONCE)
            .bind(ak.as_str())
            .bind(nonce.as_str())
            .bind(now.as_millis())
            .bind(now.minus(window).as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }

    /// Deletes nonces seen before `now - window`; returns how many. Run periodically.
    ///
    /// # Errors
    /// `Database`.
    pub async fn purge_nonces(&self, now: Timestamp, window: Duration) -> Result<u64, StoreError> {
        let sql = "DELETE FROM api_nonces WHERE seen_at < $1";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(now.minus(window).as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected)
    }
}
