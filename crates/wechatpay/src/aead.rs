//! AEAD_AES_256_GCM as WeChat Pay uses it for callback resources and platform certificates:
//! key = APIv3 key bytes, IV = 12-byte nonce string, AAD = `associated_data`,
//! ciphertext = base64(ciphertext ‖ 16-byte tag).
//!
//! A 16-byte key selects AES-128-GCM: real APIv3 keys are 32 bytes, but the official SDKs' own test
//! vectors use a 16-byte key and the same code path, so both are supported.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::ApiV3Key;
use crate::error::{Error, Result};

const NONCE_LEN: usize = 12;

/// Decrypts a resource; any failure (bad base64, wrong nonce length, wrong key, tampering) is
/// [`Error::Decrypt`] and says nothing more.
///
/// # Errors
/// [`Error::Decrypt`].
pub fn decrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>> {
    let nonce = nonce.as_bytes();
    if nonce.len() != NONCE_LEN {
        return Err(Error::Decrypt);
    }
    let ciphertext = STANDARD
        .decode(ciphertext_b64.trim())
        .map_err(|_| Error::Decrypt)?;
    let payload = Payload {
        msg: &ciphertext,
        aad: associated_data.as_bytes(),
    };
    let nonce = Nonce::from_slice(nonce);
    let key = key.expose();
    let plain = match key.len() {
        32 => Aes256Gcm::new_from_slice(key)
            .map_err(|_| Error::Decrypt)?
            .decrypt(nonce, payload),
        16 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| Error::Decrypt)?
            .decrypt(nonce, payload),
        _ => return Err(Error::Decrypt),
    };
    plain.map_err(|_| Error::Decrypt)
}

/// Decrypts to UTF-8 text (every WeChat Pay resource is JSON or PEM).
///
/// # Errors
/// [`Error::Decrypt`], also for plaintext that is not UTF-8.
pub fn decrypt_to_string(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<String> {
    String::from_utf8(decrypt(key, nonce, associated_data, ciphertext_b64)?)
        .map_err(|_| Error::Decrypt)
}

/// The inverse of [`decrypt`], for tests and tools that must produce what WeChat Pay sends.
///
/// # Errors
/// [`Error::Decrypt`] for a nonce that is not 12 bytes.
pub fn encrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String> {
    let nonce = nonce.as_bytes();
    if nonce.len() != NONCE_LEN {
        return Err(Error::Decrypt);
    }
    let payload = Payload {
        msg: plaintext,
        aad: associated_data.as_bytes(),
    };
    let nonce = Nonce::from_slice(nonce);
    let key = key.expose();
    let sealed = match key.len() {
        32 => Aes256Gcm::new_from_slice(key)
            .map_err(|_| Error::Decrypt)?
            .encrypt(nonce, payload),
        16 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| Error::Decrypt)?
            .encrypt(nonce, payload),
        _ => return Err(Error::Decrypt),
    };
    sealed
        .map(|c| STANDARD.encode(c))
        .map_err(|_| Error::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::vectors;

    #[test]
    fn reproduces_every_official_aead_vector() {
        let v = vectors();
        let cases = v["aead"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for case in cases {
            let key = ApiV3Key::new(case["key"].as_str().unwrap()).unwrap();
            let plain = decrypt_to_string(
                &key,
                case["nonce"].as_str().unwrap(),
                case["associated_data"].as_str().unwrap(),
                case["ciphertext"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(plain, case["plaintext"].as_str().unwrap());
            // GCM is deterministic for a given key and nonce: encrypting gives the vector back.
            let sealed = encrypt(
                &key,
                case["nonce"].as_str().unwrap(),
                case["associated_data"].as_str().unwrap(),
                plain.as_bytes(),
            )
            .unwrap();
            assert_eq!(sealed, case["ciphertext"].as_str().unwrap());
        }
    }

    #[test]
    fn wrong_key_tampered_data_or_aad_is_decrypt_error() {
        let key = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
        let other = ApiV3Key::new("b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
        let ct = encrypt(&key, "uluk4a9R25RW", "transaction", b"{\"a\":1}").unwrap();
        assert!(decrypt(&key, "uluk4a9R25RW", "transaction", &ct).is_ok());
        assert!(matches!(
            decrypt(&other, "uluk4a9R25RW", "transaction", &ct),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            decrypt(&key, "uluk4a9R25RW", "certificate", &ct),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            decrypt(&key, "uluk4a9R25RX", "transaction", &ct),
            Err(Error::Decrypt)
        ));
        let mut bytes = STANDARD.decode(&ct).unwrap();
        bytes[0] ^= 1;
        assert!(matches!(
            decrypt(&key, "uluk4a9R25RW", "transaction", &STANDARD.encode(bytes)),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            decrypt(&key, "short", "transaction", &ct),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            decrypt(&key, "uluk4a9R25RW", "transaction", "%%%"),
            Err(Error::Decrypt)
        ));
    }
}
