//! Which member sites a platform site may combine orders for (`combine_grants`): set and revoked by
//! the operator, each change audited in the same transaction.

use crate::domain::{AuditEntry, SiteId, Timestamp};

use super::audit::insert_audit;
use super::{Store, StoreError, with_pool, with_write_tx};

impl Store {
    /// Lets `platform` put sub-orders of `member` into its combined orders, with `audit`. `false`
    /// when it already could (nothing written, nothing audited).
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn allow_combine(
        &self,
        platform: &SiteId,
        member: &SiteId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let exists = "SELECT COUNT(*) FROM sites WHERE id = $1 OR id = $2";
        let insert = "INSERT INTO combine_grants (platform_site_id, member_site_id, granted_at) \
                      VALUES ($1, $2, $3) ON CONFLICT (platform_site_id, member_site_id) DO NOTHING";
        let added = with_write_tx!(self, tx => {
            let found: i64 = sqlx::query_scalar(exists)
                .bind(platform.as_str())
                .bind(member.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if found != 2 {
                tx.rollback().await?;
                return Err(StoreError::NotFound("site"));
            }
            let added = sqlx::query(insert)
                .bind(platform.as_str())
                .bind(member.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if added {
                insert_audit!(tx, audit)?;
            }
            tx.commit().await?;
            added
        });
        Ok(added)
    }

    /// Takes back what [`Store::allow_combine`] gave, with `audit`; combined orders made before keep
    /// their sub-orders. `false` when there was nothing to take back.
    ///
    /// # Errors
    /// `Database`.
    pub async fn revoke_combine(
        &self,
        platform: &SiteId,
        member: &SiteId,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let delete =
            "DELETE FROM combine_grants WHERE platform_site_id = $1 AND member_site_id = $2";
        let removed = with_write_tx!(self, tx => {
            let removed = sqlx::query(delete)
                .bind(platform.as_str())
                .bind(member.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if removed {
                insert_audit!(tx, audit)?;
            }
            tx.commit().await?;
            removed
        });
        Ok(removed)
    }

    /// The member sites `platform` may combine for, by id.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn combine_members(&self, platform: &SiteId) -> Result<Vec<SiteId>, StoreError> {
        let sql = "SELECT member_site_id FROM combine_grants WHERE platform_site_id = $1 \
                   ORDER BY member_site_id";
        let rows: Vec<String> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(platform.as_str())
            .fetch_all(pool)
            .await)?;
        rows.iter()
            .map(|id| {
                SiteId::parse(id)
                    .map_err(|e| StoreError::corrupt("combine grant", format!("{id}: {e}")))
            })
            .collect()
    }
}
