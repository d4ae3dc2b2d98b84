//! The receivers the operator set up for a site: the accounts an order's split plan may name,
//! with the real names the channel needs to add them. Changed with their audit entry, in one
//! transaction.

use crate::domain::{
    AuditEntry, ReceiverAccount, ReceiverName, ReceiverType, SiteId, SiteReceiver, Timestamp,
};

use super::audit::insert_audit;
use super::{Store, StoreError, with_pool, with_write_tx};

impl Store {
    /// Sets up (or renames) a receiver for the site, with `audit`.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn put_site_receiver(
        &self,
        site: &SiteId,
        receiver: &SiteReceiver,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let exists = "SELECT COUNT(*) FROM sites WHERE id = $1";
        let upsert = "INSERT INTO site_receivers (site_id, kind, account, name, created_at) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (site_id, kind, account) \
                      DO UPDATE SET name = excluded.name";
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
                .bind(receiver.kind.as_str())
                .bind(receiver.account.as_str())
                .bind(receiver.name.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes one of the site's receivers, with `audit`. Orders made before keep their plans.
    /// `false` when there was no such receiver.
    ///
    /// # Errors
    /// `Database`.
    pub async fn remove_site_receiver(
        &self,
        site: &SiteId,
        kind: ReceiverType,
        account: &ReceiverAccount,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let delete = "DELETE FROM site_receivers WHERE site_id = $1 AND kind = $2 AND account = $3";
        let removed = with_write_tx!(self, tx => {
            let removed = sqlx::query(delete)
                .bind(site.as_str())
                .bind(kind.as_str())
                .bind(account.as_str())
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

    /// The site's receivers, by type and account.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn site_receivers(&self, site: &SiteId) -> Result<Vec<SiteReceiver>, StoreError> {
        let sql = "SELECT kind, account, name FROM site_receivers WHERE site_id = $1 \
                   ORDER BY kind, account";
        let rows: Vec<(String, String, String)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(site.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(kind, account, name)| {
                let bad = |e: crate::domain::DomainError| {
                    StoreError::corrupt("site receiver", format!("{}: {e}", site.as_str()))
                };
                Ok(SiteReceiver {
                    kind: ReceiverType::parse(&kind).map_err(bad)?,
                    account: ReceiverAccount::parse(&account).map_err(bad)?,
                    name: ReceiverName::parse(&name).map_err(bad)?,
                })
            })
            .collect()
    }
}
