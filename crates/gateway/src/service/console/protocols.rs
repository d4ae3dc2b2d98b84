//! A site's other protocols (EPay, weidoufu, Jeepay) from the console: which are on, with their
//! identifiers, for whoever may see the site; turned on or off by admins only (the operator's
//! decision, as on the command line); a key rotated by admins and the site's own users, as its SK.
//! A new key is handed back to be shown once, on the answer to the request that made it.

use crate::domain::{CompatKey, Protocol, SiteId};
use crate::service::{CompatKeyService, KeyChange};

use super::sites::{SiteChange, site_right};
use super::{Acting, ConsoleError, ConsoleService};

/// What a protocol change came to, for the page.
#[derive(Debug)]
pub enum ProtocolChange {
    /// The keys, to show once.
    Keys(CompatKey),
    /// Turned off.
    Off,
    /// On already (enable), or off (rotate, disable): nothing was changed.
    Unchanged,
}

impl ConsoleService {
    fn compat_keys(&self) -> CompatKeyService {
        CompatKeyService::new(self.store.clone())
    }

    /// The protocols on for site `id`, if it is within the user's scope. Their keys are in the
    /// values but must not be shown: only their identifiers are.
    ///
    /// # Errors
    /// `NotFound`, `Service(Store)`.
    pub async fn site_protocols(
        &self,
        scope: &crate::domain::Scope,
        id: &SiteId,
    ) -> Result<Vec<CompatKey>, ConsoleError> {
        let site = self.site(scope, id).await?;
        Ok(self.compat_keys().all_of_site(&site.id).await?)
    }

    /// Turns `protocol` on for site `id` (admins only).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed`, `Service(Store)`.
    pub async fn enable_protocol(
        &self,
        acting: Acting<'_>,
        id: &SiteId,
        protocol: Protocol,
    ) -> Result<ProtocolChange, ConsoleError> {
        site_right(&acting.user.role, id, SiteChange::Settings)?;
        outcome(
            self.compat_keys()
                .enable(id, protocol, &acting.acted_by())
                .await?,
        )
    }

    /// Replaces site `id`'s key for `protocol` (admins, and the site's own users).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed`, `Service(Store)`.
    pub async fn rotate_protocol_key(
        &self,
        acting: Acting<'_>,
        id: &SiteId,
        protocol: Protocol,
    ) -> Result<ProtocolChange, ConsoleError> {
        site_right(&acting.user.role, id, SiteChange::RotateKey)?;
        outcome(
            self.compat_keys()
                .rotate(id, protocol, &acting.acted_by())
                .await?,
        )
    }

    /// Turns `protocol` off for site `id` (admins only).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed`, `Service(Store)`.
    pub async fn disable_protocol(
        &self,
        acting: Acting<'_>,
        id: &SiteId,
        protocol: Protocol,
    ) -> Result<ProtocolChange, ConsoleError> {
        site_right(&acting.user.role, id, SiteChange::Settings)?;
        let off = self
            .compat_keys()
            .disable(id, protocol, &acting.acted_by())
            .await?;
        Ok(if off {
            ProtocolChange::Off
        } else {
            ProtocolChange::Unchanged
        })
    }
}

fn outcome(change: KeyChange) -> Result<ProtocolChange, ConsoleError> {
    match change {
        KeyChange::Done(key) => Ok(ProtocolChange::Keys(key)),
        KeyChange::UnknownSite => Err(ConsoleError::NotFound),
        KeyChange::AlreadyThat => Ok(ProtocolChange::Unchanged),
    }
}
