//! State that survives a restart: one JSON snapshot per store, rewritten after every mutation.
//!
//! The snapshot is written to a temporary file, flushed to disk and renamed over the old one, so a
//! crash leaves either the old or the new state, never half of one. Mutations happen under a lock and
//! the snapshot is on disk before [`Store::update`] returns: a simulator answer (or a callback) never
//! reports something that a restart would forget. Simulator state is small, so rewriting it whole is
//! the simple correct choice.
//!
//! The state holds the sandbox accounts' private keys: its files are readable by their owner only
//! (0600, in a 0700 dir), from the first byte written.
//!
//! ```ignore
//! let store: Store<MyState> = Store::open(ctx.state_dir(), "alipay.json")?;
//! store.update(|s| s.trades.insert(no, trade))?;
//! let n = store.read(|s| s.trades.len());
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SimError;

/// A value of `T` kept in memory and, when a directory is given, in `<dir>/<name>`.
#[derive(Debug)]
pub struct Store<T> {
    path: Option<PathBuf>,
    state: Mutex<T>,
}

impl<T: Serialize + DeserializeOwned + Default> Store<T> {
    /// Loads `<dir>/<name>` if it exists, else starts from `T::default()`. No dir: memory only.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed (refusing is better than silently starting empty
    /// and forgetting orders).
    pub fn open(dir: Option<&Path>, name: &str) -> Result<Self, SimError> {
        let path = dir.map(|d| d.join(name));
        let state = match &path {
            Some(p) if p.exists() => {
                // Written by an older simulator, or copied in by hand: owner-only from now on.
                owner_only(p).map_err(|source| SimError::Io {
                    path: p.display().to_string(),
                    source,
                })?;
                let text = std::fs::read(p).map_err(|source| SimError::Io {
                    path: p.display().to_string(),
                    source,
                })?;
                serde_json::from_slice(&text).map_err(|source| SimError::State {
                    path: p.display().to_string(),
                    source,
                })?
            }
            _ => T::default(),
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
        })
    }

    /// Reads the state under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }

    /// Mutates the state under the lock and writes the snapshot before returning.
    ///
    /// # Errors
    /// The snapshot could not be written. The in-memory change stays (the caller may report the
    /// error); the next successful write will include it.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, SimError> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = f(&mut guard);
        self.write(&guard)?;
        Ok(out)
    }

    fn write(&self, state: &T) -> Result<(), SimError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |source| SimError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(state).map_err(|source| SimError::State {
            path: path.display().to_string(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        // The mode above applies to a new file only; a stale temporary file keeps its own.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

/// Creates `dir` (and its parents) for state files: 0700 when created, and tightened to 0700 when
/// it exists with group or other access.
///
/// # Errors
/// The dir cannot be created or its mode changed.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    owner_only(dir)
}

/// Takes group and other access away from `path`.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn survives_reopen_and_memory_only_works() {
        let dir = tempfile::tempdir().unwrap();
        let store: Store<BTreeMap<String, u32>> = Store::open(Some(dir.path()), "s.json").unwrap();
        store.update(|m| m.insert("a".into(), 1)).unwrap();
        drop(store);
        let again: Store<BTreeMap<String, u32>> = Store::open(Some(dir.path()), "s.json").unwrap();
        assert_eq!(again.read(|m| m.get("a").copied()), Some(1));
        let mem: Store<BTreeMap<String, u32>> = Store::open(None, "s.json").unwrap();
        mem.update(|m| m.insert("b".into(), 2)).unwrap();
        assert_eq!(mem.read(BTreeMap::len), 1);
    }

    #[cfg(unix)]
    #[test]
    fn state_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("sim");
        create_private_dir(&state_dir).unwrap();
        assert_eq!(mode(&state_dir), 0o700);

        let store: Store<BTreeMap<String, u32>> = Store::open(Some(&state_dir), "s.json").unwrap();
        // A temporary file left over, world-readable, from an interrupted write.
        let stale = state_dir.join("s.json.tmp");
        std::fs::write(&stale, b"{}").unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
        store.update(|m| m.insert("a".into(), 1)).unwrap();
        assert_eq!(mode(&state_dir.join("s.json")), 0o600);

        // A file written by an older simulator, and its dir, are tightened when opened.
        let old = state_dir.join("old.json");
        std::fs::write(&old, b"{}").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&state_dir).unwrap();
        let _: Store<BTreeMap<String, u32>> = Store::open(Some(&state_dir), "old.json").unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(&state_dir), 0o700);
    }

    #[test]
    fn corrupt_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.json"), b"{not json").unwrap();
        assert!(Store::<BTreeMap<String, u32>>::open(Some(dir.path()), "s.json").is_err());
    }
}
