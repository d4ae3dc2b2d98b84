//! WeChat Pay's encryption of sensitive fields: RSAES-OAEP with SHA-1 and MGF1-SHA-1 under its
//! public key, base64 (wechatpay-go `utils/rsa_crypto.go`, `EncryptOAEPWithPublicKey`).

use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use channel_core::RsaPublicKey;

use crate::error::{Error, Result};

/// # Errors
/// [`Error::InvalidRequest`] when the key cannot encrypt or the text is too long for it.
pub(crate) fn encrypt(key: &RsaPublicKey, plaintext: &str) -> Result<String> {
    let failed = |e: aws_lc_rs::error::Unspecified| {
        Error::InvalidRequest(format!("encrypting a sensitive field: {e}"))
    };
    let public = PublicEncryptingKey::from_der(key.spki_der())
        .map_err(|e| Error::InvalidRequest(format!("WeChat Pay key cannot encrypt: {e}")))?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(failed)?;
    let mut out = vec![0u8; oaep.ciphertext_size()];
    let written = oaep
        .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext.as_bytes(), &mut out, None)
        .map_err(failed)?;
    Ok(STANDARD.encode(written))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeySize, OaepPrivateDecryptingKey, PrivateDecryptingKey};

    use super::*;

    #[test]
    fn what_is_encrypted_decrypts_with_the_private_key_under_oaep_sha1() {
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let spki = private.public_key().as_der().unwrap();
        let public = RsaPublicKey::from_spki_der(spki.as_ref()).unwrap();
        let sealed = encrypt(&public, "张三").unwrap();
        let bytes = STANDARD.decode(&sealed).unwrap();
        assert_eq!(bytes.len(), 256);
        let oaep = OaepPrivateDecryptingKey::new(private).unwrap();
        let mut out = vec![0u8; oaep.min_output_size()];
        let plain = oaep
            .decrypt(&OAEP_SHA1_MGF1SHA1, &bytes, &mut out, None)
            .unwrap();
        assert_eq!(plain, "张三".as_bytes());
        // OAEP is randomised: the same name never encrypts the same way twice.
        assert_ne!(encrypt(&public, "张三").unwrap(), sealed);
    }
}
