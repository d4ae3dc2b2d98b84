//! Sites as the merchant API sees them: who signed a request, and whether its nonce is fresh.

use std::time::Duration;

use crate::domain::{AccessKey, ApiNonce, Site, SiteId, Timestamp};
use crate::store::Store;

use super::ServiceError;

/// Looks up signing sites and remembers their nonces. Cheap to clone.
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
}
