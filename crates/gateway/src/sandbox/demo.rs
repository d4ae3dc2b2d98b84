//! The demo site: created on the first start in sandbox mode (no site yet), with every method, so
//! that seed 000's example can run at once. Like every site, its creation is in the audit log, as
//! the command line's (the operator's `paygate serve` made it).

use crate::domain::{
    ActedBy, Actor, AuditAction, AuditEntry, PayMethod, SiteId, SiteName, Timestamp,
};
use crate::store::{NewSite, Store, StoreError};

/// The demo site. Its SK is shown once, like `paygate site create` shows it; `Debug` leaves it out,
/// so a logged value does not leak it.
#[derive(Clone)]
pub struct DemoSite {
    pub site_id: SiteId,
    pub ak: String,
    pub sk: String,
}

impl std::fmt::Debug for DemoSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSite")
            .field("site_id", &self.site_id)
            .field("ak", &self.ak)
            .finish_non_exhaustive()
    }
}

/// Why the demo site could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the demo site: {0}")]
pub struct DemoSiteError(String);

/// Creates the demo site when the store has no site yet; `None` when it has one.
///
/// # Errors
/// The store fails.
pub async fn create_if_first(store: &Store) -> Result<Option<DemoSite>, DemoSiteError> {
    let store_err = |e: StoreError| DemoSiteError(e.to_string());
    if !store.list_sites().await.map_err(store_err)?.is_empty() {
        return Ok(None);
    }
    let name = SiteName::parse("Sandbox demo site").map_err(|e| DemoSiteError(e.to_string()))?;
    let now = Timestamp::now();
    let detail = format!(
        "{:?}, the sandbox's demo site, at its first start",
        name.as_str()
    );
    let audit = |id: &SiteId| {
        AuditEntry::by(now, &ActedBy::from(Actor::Cli), AuditAction::SiteCreate)
            .on("site", id.as_str())
            .detail(detail)
    };
    let site = store
        .create_site_audited(
            NewSite {
                name,
                notify_url: None,
                enabled_methods: PayMethod::all().into_iter().collect(),
                // Sandbox mode already lets every site reach private targets.
                allow_private_targets: false,
            },
            now,
            audit,
        )
        .await
        .map_err(store_err)?;
    Ok(Some(DemoSite {
        site_id: site.id,
        ak: site.access_key.as_str().to_owned(),
        sk: site.secret_key.expose().to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_sites_sk_is_not_printed() {
        let demo = DemoSite {
            site_id: SiteId::parse("site_demo").unwrap(),
            ak: "ak_demo_access".to_owned(),
            sk: "sk_demo_secret_0123456789".to_owned(),
        };
        let shown = format!("{demo:?} {:#?}", Some(&demo));
        assert!(!shown.contains(&demo.sk), "{shown}");
        assert!(
            shown.contains("site_demo") && shown.contains("ak_demo_access"),
            "{shown}"
        );
    }
}
