//! Sites in the console: who may do what to which site (decided by [`site_right`], a pure
//! function), then the change through `SiteService`, the same code `paygate site` runs, which writes
//! it with its audit entry.
//!
//! Admins do everything. Viewers look. A site user sees their own site only (any other is not
//! found, as if it did not exist) and may change what the merchant portal is for — where their
//! notifications go, and their SK — but not the operator's decisions: the site's name, its
//! methods, whether it is enabled, and creating sites.

use std::time::Duration;

use crate::domain::{
    Balance, BillDay, FeeSchedule, Role, Scope, SecretKey, SessionToken, Site, SiteId, SiteStatus,
    Statement, Timestamp,
};
use crate::store::{KeyShown, NewSite, SiteUpdate};

use super::{Acting, ConsoleError, ConsoleService};

/// How long a new SK waits for the page that shows it: the browser is sent there at once, so a
/// few minutes is plenty, and an SK not taken by then is never shown.
pub const KEY_DISPLAY_TTL: Duration = Duration::from_secs(5 * 60);

/// A change to a site, as far as who may make it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteChange {
    /// Name, methods, private-target permission, the sub-merchant paid: the operator's decisions.
    Settings,
    /// Where the site's notifications go.
    NotifyUrl,
    Status,
    RotateKey,
}

/// Whether `role` may make `change` to site `site`: `NotFound` for another site's user (the site
/// is not theirs to know of), `NotAllowed` for a change the role may not make.
///
/// # Errors
/// As above.
pub fn site_right(role: &Role, site: &SiteId, change: SiteChange) -> Result<(), ConsoleError> {
    match role {
        Role::Admin => Ok(()),
        Role::Viewer => Err(ConsoleError::NotAllowed),
        Role::Site(own) if own != site => Err(ConsoleError::NotFound),
        Role::Site(_) => match change {
            SiteChange::NotifyUrl | SiteChange::RotateKey => Ok(()),
            SiteChange::Settings | SiteChange::Status => Err(ConsoleError::NotAllowed),
        },
    }
}

/// The changes `update` makes, as [`site_right`] weighs them.
fn changes(update: &SiteUpdate) -> Vec<SiteChange> {
    let mut changes = Vec::new();
    if update.name.is_some()
        || update.enabled_methods.is_some()
        || update.allow_private_targets.is_some()
        || update.wechat_sub_merchant.is_some()
        || update.alipay_merchant.is_some()
    {
        changes.push(SiteChange::Settings);
    }
    if update.notify_url.is_some() {
        changes.push(SiteChange::NotifyUrl);
    }
    changes
}

/// `update` without what `site` already has.
fn news(update: SiteUpdate, site: &Site) -> SiteUpdate {
    SiteUpdate {
        name: update.name.filter(|n| *n != site.name),
        notify_url: update.notify_url.filter(|u| *u != site.notify_url),
        enabled_methods: update
            .enabled_methods
            .filter(|m| *m != site.enabled_methods),
        allow_private_targets: update
            .allow_private_targets
            .filter(|a| *a != site.allow_private_targets),
        wechat_sub_merchant: update
            .wechat_sub_merchant
            .filter(|m| *m != site.wechat_sub_merchant),
        alipay_merchant: update
            .alipay_merchant
            .filter(|m| *m != site.alipay_merchant),
    }
}

impl ConsoleService {
    /// The site `id`, if it is within `scope` (`NotFound` otherwise).
    ///
    /// # Errors
    /// `NotFound`, `Service(Store)`.
    pub async fn site(&self, scope: &Scope, id: &SiteId) -> Result<Site, ConsoleError> {
        if scope.site().is_some_and(|own| own != id) {
            return Err(ConsoleError::NotFound);
        }
        self.store
            .find_site(id)
            .await?
            .ok_or(ConsoleError::NotFound)
    }

