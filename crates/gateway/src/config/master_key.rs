//! Where the master key comes from: `PAYGATE_MASTER_KEY` (base64 or hex of 32 bytes), or
//! `<data-dir>/master.key`, created on first start readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::{Zeroize, Zeroizing};

use super::ConfigError;
use crate::crypto::MasterKey;

pub const MASTER_KEY_ENV: &str = "PAYGATE_MASTER_KEY";
pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// Given in the environment (already parsed).
    Env(MasterKey),
    /// Read from, or created at, this path.
    File(PathBuf),
}

/// Base64 (standard or URL-safe, padded or not) or hex, of exactly 32 bytes.
fn decode(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    // Wiped when dropped, like the key made from it.
    let bytes = Zeroizing::new(hex::decode(text).ok().or_else(|| {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
    })?);
    bytes.as_slice().try_into().ok()
}

pub(crate) fn from_env(value: Option<String>) -> Result<Option<MasterKey>, ConfigError> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(text) => decode(&text)
            .map(MasterKey::from_bytes)
            .map(Some)
            .ok_or_else(|| {
                ConfigError::MasterKey(format!(
                    "{MASTER_KEY_ENV} must be base64 or hex of exactly 32 bytes"
                ))
            }),
    }
}

impl MasterKeySource {
    /// The key, creating the file (and the data dir) on first use.
    ///
    /// # Errors
    /// The file cannot be read or created, does not hold a key, or is readable by others.
    pub fn load(&self) -> Result<MasterKey, ConfigError> {
        match self {
            Self::Env(key) => Ok(key.clone()),
            Self::File(path) => load_or_create(path),
        }
    }

    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Env(_) => format!("environment variable {MASTER_KEY_ENV}"),
            Self::File(path) => path.display().to_string(),
        }
    }
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> ConfigError {
    ConfigError::MasterKey(format!("cannot {what} {}: {e}", path.display()))
}

fn load_or_create(path: &Path) -> Result<MasterKey, ConfigError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", &e))?;
    }
    match create(path) {
        Ok(key) => {
            tracing::info!(path = %path.display(), "created a new master key");
            Ok(key)
        }
        // Already there (from an earlier start, or another process that just won the race).
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(io_error(path, "create", &e)),
    }
}

/// `create_new` never overwrites a key (that would make every sealed secret unreadable), and the
/// mode is set at creation so the key is never readable by others, not even for a moment.
fn create(path: &Path) -> std::io::Result<MasterKey> {
    // The bytes are drawn here (not `MasterKey::generate`) because they must be written out.
    let mut bytes = [0u8; 32];
    channel_core::nonce::fill(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let text = Zeroizing::new(STANDARD.encode(bytes));
    let written = writeln!(file, "{}", text.as_str()).and_then(|()| file.sync_all());
    let key = MasterKey::from_bytes(bytes);
    bytes.zeroize();
    written.map(|()| key)
}

fn read(path: &Path) -> Result<MasterKey, ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| io_error(path, "inspect", &e))?
            .permissions()
            .mode();
        // As ssh does with private keys: a key others can read is a key that may have leaked.
        if mode & 0o077 != 0 {
            return Err(ConfigError::MasterKey(format!(
                "{} is accessible by group or others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io_error(path, "read", &e))?);
    decode(&text).map(MasterKey::from_bytes).ok_or_else(|| {
        ConfigError::MasterKey(format!(
            "{} does not hold base64 or hex of exactly 32 bytes",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64_and_hex_of_32_bytes_only() {
        let b64 = STANDARD.encode([7u8; 32]);
        assert!(from_env(Some(b64)).unwrap().is_some());
        assert!(from_env(Some(hex::encode([7u8; 32]))).unwrap().is_some());
        assert!(from_env(None).unwrap().is_none());
        let err = from_env(Some(STANDARD.encode([7u8; 31]))).unwrap_err();
        assert!(err.to_string().contains(MASTER_KEY_ENV));
    }

    #[cfg(unix)]
    #[test]
    fn file_is_created_private_reused_and_refused_when_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let source = MasterKeySource::File(path.clone());
        let first = source.load().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = source.load().unwrap();
        let sealed = crate::crypto::SecretBox::new(&first)
            .seal(b"x", b"t")
            .unwrap();
        assert!(
            crate::crypto::SecretBox::new(&again)
                .open(&sealed, b"t")
                .is_ok()
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = source.load().unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
