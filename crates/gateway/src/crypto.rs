//! Secrets at rest (site SKs now; channel keys later), sealed under the operator's master key.
//!
//! Format, version 1: `0x01 ‖ nonce (12 bytes) ‖ AES-256-GCM(ciphertext ‖ tag)`. The leading version
//! byte lets a later format (another cipher, a rotated master key id) coexist with old rows. The
//! caller passes associated data naming what the secret belongs to (for example the site id), so a
//! sealed value copied onto another row does not open there.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

const VERSION_1: u8 = 1;
const NONCE_LEN: usize = 12;

/// The 32-byte master key. Where it comes from (a file created on first start, or
/// `PAYGATE_MASTER_KEY`) is the serve command's business; here it is only a key. Its bytes are
/// wiped when it is dropped (so a freed copy does not linger in memory), and `Debug` prints none.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl Zeroize for MasterKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

impl MasterKey {
    #[must_use]
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(bytes);
        // `bytes` is a copy: wipe it too.
        bytes.zeroize();
        key
    }

    /// A fresh random key from the system CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = Self([0u8; 32]);
        channel_core::nonce::fill(&mut key.0);
        key
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed secret is too short or of an unknown format version")]
    Format,
    /// Wrong master key, wrong associated data, or a tampered value: AES-GCM cannot tell which.
    #[error("sealed secret does not open under this master key and associated data")]
    Open,
    #[error("encryption failed")]
    Seal,
}

/// Seals and opens secrets under one master key. Cheap to clone: the store (and so every service
/// and every request's state) carries one, and the cipher's expanded key is a few kilobytes.
#[derive(Clone)]
pub struct SecretBox {
    cipher: std::sync::Arc<Aes256Gcm>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    #[must_use]
    pub fn new(key: &MasterKey) -> Self {
        Self {
            cipher: std::sync::Arc::new(Aes256Gcm::new(&key.0.into())),
        }
    }

    /// Encrypts `plaintext` with a fresh random nonce (so sealing the same secret twice differs).
    ///
    /// # Errors
    /// `Seal` only if AES-GCM refuses the input (larger than it can encrypt).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        channel_core::nonce::fill(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION_1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts what [`SecretBox::seal`] produced with the same `aad`.
    ///
    /// # Errors
    /// `Format` for an unknown version or a truncated value, `Open` when authentication fails.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match sealed.split_first() {
            Some((&VERSION_1, rest)) if rest.len() >= NONCE_LEN + 16 => {
                let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
                self.cipher
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: ciphertext,
                            aad,
                        },
                    )
                    .map_err(|_| CryptoError::Open)
            }
            _ => Err(CryptoError::Format),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let sb = SecretBox::new(&MasterKey::generate());
        let a = sb.seal(b"sk_secret", b"site_1").unwrap();
        let b = sb.seal(b"sk_secret", b"site_1").unwrap();
        assert_ne!(a, b);
        assert_eq!(a[0], 1);
        assert_eq!(a.len(), 1 + 12 + 9 + 16);
        assert_eq!(sb.open(&a, b"site_1").unwrap(), b"sk_secret");
        assert!(!a.windows(9).any(|w| w == b"sk_secret"));
    }

    #[test]
    fn refuses_other_key_other_aad_tampering_and_unknown_versions() {
        let sb = SecretBox::new(&MasterKey::generate());
        let sealed = sb.seal(b"sk_secret", b"site_1").unwrap();
        let other = SecretBox::new(&MasterKey::generate());
        assert_eq!(other.open(&sealed, b"site_1"), Err(CryptoError::Open));
        assert_eq!(sb.open(&sealed, b"site_2"), Err(CryptoError::Open));
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(sb.open(&tampered, b"site_1"), Err(CryptoError::Open));
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert_eq!(sb.open(&v2, b"site_1"), Err(CryptoError::Format));
        assert_eq!(sb.open(&sealed[..20], b"site_1"), Err(CryptoError::Format));
        assert_eq!(sb.open(&[], b"site_1"), Err(CryptoError::Format));
    }

    #[test]
    fn keys_are_not_printed() {
        let key = MasterKey::from_bytes([7; 32]);
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        let random = MasterKey::generate();
        let shown = format!("{random:?} {:?}", Some(&random));
        assert!(!shown.contains(&format!("{:?}", random.0)), "{shown}");
        assert!(!shown.contains(&hex::encode(random.0)), "{shown}");
    }

    #[test]
    fn a_dropped_key_is_wiped() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<MasterKey>();
        // What `drop` runs, observed on a key that stays in scope.
        let mut key = MasterKey::from_bytes([7; 32]);
        key.zeroize();
        assert_eq!(key.0, [0; 32]);
    }
}
