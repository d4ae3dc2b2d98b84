//! Sites' keys for the other protocols (EPay, weidoufu, Jeepay). The key is sealed on write and
//! opened on read, bound to its site and protocol; the table never holds it in clear.

use crate::domain::{AuditEntry, CompatKey, CompatSecret, Protocol, SiteId, Timestamp};

use super::audit::insert_audit;
use super::{Store, StoreError, with_pool, with_write_tx};

#[derive(sqlx::FromRow)]
struct CompatKeyRow {
    site_id: String,
    protocol: String,
    key_id: String,
    app_id: Option<String>,
    secret_sealed: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

const SELECT_KEYS: &str = "SELECT site_id, protocol, key_id, app_id, secret_sealed, created_at, \
     updated_at FROM compat_keys";

/// How many fresh identifiers are tried before giving up: each is a collision only by chance.
const ID_ATTEMPTS: usize = 5;

/// Inside a key change's transaction `$tx`: `NotFound` (rolled back) unless `$changed` is one
/// row; else `$audit` written and the change committed.
macro_rules! commit_key_change {
    ($tx:ident, $changed:expr, $audit:expr) => {
        if $changed != 1 {
            $tx.rollback().await?;
            return Err(StoreError::NotFound("protocol key"));
        }
        insert_audit!($tx, $audit)?;
        $tx.commit().await?;
    };
}

/// A sealed key copied onto another site's or protocol's row would not open.
fn secret_aad(site: &SiteId, protocol: Protocol) -> Vec<u8> {
    format!("paygate/compat-key/{}/{}", site.as_str(), protocol.as_str()).into_bytes()
}

impl Store {
    /// Turns `protocol` on for the site with fresh identifiers and key, with `audit`, in one
    /// transaction. The returned key is the only time it is handed out without a lookup: show it
    /// to the operator once.
    ///
    /// # Errors
    /// `Taken` when the protocol is on already (rotate its key instead); `NotFound` for an unknown
    /// site; `Database`, `Crypto`.
    pub async fn enable_compat(
        &self,
        site: &SiteId,
        protocol: Protocol,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<CompatKey, StoreError> {
        if self.find_site(site).await?.is_none() {
            return Err(StoreError::NotFound("site"));
        }
        let secret = protocol.generate_secret();
        let sealed = self
            .secrets
            .seal(secret.expose().as_bytes(), &secret_aad(site, protocol))?;
        // No conflict target: a second enabling and a colliding identifier both insert nothing.
        let sql = "INSERT INTO compat_keys (site_id, protocol, key_id, app_id, secret_sealed, \
                   created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING";
        for _ in 0..ID_ATTEMPTS {
            let (key_id, app_id) = protocol.generate_ids();
            let inserted = with_write_tx!(self, tx => {
                let inserted = sqlx::query(sql)
                    .bind(site.as_str())
                    .bind(protocol.as_str())
                    .bind(&key_id)
                    .bind(app_id.as_deref())
                    .bind(&sealed)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if inserted {
                    insert_audit!(tx, audit)?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                inserted
            });
            if inserted {
                return Ok(CompatKey {
                    site_id: site.clone(),
                    protocol,
                    key_id,
                    app_id,
                    secret,
                    created_at: now,
                    updated_at: now,
                });
            }
            if self.compat_key_of_site(site, protocol).await?.is_some() {
                return Err(StoreError::Taken("protocol"));
            }
        }
        Err(StoreError::Taken("protocol key id"))
    }

    /// Replaces the site's key for `protocol` (its identifiers stay), with `audit`, in one
    /// transaction; the old key stops working at once.
    ///
    /// # Errors
    /// `NotFound` when the protocol is not on for the site; `Database`, `Crypto`.
    pub async fn rotate_compat_secret(
        &self,
        site: &SiteId,
        protocol: Protocol,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<CompatKey, StoreError> {
        let secret = protocol.generate_secret();
        let sealed = self
            .secrets
            .seal(secret.expose().as_bytes(), &secret_aad(site, protocol))?;
        let sql = "UPDATE compat_keys SET secret_sealed = $1, updated_at = $2 \
                   WHERE site_id = $3 AND protocol = $4";
        with_write_tx!(self, tx => {
            let changed = sqlx::query(sql)
                .bind(&sealed)
                .bind(now.as_millis())
                .bind(site.as_str())
                .bind(protocol.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            commit_key_change!(tx, changed, audit);
        });
        let key = self
            .compat_key_of_site(site, protocol)
            .await?
            .ok_or(StoreError::NotFound("protocol key"))?;
        Ok(CompatKey { secret, ..key })
    }

    /// Turns `protocol` off for the site: its keys are deleted, with `audit`, in one transaction.
    /// Its orders stay; their notifications can no longer be signed and fail until it is on again.
    ///
    /// # Errors
    /// `NotFound` when the protocol is not on for the site; `Database`.
    pub async fn disable_compat(
        &self,
        site: &SiteId,
        protocol: Protocol,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let sql = "DELETE FROM compat_keys WHERE site_id = $1 AND protocol = $2";
        with_write_tx!(self, tx => {
            let changed = sqlx::query(sql)
                .bind(site.as_str())
                .bind(protocol.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            commit_key_change!(tx, changed, audit);
        });
        Ok(())
    }

    /// The keys a request names by `key_id` (EPay's pid, weidoufu's access key, Jeepay's mchNo).
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `Crypto` (wrong master key).
    pub async fn compat_key(
        &self,
        protocol: Protocol,
        key_id: &str,
    ) -> Result<Option<CompatKey>, StoreError> {
        let sql = format!("{SELECT_KEYS} WHERE protocol = $1 AND key_id = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, CompatKeyRow>(&sql)
            .bind(protocol.as_str())
            .bind(key_id)
            .fetch_optional(pool)
            .await)?;
        row.map(|r| self.compat_key_from_row(r)).transpose()
    }

    /// The site's keys for `protocol`, if it is on.
    ///
    /// # Errors
    /// As [`Store::compat_key`].
    pub async fn compat_key_of_site(
        &self,
        site: &SiteId,
        protocol: Protocol,
    ) -> Result<Option<CompatKey>, StoreError> {
        let sql = format!("{SELECT_KEYS} WHERE site_id = $1 AND protocol = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, CompatKeyRow>(&sql)
            .bind(site.as_str())
            .bind(protocol.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(|r| self.compat_key_from_row(r)).transpose()
    }

    /// Every protocol that is on for the site, with its keys.
    ///
    /// # Errors
    /// As [`Store::compat_key`].
    pub async fn compat_keys_of_site(&self, site: &SiteId) -> Result<Vec<CompatKey>, StoreError> {
        let sql = format!("{SELECT_KEYS} WHERE site_id = $1 ORDER BY protocol");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, CompatKeyRow>(&sql)
            .bind(site.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| self.compat_key_from_row(r))
            .collect()
    }

    fn compat_key_from_row(&self, r: CompatKeyRow) -> Result<CompatKey, StoreError> {
        let bad = |e: crate::domain::DomainError| StoreError::corrupt("compat key", e);
        let site_id = SiteId::parse(&r.site_id).map_err(bad)?;
        let protocol = Protocol::parse(&r.protocol).map_err(bad)?;
        let opened = self
            .secrets
            .open(&r.secret_sealed, &secret_aad(&site_id, protocol))?;
        let secret = String::from_utf8(opened)
            .map_err(|_| StoreError::corrupt("compat key", "key is not UTF-8"))?;
        Ok(CompatKey {
            site_id,
            protocol,
            key_id: r.key_id,
            app_id: r.app_id,
            secret: CompatSecret::from_stored(secret),
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
        })
    }
}
