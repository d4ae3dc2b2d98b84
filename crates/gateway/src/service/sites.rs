//! Sites: as the merchant API sees them (who signed a request, and whether its nonce is fresh), and
//! as the operator manages them (create, change, disable or enable, rotate the SK, set the
//! operator's fee), and what they are owed (their balance, from the ledger). `paygate site` and the
//! console both manage sites here, and every change is written with its audit entry in the same
//! transaction.

use std::time::Duration;

use crate::domain::{
    AccessKey, ActedBy, ApiNonce, AuditAction, AuditEntry, Balance, FeeSchedule, ReceiverAccount,
    ReceiverType, SecretKey, Site, SiteId, SiteReceiver, SiteStatus, Timestamp,
};
use crate::store::{NewSite, SiteUpdate, Store, StoreError};

use super::ServiceError;

/// Looks up signing sites, remembers their nonces, and manages sites. Cheap to clone.
#[derive(Clone)]
pub struct SiteService {
    store: Store,
}

impl SiteService {
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The site whose access key this is, if any.
    ///
    /// # Errors
    /// `Store`.
    pub async fn by_access_key(&self, ak: &AccessKey) -> Result<Option<Site>, ServiceError> {
        Ok(self.store.find_site_by_ak(ak).await?)
    }

    /// The site with this id, if any (the checkout page shows its name).
    ///
    /// # Errors
    /// `Store`.
    pub async fn by_id(&self, id: &SiteId) -> Result<Option<Site>, ServiceError> {
        Ok(self.store.find_site(id).await?)
    }

    /// Remembers `nonce` for `ak` for `retention`; `false` when it was seen within that time
    /// (a replay).
    ///
    /// # Errors
    /// `Store`.
    pub async fn remember_nonce(
        &self,
        ak: &AccessKey,
        nonce: &ApiNonce,
        now: Timestamp,
        retention: Duration,
    ) -> Result<bool, ServiceError> {
        Ok(self.store.remember_nonce(ak, nonce, now, retention).await?)
    }

    /// Creates a site with a fresh id, AK and SK (shown to the operator this once).
    ///
    /// # Errors
    /// `Store`.
    pub async fn create(&self, new: NewSite, by: &ActedBy) -> Result<Site, ServiceError> {
        let now = Timestamp::now();
        let detail = format!("{:?}", new.name.as_str());
        let audit = |id: &SiteId| {
            AuditEntry::by(now, by, AuditAction::SiteCreate)
                .on("site", id.as_str())
                .detail(detail)
        };
        Ok(self.store.create_site_audited(new, now, audit).await?)
    }

