//! Sites and their keys. The SK is sealed on write and opened on read; the table never holds it.

use std::collections::BTreeSet;

use crate::domain::{
    AccessKey, AlipayMerchant, AlipaySellerId, AppAuthToken, AuditEntry, NotifyUrl, PayMethod,
    SecretKey, Site, SiteId, SiteName, SiteStatus, Timestamp, WechatSubMerchant,
};

use super::audit::insert_audit;
use super::rows::flag;
use super::{Store, StoreError, with_pool, with_write_tx};

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
    pub name: Option<SiteName>,
    /// `Some(None)` removes the site's notify URL (orders may still carry their own).
    pub notify_url: Option<Option<NotifyUrl>>,
    pub enabled_methods: Option<BTreeSet<PayMethod>>,
    pub allow_private_targets: Option<bool>,
    /// `Some(None)` serves the site by the operator's direct merchant again.
    pub wechat_sub_merchant: Option<Option<WechatSubMerchant>>,
    /// `Some(None)` pays the site's Alipay orders to the operator's own account again.
    pub alipay_merchant: Option<Option<AlipayMerchant>>,
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
    wechat_sub_mchid: Option<String>,
    wechat_sub_appid: Option<String>,
    alipay_seller_id: Option<String>,
    alipay_app_auth_token_sealed: Option<Vec<u8>>,
    status: String,
    created_at: i64,
    updated_at: i64,
}

const SELECT_SITES: &str = "SELECT id, name, access_key, secret_key_sealed, notify_url, \
     enabled_methods, allow_private_targets, wechat_sub_mchid, wechat_sub_appid, \
     alipay_seller_id, alipay_app_auth_token_sealed, status, created_at, updated_at FROM sites";

/// The sealed SK is bound to its site: copied onto another site's row it would not open.
fn sk_aad(site: &SiteId) -> Vec<u8> {
    format!("paygate/site-sk/{}", site.as_str()).into_bytes()
}

/// The sealed Alipay token is bound to its site and account: copied onto another site's row, or
/// kept beside another account, it would not open.
fn alipay_token_aad(site: &SiteId, seller_id: &str) -> Vec<u8> {
    format!("paygate/site-alipay-token/{}/{seller_id}", site.as_str()).into_bytes()
}

/// Inside a site change's transaction `$tx`: `NotFound` (rolled back) unless `$changed` is one
/// row; else `$audit` written and the change committed.
macro_rules! commit_site_change {
    ($tx:ident, $changed:expr, $audit:expr) => {
        if $changed != 1 {
            $tx.rollback().await?;
            return Err(StoreError::NotFound("site"));
        }
        insert_audit!($tx, $audit)?;
        $tx.commit().await?;
    };
}