    /// Site `id`'s statement of `day`, as `GET /v1/statements/{date}` gives it to the site, if
    /// the site is within `scope` (`NotFound` otherwise: a site user's is their own only).
    ///
    /// # Errors
    /// `NotFound`, `Service(Store)`.
    pub async fn statement(
        &self,
        scope: &Scope,
        id: &SiteId,
        day: BillDay,
    ) -> Result<Statement, ConsoleError> {
        let site = self.site(scope, id).await?;
        Ok(self.orders.statement(&site.id, day).await?)
    }

    /// Site `id`'s balance from the ledger, and the operator's fee on its orders, if the site is
    /// within `scope` (`NotFound` otherwise: a site user sees their own only).
    ///
    /// # Errors
    /// `NotFound`, `Service(Store)`.
    pub async fn site_money(
        &self,
        scope: &Scope,
        id: &SiteId,
    ) -> Result<(Balance, FeeSchedule), ConsoleError> {
        let site = self.site(scope, id).await?;
        Ok((
            self.sites.balance(&site.id).await?,
            self.sites.fee(&site.id).await?,
        ))
    }

    /// Creates a site (admins only), its SK kept for session `shown_to` to take once
    /// ([`Self::take_key`]).
    ///
    /// # Errors
    /// `NotAllowed` for anyone but an admin; `Service(Store)` (if keeping the SK fails, the site
    /// exists but its SK was never shown: rotating it gives a new one).
    pub async fn create_site(
        &self,
        acting: Acting<'_>,
        shown_to: &SessionToken,
        new: NewSite,
    ) -> Result<Site, ConsoleError> {
        if acting.user.role != Role::Admin {
            return Err(ConsoleError::NotAllowed);
        }
        let site = self.sites.create(new, &acting.acted_by()).await?;
        self.keep_key(shown_to, &site.id, KeyShown::Created, &site.secret_key)
            .await?;
        Ok(site)
    }

    /// Changes on site `id` what `update` gives and the site does not have yet, if the user may
    /// make each of those changes; a form that changes nothing changes nothing (and records
    /// nothing).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed` (see [`site_right`]; nothing is changed then), `Service(Store)`.
    pub async fn edit_site(
        &self,
        acting: Acting<'_>,
        id: &SiteId,
        update: SiteUpdate,
    ) -> Result<Site, ConsoleError> {
        // The least an edit may be: whether the site is theirs at all is settled first (a viewer
        // edits nothing, another site's user finds no site).
        site_right(&acting.user.role, id, SiteChange::NotifyUrl)?;
        let site = self.site(&acting.user.role.scope(), id).await?;
        let update = news(update, &site);
        if update.is_empty() {
            return Ok(site);
        }
        for change in changes(&update) {
            site_right(&acting.user.role, id, change)?;
        }
        self.sites
            .update(id, &update, &acting.acted_by())
            .await?
            .ok_or(ConsoleError::NotFound)
    }

    /// Disables or enables site `id` (admins only).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed`, `Service(Store)`.
    pub async fn set_site_status(
        &self,
        acting: Acting<'_>,
        id: &SiteId,
        status: SiteStatus,
    ) -> Result<Site, ConsoleError> {
        site_right(&acting.user.role, id, SiteChange::Status)?;
        self.sites
            .set_status(id, status, &acting.acted_by())
            .await?
            .ok_or(ConsoleError::NotFound)
    }

    /// Replaces site `id`'s SK (admins, and the site's own users), the new SK kept for session
    /// `shown_to` to take once ([`Self::take_key`]).
    ///
    /// # Errors
    /// `NotFound`, `NotAllowed`, `Service(Store)` (if keeping the SK fails, it was rotated but
    /// never shown: rotating again gives a new one).
    pub async fn rotate_site_key(
        &self,
        acting: Acting<'_>,
        shown_to: &SessionToken,
        id: &SiteId,
    ) -> Result<(), ConsoleError> {
        site_right(&acting.user.role, id, SiteChange::RotateKey)?;
        let sk = self
            .sites
            .rotate_key(id, &acting.acted_by())
            .await?
            .ok_or(ConsoleError::NotFound)?;
        self.keep_key(shown_to, id, KeyShown::Rotated, &sk).await
    }

