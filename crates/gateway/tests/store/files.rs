//! The SQLite files are the operator's alone. (PostgreSQL keeps its own files: nothing to check
//! there, so these run on SQLite only.)

#![cfg(unix)]
// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gateway::crypto::MasterKey;
use gateway::store::Store;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_new_database_and_its_wal_files_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let store = Store::connect(&url, &MasterKey::generate()).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(mode(&file), 0o600);
    for sidecar in ["paygate.db-wal", "paygate.db-shm"] {
        let path = dir.path().join(sidecar);
        assert!(path.exists(), "{sidecar}: WAL mode");
        assert_eq!(mode(&path), 0o600, "{sidecar}");
    }
    store.close().await;
}

#[tokio::test]
async fn an_existing_database_open_to_others_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let key = MasterKey::generate();
    let store = Store::connect(&url, &key).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    for name in ["paygate.db", "paygate.db-wal", "paygate.db-shm"] {
        let path = dir.path().join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let again = Store::connect(&url, &key).await.unwrap();
    again.ping().await.unwrap();
    for name in ["paygate.db", "paygate.db-wal", "paygate.db-shm"] {
        let path = dir.path().join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    again.close().await;
}