    /// Changes what `update` gives; the site as it is now, or `None` for an unknown site.
    ///
    /// # Errors
    /// `Store`.
    pub async fn update(
        &self,
        id: &SiteId,
        update: &SiteUpdate,
        by: &ActedBy,
    ) -> Result<Option<Site>, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteUpdate)
            .on("site", id.as_str())
            .detail(update_detail(update));
        let changed = self.store.update_site(id, update, audit.at, &audit).await;
        self.found_then_read(id, changed).await
    }

    /// Disables (the API refuses its requests) or enables a site; the site as it is now, or
    /// `None` for an unknown site.
    ///
    /// # Errors
    /// `Store`.
    pub async fn set_status(
        &self,
        id: &SiteId,
        status: SiteStatus,
        by: &ActedBy,
    ) -> Result<Option<Site>, ServiceError> {
        let action = match status {
            SiteStatus::Active => AuditAction::SiteEnable,
            SiteStatus::Disabled => AuditAction::SiteDisable,
        };
        let audit = AuditEntry::by(Timestamp::now(), by, action).on("site", id.as_str());
        let changed = self
            .store
            .set_site_status(id, status, audit.at, &audit)
            .await;
        self.found_then_read(id, changed).await
    }

    /// Replaces the site's SK (the old one stops working at once); the new SK, to be shown this
    /// once, or `None` for an unknown site.
    ///
    /// # Errors
    /// `Store`.
    pub async fn rotate_key(
        &self,
        id: &SiteId,
        by: &ActedBy,
    ) -> Result<Option<SecretKey>, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteRotateKey)
            .on("site", id.as_str());
        match self.store.rotate_secret_key(id, audit.at, &audit).await {
            Ok(sk) => Ok(Some(sk)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets the operator's fee on the site's orders paid from now on; orders already paid keep
    /// the fee booked then. The fee as it is now, or `None` for an unknown site.
    ///
    /// # Errors
    /// `Store`.
    pub async fn set_fee(
        &self,
        id: &SiteId,
        schedule: FeeSchedule,
        by: &ActedBy,
    ) -> Result<Option<FeeSchedule>, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteFee)
            .on("site", id.as_str())
            .detail(format!(
                "rate_bps {}; fixed_fen {}",
                schedule.rate_bps(),
                schedule.fixed_fen()
            ));
        match self
            .store
            .set_site_fee(id, schedule, audit.at, &audit)
            .await
        {
            Ok(()) => Ok(Some(self.store.site_fee(id).await?)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Lets `platform` put sub-orders of `member` into its combined orders (合单). `Ok(false)`
    /// when it already could; `None` when either site does not exist.
    ///
    /// # Errors
    /// `Store`.
    pub async fn allow_combine(
        &self,
        platform: &SiteId,
        member: &SiteId,
        by: &ActedBy,
    ) -> Result<Option<bool>, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteCombineAllow)
            .on("site", platform.as_str())
            .detail(format!("member {}", member.as_str()));
        match self
            .store
            .allow_combine(platform, member, audit.at, &audit)
            .await
        {
            Ok(added) => Ok(Some(added)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes back [`SiteService::allow_combine`]; combined orders made before keep their
    /// sub-orders. `false` when there was nothing to take back.
    ///
    /// # Errors
    /// `Store`.
    pub async fn revoke_combine(
        &self,
        platform: &SiteId,
        member: &SiteId,
        by: &ActedBy,
    ) -> Result<bool, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteCombineRevoke)
            .on("site", platform.as_str())
            .detail(format!("member {}", member.as_str()));
        Ok(self.store.revoke_combine(platform, member, &audit).await?)
    }

    /// The member sites `platform` may combine orders for (itself aside, which it always may).
    ///
    /// # Errors
    /// `Store`.
    pub async fn combine_members(&self, platform: &SiteId) -> Result<Vec<SiteId>, ServiceError> {
        Ok(self.store.combine_members(platform).await?)
    }

    /// Sets up a receiver of the site's orders' split plans (or renames it). `false` when the
    /// site does not exist.
    ///
    /// # Errors
    /// `Store`.
    pub async fn put_receiver(
        &self,
        id: &SiteId,
        receiver: &SiteReceiver,
        by: &ActedBy,
    ) -> Result<bool, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteReceiverPut)
            .on("site", id.as_str())
            .detail(format!(
                "{} {} {:?}",
                receiver.kind.as_str(),
                receiver.account.as_str(),
                receiver.name.as_str()
            ));
        match self
            .store
            .put_site_receiver(id, receiver, audit.at, &audit)
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a receiver of the site's split plans; orders made before keep theirs. `false`
    /// when there was no such receiver.
    ///
    /// # Errors
    /// `Store`.
    pub async fn remove_receiver(
        &self,
        id: &SiteId,
        kind: ReceiverType,
        account: &ReceiverAccount,
        by: &ActedBy,
    ) -> Result<bool, ServiceError> {
        let audit = AuditEntry::by(Timestamp::now(), by, AuditAction::SiteReceiverRemove)
            .on("site", id.as_str())
            .detail(format!("{} {}", kind.as_str(), account.as_str()));
        Ok(self
            .store
            .remove_site_receiver(id, kind, account, &audit)
            .await?)
    }

    /// The receivers set up for the site's split plans.
    ///
    /// # Errors
    /// `Store`.
    pub async fn receivers(&self, id: &SiteId) -> Result<Vec<SiteReceiver>, ServiceError> {
        Ok(self.store.site_receivers(id).await?)
    }

    /// The operator's fee on the site's orders (none unless one was set).
    ///
    /// # Errors
    /// `Store`.
    pub async fn fee(&self, id: &SiteId) -> Result<FeeSchedule, ServiceError> {
        Ok(self.store.site_fee(id).await?)
    }

    /// What the site is owed, from the ledger: only this site's entries count.
    ///
    /// # Errors
    /// `Store`.
    pub async fn balance(&self, id: &SiteId) -> Result<Balance, ServiceError> {
        Ok(self.store.site_balance(id).await?)
    }

    /// The site after a change that returned `changed`; `None` when there was no such site.
    async fn found_then_read(
        &self,
        id: &SiteId,
        changed: Result<(), StoreError>,
    ) -> Result<Option<Site>, ServiceError> {
        match changed {
            Ok(()) => Ok(self.store.find_site(id).await?),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// What an update changes, for the audit log: the new values (a notify URL is the site's
/// address, not a secret; a URL with credentials in it is refused by `NotifyUrl`).
fn update_detail(update: &SiteUpdate) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &update.name {
        parts.push(format!("name {:?}", name.as_str()));
    }
    match &update.notify_url {
        Some(Some(url)) => parts.push(format!("notify_url {}", url.as_str())),
        Some(None) => parts.push("notify_url removed".to_owned()),
        None => {}
    }
    if let Some(methods) = &update.enabled_methods {
        let names: Vec<String> = methods.iter().map(ToString::to_string).collect();
        parts.push(format!("methods {}", names.join(",")));
    }
    if let Some(allow) = update.allow_private_targets {
        parts.push(format!("allow_private_targets {allow}"));
    }
    match &update.wechat_sub_merchant {
        Some(Some(m)) => parts.push(match &m.sub_appid {
            Some(appid) => format!("wechat_sub_mchid {} sub_appid {appid}", m.sub_mchid),
            None => format!("wechat_sub_mchid {}", m.sub_mchid),
        }),
        Some(None) => parts.push("wechat_sub_mchid removed".to_owned()),
        None => {}
    }
    // The token is a secret: the log says it was replaced, never what it is.
    match &update.alipay_merchant {
        Some(Some(m)) => parts.push(format!(
            "alipay_seller_id {} with a new app_auth_token",
            m.seller_id
        )),
        Some(None) => parts.push("alipay_seller_id removed".to_owned()),
        None => {}
    }
    parts.join("; ")
}
