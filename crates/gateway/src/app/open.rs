//! Opening what paygate keeps: the data dir (owner-only), the master key, the database (migrated),
//! and the deployment's mode (sandbox or live, recorded on first use).

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::domain::Mode;
use crate::mode::{self, EstablishError, Purpose};
use crate::store::Store;

use super::AppError;

/// Opens and migrates the store, and learns its mode (recording it on a database seen for the first
/// time): for the operator's commands, which need no channel credentials.
///
/// # Errors
/// The master key cannot be loaded, the data dir created, or the database opened or migrated;
/// the mode is refused (see [`crate::mode`]).
pub async fn open_store(settings: &Settings) -> Result<Store, AppError> {
    let (store, _) = store_and_key(settings).await?;
    establish_mode(settings, &store, Purpose::Operate).await?;
    Ok(store)
}

/// Opens the store and applies the migrations, nothing else (`paygate migrate`): a deployment may
/// migrate before any node with credentials has started.
///
/// # Errors
/// As [`open_store`], without the mode.
pub async fn migrate(settings: &Settings) -> Result<Store, AppError> {
    Ok(store_and_key(settings).await?.0)
}

pub(super) async fn establish_mode(
    settings: &Settings,
    store: &Store,
    purpose: Purpose,
) -> Result<Mode, AppError> {
    mode::establish(store, settings.requested_mode(), purpose)
        .await
        .map_err(|e| match e {
            EstablishError::Refused(refusal) => AppError::Mode(refusal),
            EstablishError::Store(source) => AppError::Store {
                url: settings.database_url.redacted(),
                source,
            },
        })
}

pub(super) async fn store_and_key(settings: &Settings) -> Result<(Store, MasterKey), AppError> {
    create_private_dir(&settings.data_dir).map_err(|source| AppError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let master_key = settings.master_key.load()?;
    let store_err = |source| AppError::Store {
        url: settings.database_url.redacted(),
        source,
    };
    let store = Store::connect(settings.database_url.expose(), &master_key)
        .await
        .map_err(store_err)?;
    store.migrate().await.map_err(store_err)?;
    Ok((store, master_key))
}

/// The data dir holds the master key, the database and the sandbox's keys: owner-only. Created so;
/// one that already exists with a looser mode (made by hand, or by an older paygate) is tightened,
/// with a warning, rather than refused.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            tracing::warn!(
                path = %dir.display(),
                was = format!("{mode:o}"),
                "the data dir was open to group or others; now 0700"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_owner_only_also_when_it_already_existed() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/data");
        create_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let loose = root.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);
    }
}
