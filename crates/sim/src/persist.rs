//! State that survives a restart: one JSON snapshot per store, rewritten after every mutation.
//!
//! The snapshot is written to a temporary file, flushed to disk and renamed over the old one, so a
//! crash leaves either the old or the new state, never half of one. Mutations happen under a lock and
//! the snapshot is on disk before [`Store::update`] returns: a simulator answer (or a callback) never
//! reports something that a restart would forget. Simulator state is small, so rewriting it whole is
//! the simple correct choice.
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
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
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

    #[test]
    fn corrupt_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.json"), b"{not json").unwrap();
        assert!(Store::<BTreeMap<String, u32>>::open(Some(dir.path()), "s.json").is_err());
    }
}