fn methods_to_text(methods: &BTreeSet<PayMethod>) -> String {
    methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// Creates a site with a fresh id, AK and SK and no audit entry: for tests and benchmarks
    /// only. Every site paygate itself makes is in the audit log — the command line's and the
    /// console's through `SiteService::create`, the sandbox's demo site with an entry of its own —
    /// through [`Store::create_site_audited`]. The returned `Site` is the only time the SK is
    /// handed out without a lookup: show it to the operator once.
    ///
    /// Its keys show the database's mode (`ak_test_…` in sandbox, `ak_live_…` live).
    ///
    /// # Errors
    /// `ModeNotRecorded`, `Database` (including the practically impossible AK collision), `Crypto`.
    pub async fn create_site(&self, new: NewSite, now: Timestamp) -> Result<Site, StoreError> {
        self.insert_site(new, now, None::<fn(&SiteId) -> AuditEntry>)
            .await
    }

    /// [`Store::create_site`], with the audit entry `audit` makes of the new site's id written in
    /// the same transaction.
    ///
    /// # Errors
    /// As [`Store::create_site`].
    pub async fn create_site_audited(
        &self,
        new: NewSite,
        now: Timestamp,
        audit: impl FnOnce(&SiteId) -> AuditEntry,
    ) -> Result<Site, StoreError> {
        self.insert_site(new, now, Some(audit)).await
    }

    async fn insert_site(
        &self,
        new: NewSite,
        now: Timestamp,
        audit: Option<impl FnOnce(&SiteId) -> AuditEntry>,
    ) -> Result<Site, StoreError> {
        let mode = self.mode().await?;
        let site = Site {
            id: SiteId::generate(),
            name: new.name,
            access_key: AccessKey::generate(mode),
            secret_key: SecretKey::generate(mode),
            notify_url: new.notify_url,
            enabled_methods: new.enabled_methods,
            allow_private_targets: new.allow_private_targets,
            wechat_sub_merchant: None,
            alipay_merchant: None,
            status: SiteStatus::Active,
            created_at: now,
            updated_at: now,
        };
        let sealed = self
            .secrets
            .seal(site.secret_key.expose().as_bytes(), &sk_aad(&site.id))?;
        let audit = audit.map(|make| make(&site.id));
        let sql = "INSERT INTO sites (id, name, access_key, secret_key_sealed, notify_url, \
                   enabled_methods, allow_private_targets, status, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        with_write_tx!(self, tx => {
            sqlx::query(sql)
                .bind(site.id.as_str())
                .bind(site.name.as_str())
                .bind(site.access_key.as_str())
                .bind(&sealed)
                .bind(site.notify_url.as_ref().map(NotifyUrl::as_str))
                .bind(methods_to_text(&site.enabled_methods))
                .bind(i64::from(site.allow_private_targets))
                .bind(site.status.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            if let Some(audit) = &audit {
                insert_audit!(tx, audit)?;
            }
            tx.commit().await?;
        });
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

    /// Replaces a site's SK with a fresh one and returns it, with `audit`, in one transaction; the
    /// old SK stops working at once.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`, `Crypto`.
    pub async fn rotate_secret_key(
        &self,
        id: &SiteId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<SecretKey, StoreError> {
        let sk = SecretKey::generate(self.mode().await?);
        let sealed = self.secrets.seal(sk.expose().as_bytes(), &sk_aad(id))?;
        let sql = "UPDATE sites SET secret_key_sealed = $1, updated_at = $2 WHERE id = $3";
        with_write_tx!(self, tx => {
            let changed = sqlx::query(sql)
                .bind(&sealed)
                .bind(now.as_millis())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            commit_site_change!(tx, changed, audit);
        });
        Ok(sk)
    }

    /// Enables or disables a site, with `audit`, in one transaction.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn set_site_status(
        &self,
        id: &SiteId,
        status: SiteStatus,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE sites SET status = $1, updated_at = $2 WHERE id = $3";
        with_write_tx!(self, tx => {
            let changed = sqlx::query(sql)
                .bind(status.as_str())
                .bind(now.as_millis())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            commit_site_change!(tx, changed, audit);
        });
        Ok(())
    }

    /// Changes what `update` gives and leaves the rest, in one statement (two operators' updates
    /// of different fields do not undo each other), with `audit`, in one transaction.
    ///
    /// # Errors
    /// `NotFound` for an unknown site; `Database`.
    pub async fn update_site(
        &self,
        id: &SiteId,
        update: &SiteUpdate,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE sites SET \
                   name = COALESCE($1, name), \
                   notify_url = CASE WHEN $2 = 1 THEN $3 ELSE notify_url END, \
                   enabled_methods = COALESCE($4, enabled_methods), \
                   allow_private_targets = COALESCE($5, allow_private_targets), \
                   updated_at = $6, \
                   wechat_sub_mchid = CASE WHEN $8 = 1 THEN $9 ELSE wechat_sub_mchid END, \
                   wechat_sub_appid = CASE WHEN $8 = 1 THEN $10 ELSE wechat_sub_appid END, \
                   alipay_seller_id = CASE WHEN $11 = 1 THEN $12 ELSE alipay_seller_id END, \
                   alipay_app_auth_token_sealed = \
                       CASE WHEN $11 = 1 THEN $13 ELSE alipay_app_auth_token_sealed END \
                   WHERE id = $7";
        let notify_url = update.notify_url.as_ref();
        let sub_merchant = update.wechat_sub_merchant.as_ref();
        let sub = sub_merchant.and_then(Option::as_ref);
        let alipay = update.alipay_merchant.as_ref();
        let merchant = alipay.and_then(Option::as_ref);
        let sealed = merchant
            .map(|m| {
                self.secrets.seal(
                    m.app_auth_token.expose().as_bytes(),
                    &alipay_token_aad(id, m.seller_id.as_str()),
                )
            })
            .transpose()?;
        with_write_tx!(self, tx => {
            let changed = sqlx::query(sql)
                .bind(update.name.as_ref().map(SiteName::as_str))
                .bind(i64::from(notify_url.is_some()))
                .bind(notify_url.and_then(|u| u.as_ref()).map(NotifyUrl::as_str))
                .bind(update.enabled_methods.as_ref().map(methods_to_text))
                .bind(update.allow_private_targets.map(i64::from))
                .bind(now.as_millis())
                .bind(id.as_str())
                .bind(i64::from(sub_merchant.is_some()))
                .bind(sub.map(|m| m.sub_mchid.as_str()))
                .bind(sub.and_then(|m| m.sub_appid.as_ref()).map(|a| a.as_str()))
                .bind(i64::from(alipay.is_some()))
                .bind(merchant.map(|m| m.seller_id.as_str()))
                .bind(sealed)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            commit_site_change!(tx, changed, audit);
        });
        Ok(())
    }

    /// The site's Alipay merchant as stored: the account and its sealed token, both or neither.
    fn alipay_merchant_of(
        &self,
        id: &SiteId,
        seller_id: Option<&str>,
        sealed: Option<&[u8]>,
    ) -> Result<Option<AlipayMerchant>, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt("site", format!("{id}: {what}"));
        match (seller_id, sealed) {
            (None, None) => Ok(None),
            (Some(seller), Some(sealed)) => {
                let token = self.secrets.open(sealed, &alipay_token_aad(id, seller))?;
                let token =
                    String::from_utf8(token).map_err(|_| corrupt("Alipay token is not UTF-8"))?;
                Ok(Some(AlipayMerchant {
                    seller_id: AlipaySellerId::parse(seller)
                        .map_err(|_| corrupt("alipay_seller_id"))?,
                    app_auth_token: AppAuthToken::parse(&token)
                        .map_err(|_| corrupt("Alipay token"))?,
                }))
            }
            _ => Err(corrupt(
                "an Alipay account without its token, or a token without its account",
            )),
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
            wechat_sub_merchant: WechatSubMerchant::from_columns(
                r.wechat_sub_mchid.as_deref(),
                r.wechat_sub_appid.as_deref(),
            )
            .map_err(bad)?,
            alipay_merchant: self.alipay_merchant_of(
                &id,
                r.alipay_seller_id.as_deref(),
                r.alipay_app_auth_token_sealed.as_deref(),
            )?,
            status: SiteStatus::parse(&r.status).map_err(bad)?,
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            id,
        })
    }
}
