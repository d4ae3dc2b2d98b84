//! Sites and their keys. The SK is sealed on write and opened on read; the table never holds it.

use std::collections::BTreeSet;

use crate::domain::{
    AccessKey, NotifyUrl, PayMethod, SecretKey, Site, SiteId, SiteName, SiteStatus, Timestamp,
};

use super::rows::flag;
use super::{Store, StoreError, with_pool, with_write};

/// What the operator gives to create a site; the id, AK and SK are generated.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub name: SiteName,
    pub notify_url: Option<NotifyUrl>,
    pub enabled_methods: BTreeSet<PayMethod>,
    /// See [`Site::allow_private_targets`].
    pub allow_private_targets: bool,
}

/// What the operator changes on a site; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteUpdate {
    /// `Some(None)` removes the site's notify URL (orders may still carry their own).
    pub notify_url: Option<Option<NotifyUrl>>,
    pub enabled_methods: Option<BTreeSet<PayMethod>>,
    pub allow_private_targets: Option<bool>,
}

impl SiteUpdate {
    /// Whether it changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(sqlx::FromRow)]
struct SiteRow {
    id: String,
    name: String,
    access_key: String,
    secret_key_sealed: Vec<u8>,
    notify_url: Option<String>,
    enabled_methods: String,
    allow_private_targets: i64,
    status: String,
    created_at: i64,
    updated_at: i64,
}

const SELECT_SITES: &str = "SELECT id, name, access_key, secret_key_sealed, notify_url, \
     enabled_methods, allow_private_targets, status, created_at, updated_at FROM sites";

/// The sealed SK is bound to its site: copied onto another site's row it would not open.
fn sk_aad(site: &SiteId) -> Vec<u8> {
    format!("paygate/site-sk/{}", site.as_str()).into_bytes()
}

fn methods_to_text(methods: &BTreeSet<PayMethod>) -> String {
    methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// Creates a site with a fresh id, AK and SK. The returned `Site` is the only time the SK is
    /// handed out without a lookup: show it to the operator once.
    ///
    /// Its keys show the database's mode (`ak_test_…` in sandbox, `ak_live_…` live).
    ///
    /// # Errors
    /// `ModeNotRecorded`, `Database` (including the practically impossible AK collision), `Crypto`.
    pub async fn create_site(&self, new: NewSite, now: Timestamp) -> Result<Site, StoreError> {
        let mode = self.mode().await?;
        let site = Site {
            id: SiteId::generate(),
            name: new.name,
            access_key: AccessKey::generate(mode),
            secret_key: SecretKey::generate(mode),
            notify_url: new.notify_url,
            enabled_methods: new.enabled_methods,
            allow_private_targets: new.allow_private_targets,
            status: SiteStatus::Active,
            created_at: now,
            updated_at: now,
        };
        let sealed = self
            .secrets
            .seal(site.secret_key.expose().as_bytes(), &sk_aad(&site.id))?;
        let sql = "INSERT INTO sites (id, name, access_key, secret_key_sealed, notify_url, \
                   enabled_methods, allow_private_targets, status, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        with_write!(self, pool => sqlx::query(sql)
            .bind(site.id.as_str())
            .bind(site.name.as_str())
            .bind(site.access_key.as_str())
            .bind(&sealed)
            .bind(site.notify_url.as_ref().map(NotifyUrl::as_str))
            .bind(methods_to_text(&site.enabled_methods))
            .bind(i64::from(site.allow_private_targets))
            .bind(site.status.as_str())
            .bind(now.as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(site)
    }

    /// The site an API request's AK names, if any (disabled ones too: the caller decides).
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `Crypto` (wrong master key).
    pub async fn find_site_by_ak(&self, ak: &AccessKey) -> Result<Option<Site>, StoreError> {
        let sql = format!("{SELECT_SITES} WHERE access_key = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, SiteRow>(&sql)
            .bind(ak.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(|r| self.site_from_row(r)).transpose()
    }

    /// # Errors
    /// As [`Store::find_site_by_ak`].
    pub async fn find_site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        let sql = format!("{SELECT_SITES} WHERE id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, SiteRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(|r| self.site_from_row(r)).transpose()
    }

    /// Every site, oldest first.
    ///
    /// # Errors
    /// As [`Store::find_site_by_ak`].
    pub async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        let sql = format!("{SELECT_SITES} ORDER BY created_at, id");
        let rows =
            with_pool!(self, pool => sqlx::query_as::<_, SiteRow>(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(|r| self.site_from_row(r)).collect()
    }

    /// Replaces a site's SK with a fresh one and returns it; the old SK stops working at once.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`, `Crypto`.
    pub async fn rotate_secret_key(
        &self,
        id: &SiteId,
        now: Timestamp,
    ) -> Result<SecretKey, StoreError> {
        let sk = SecretKey::generate(self.mode().await?);
        let sealed = self.secrets.seal(sk.expose().as_bytes(), &sk_aad(id))?;
        let sql = "UPDATE sites SET secret_key_sealed = $1, updated_at = $2 WHERE id = $3";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(&sealed)
            .bind(now.as_millis())
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            Ok(sk)
        } else {
            Err(StoreError::NotFound("site"))
        }
    }

    /// Enables or disables a site.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn set_site_status(
        &self,
        id: &SiteId,
        status: SiteStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE sites SET status = $1, updated_at = $2 WHERE id = $3";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(status.as_str())
            .bind(now.as_millis())
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound("site"))
        }
    }

    /// Changes what `update` gives and leaves the rest, in one statement (two operators' updates
    /// of different fields do not undo each other).
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn update_site(
        &self,
        id: &SiteId,
        update: &SiteUpdate,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE sites SET \
                   notify_url = CASE WHEN $1 = 1 THEN $2 ELSE notify_url END, \
                   enabled_methods = COALESCE($3, enabled_methods), \
                   allow_private_targets = COALESCE($4, allow_private_targets), \
                   updated_at = $5 \
                   WHERE id = $6";
        let notify_url = update.notify_url.as_ref();
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(i64::from(notify_url.is_some()))
            .bind(notify_url.and_then(|u| u.as_ref()).map(NotifyUrl::as_str))
            .bind(update.enabled_methods.as_ref().map(methods_to_text))
            .bind(update.allow_private_targets.map(i64::from))
            .bind(now.as_millis())
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound("site"))
        }
    }

    fn site_from_row(&self, r: SiteRow) -> Result<Site, StoreError> {
        let bad =
            |e: crate::domain::DomainError| StoreError::corrupt("site", format!("{}: {e}", r.id));
        let id = SiteId::parse(&r.id).map_err(bad)?;
        let sk = self.secrets.open(&r.secret_key_sealed, &sk_aad(&id))?;
        let sk =
            String::from_utf8(sk).map_err(|_| StoreError::corrupt("site", "SK is not UTF-8"))?;
        let enabled_methods = r
            .enabled_methods
            .split(',')
            .filter(|s| !s.is_empty())
            .map(PayMethod::parse_dotted)
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        Ok(Site {
            name: SiteName::parse_stored(&r.name).map_err(bad)?,
            access_key: AccessKey::parse(&r.access_key).map_err(bad)?,
            secret_key: SecretKey::parse(&sk).map_err(bad)?,
            notify_url: r
                .notify_url
                .as_deref()
                .map(NotifyUrl::parse)
                .transpose()
                .map_err(bad)?,
            enabled_methods,
            allow_private_targets: flag(r.allow_private_targets).ok_or_else(|| {
                StoreError::corrupt("site", format!("{}: allow_private_targets", r.id))
            })?,
            status: SiteStatus::parse(&r.status).map_err(bad)?,
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            id,
        })
    }
}