    /// The SK kept for session `session` and site `id` by [`Self::create_site`] or
    /// [`Self::rotate_site_key`], with the site: handed out once (it is deleted as it is taken)
    /// and within [`KEY_DISPLAY_TTL`]; `None` after that.
    ///
    /// # Errors
    /// `NotFound` for a site outside `scope`, `Service(Store)`.
    pub async fn take_key(
        &self,
        scope: &Scope,
        session: &SessionToken,
        id: &SiteId,
    ) -> Result<(Site, Option<(KeyShown, SecretKey)>), ConsoleError> {
        let site = self.site(scope, id).await?;
        let key = self
            .store
            .take_key_display(session, id, Timestamp::now())
            .await?;
        Ok((site, key))
    }

    async fn keep_key(
        &self,
        session: &SessionToken,
        id: &SiteId,
        kind: KeyShown,
        sk: &SecretKey,
    ) -> Result<(), ConsoleError> {
        let until = Timestamp::now().plus(KEY_DISPLAY_TTL);
        Ok(self
            .store
            .keep_key_display(session, id, kind, sk, until)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_do_everything_viewers_nothing_and_site_users_their_portals_part() {
        let ours = SiteId::parse("site_ours").unwrap();
        let theirs = SiteId::parse("site_theirs").unwrap();
        let all = [
            SiteChange::Settings,
            SiteChange::NotifyUrl,
            SiteChange::Status,
            SiteChange::RotateKey,
        ];
        for change in all {
            assert!(site_right(&Role::Admin, &theirs, change).is_ok());
            assert!(matches!(
                site_right(&Role::Viewer, &ours, change),
                Err(ConsoleError::NotAllowed)
            ));
            // Another site is not found, whatever the change: not even refused.
            assert!(matches!(
                site_right(&Role::Site(ours.clone()), &theirs, change),
                Err(ConsoleError::NotFound)
            ));
        }
        let shop = Role::Site(ours.clone());
        assert!(site_right(&shop, &ours, SiteChange::NotifyUrl).is_ok());
        assert!(site_right(&shop, &ours, SiteChange::RotateKey).is_ok());
        for change in [SiteChange::Settings, SiteChange::Status] {
            assert!(matches!(
                site_right(&shop, &ours, change),
                Err(ConsoleError::NotAllowed)
            ));
        }
    }

    #[test]
    fn an_update_is_weighed_by_every_field_it_changes() {
        let url = crate::domain::NotifyUrl::parse("https://shop.example/notify").unwrap();
        let only_url = SiteUpdate {
            notify_url: Some(Some(url)),
            ..SiteUpdate::default()
        };
        assert_eq!(changes(&only_url), [SiteChange::NotifyUrl]);
        let renamed_too = SiteUpdate {
            name: Some(crate::domain::SiteName::parse("x").unwrap()),
            ..only_url
        };
        assert_eq!(
            changes(&renamed_too),
            [SiteChange::Settings, SiteChange::NotifyUrl]
        );
        let private = SiteUpdate {
            allow_private_targets: Some(true),
            ..SiteUpdate::default()
        };
        assert_eq!(changes(&private), [SiteChange::Settings]);
        // Where a site's money settles is never the site user's to change.
        let paid_elsewhere = SiteUpdate {
            wechat_sub_merchant: Some(None),
            ..SiteUpdate::default()
        };
        assert_eq!(changes(&paid_elsewhere), [SiteChange::Settings]);
        let alipay_elsewhere = SiteUpdate {
            alipay_merchant: Some(None),
            ..SiteUpdate::default()
        };
        assert_eq!(changes(&alipay_elsewhere), [SiteChange::Settings]);
    }
}
