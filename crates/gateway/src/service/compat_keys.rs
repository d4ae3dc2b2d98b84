//! Sites' keys for the other protocols (EPay, weidoufu, Jeepay): looked up by the identifier a
//! request names, and turned on, rotated and turned off by the operator (`paygate site compat`, the
//! console), each change written with its audit entry.

use crate::domain::{
    ActedBy, AuditAction, AuditEntry, CompatKey, Protocol, Site, SiteId, Timestamp,
};
use crate::store::{Store, StoreError};

use super::ServiceError;

/// What turning a protocol on or rotating its key came to.
#[derive(Debug)]
pub enum KeyChange {
    /// The keys, to be shown this once.
    Done(CompatKey),
    UnknownSite,
    /// Enabling a protocol that is on already, or rotating or disabling one that is off.
    AlreadyThat,
}

/// Looks up and manages protocol keys. Cheap to clone.
#[derive(Clone)]
pub struct CompatKeyService {
    store: Store,
}

impl CompatKeyService {
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The keys a request names (`protocol`'s identifier `key_id`) and their site, if both exist.
    ///
    /// # Errors
    /// `Store`.
    pub async fn lookup(
        &self,
        protocol: Protocol,
        key_id: &str,
    ) -> Result<Option<(CompatKey, Site)>, ServiceError> {
        let Some(key) = self.store.compat_key(protocol, key_id).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .find_site(&key.site_id)
            .await?
            .map(|site| (key, site)))
    }

    /// The site's keys for `protocol`, if it is on.
    ///
    /// # Errors
    /// `Store`.
    pub async fn of_site(
        &self,
        site: &SiteId,
        protocol: Protocol,
    ) -> Result<Option<CompatKey>, ServiceError> {
        Ok(self.store.compat_key_of_site(site, protocol).await?)
    }

    /// Every protocol on for the site.
    ///
    /// # Errors
    /// `Store`.
    pub async fn all_of_site(&self, site: &SiteId) -> Result<Vec<CompatKey>, ServiceError> {
        Ok(self.store.compat_keys_of_site(site).await?)
    }

    /// Turns `protocol` on for the site with fresh keys.
    ///
    /// # Errors
    /// `Store`.
    pub async fn enable(
        &self,
        site: &SiteId,
        protocol: Protocol,
        by: &ActedBy,
    ) -> Result<KeyChange, ServiceError> {
        let audit = audit(site, protocol, by, AuditAction::CompatEnable);
        let enabled = self
            .store
            .enable_compat(site, protocol, audit.at, &audit)
            .await;
        outcome(enabled)
    }

    /// Gives the site a fresh key for `protocol`; the old one stops working at once.
    ///
    /// # Errors
    /// `Store`.
    pub async fn rotate(
        &self,
        site: &SiteId,
        protocol: Protocol,
        by: &ActedBy,
    ) -> Result<KeyChange, ServiceError> {
        if self.store.find_site(site).await?.is_none() {
            return Ok(KeyChange::UnknownSite);
        }
        let audit = audit(site, protocol, by, AuditAction::CompatRotate);
        let rotated = self
            .store
            .rotate_compat_secret(site, protocol, audit.at, &audit)
            .await;
        outcome(rotated)
    }

    /// Turns `protocol` off for the site; `false` when it was not on (or no such site).
    ///
    /// # Errors
    /// `Store`.
    pub async fn disable(
        &self,
        site: &SiteId,
        protocol: Protocol,
        by: &ActedBy,
    ) -> Result<bool, ServiceError> {
        let audit = audit(site, protocol, by, AuditAction::CompatDisable);
        match self.store.disable_compat(site, protocol, &audit).await {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

fn audit(site: &SiteId, protocol: Protocol, by: &ActedBy, action: AuditAction) -> AuditEntry {
    AuditEntry::by(Timestamp::now(), by, action)
        .on("site", site.as_str())
        .detail(protocol.as_str())
}

fn outcome(changed: Result<CompatKey, StoreError>) -> Result<KeyChange, ServiceError> {
    match changed {
        Ok(key) => Ok(KeyChange::Done(key)),
        Err(StoreError::NotFound("site")) => Ok(KeyChange::UnknownSite),
        Err(StoreError::Taken("protocol") | StoreError::NotFound(_)) => Ok(KeyChange::AlreadyThat),
        Err(e) => Err(e.into()),
    }
}
