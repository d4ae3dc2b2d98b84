//! The sandbox merchant's keys, kept in the data dir sealed under the master key: generated once,
//! so that the simulator's orders (kept in `<data-dir>/sim`) still belong to the same merchant
//! after a restart.

use std::path::Path;

use super::SandboxError;
use super::provision::SandboxKeys;
use crate::crypto::SecretBox;

pub const KEYS_FILE: &str = "sandbox-keys.sealed";
/// Binds the sealed bytes to their purpose: no other sealed secret opens as sandbox keys.
const AAD: &[u8] = b"paygate/sandbox-keys/v1";

pub(super) async fn load_or_create(
    data_dir: &Path,
    secrets: &SecretBox,
) -> Result<SandboxKeys, SandboxError> {
    let path = data_dir.join(KEYS_FILE);
    let fail = |message: String| SandboxError::Keys {
        path: path.display().to_string(),
        message,
    };
    match tokio::fs::read(&path).await {
        Ok(sealed) => {
            let json = secrets.open(&sealed, AAD).map_err(|e| {
                fail(format!(
                    "{e} (was the master key changed? remove the file to start a new sandbox merchant)"
                ))
            })?;
            serde_json::from_slice(&json).map_err(|e| fail(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // RSA key generation takes a moment: off the async threads.
            let keys = tokio::task::spawn_blocking(SandboxKeys::try_generate)
                .await
                .map_err(|e| fail(e.to_string()))??;
            let json = serde_json::to_vec(&keys).map_err(|e| fail(e.to_string()))?;
            let sealed = secrets.seal(&json, AAD).map_err(|e| fail(e.to_string()))?;
            write_new(&path, &sealed).map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "created sandbox merchant keys");
            Ok(keys)
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Written to a temporary file and renamed, so a crash never leaves half a key file behind.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
