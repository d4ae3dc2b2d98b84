//! The simulator's cryptography: platform keys and certificates, AEAD_AES_256_GCM, WeChat's times.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use channel_core::RsaPrivateKey;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::state::Platform;
use crate::SimError;

/// A new platform key for a merchant, named both ways WeChat Pay names its keys: a public key id
/// (`PUB_KEY_ID_01…`) and a self-signed certificate whose serial is 40 upper-case hex digits.
pub fn new_platform(mchid: &str) -> Result<Platform, SimError> {
    let key = RsaPrivateKey::generate().map_err(|e| SimError::Key(e.to_string()))?;
    let private_key_pem = key
        .to_pkcs8_pem()
        .map_err(|e| SimError::Key(e.to_string()))?;
    let public_key_pem = key
        .public_key()
        .map_err(|e| SimError::Key(e.to_string()))?
        .to_pem();
    let digits: String = mchid
        .chars()
        .filter(char::is_ascii_digit)
        .take(10)
        .collect();
    let mut tail = [0u8; 8];
    channel_core::nonce::fill(&mut tail);
    let public_key_id = format!(
        "PUB_KEY_ID_01{digits:0>10}{:016}",
        u64::from_be_bytes(tail) % 10_u64.pow(16)
    );

    let mut serial = [0u8; 20];
    channel_core::nonce::fill(&mut serial);
    // A positive serial with no leading zero byte, so its hex is always 40 digits.
    serial[0] = (serial[0] & 0x7f) | 0x10;
    let serial_no = hex::encode_upper(serial);

    let rc_key =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&private_key_pem, &rcgen::PKCS_RSA_SHA256)
            .map_err(|e| SimError::Key(e.to_string()))?;
    let mut params = rcgen::CertificateParams::default();
    let now = OffsetDateTime::now_utc();
    let not_before = now - Duration::days(1);
    let not_after = now + Duration::days(5 * 365);
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "CN");
    dn.push(rcgen::DnType::OrganizationName, "Tenpay.com");
    dn.push(
        rcgen::DnType::OrganizationalUnitName,
        "Tenpay.com CA Center",
    );
    dn.push(rcgen::DnType::CommonName, "Tenpay.com Root CA");
    params.distinguished_name = dn;
    let cert = params
        .self_signed(&rc_key)
        .map_err(|e| SimError::Key(e.to_string()))?;
    Ok(Platform {
        private_key_pem,
        public_key_pem,
        public_key_id,
        serial_no,
        certificate_pem: cert.pem(),
        not_before: not_before.unix_timestamp(),
        not_after: not_after.unix_timestamp(),
    })
}

/// AEAD_AES_256_GCM as WeChat Pay uses it: base64(ciphertext ‖ tag).
pub fn aead_encrypt(
    key: &str,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, String> {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes())
        .map_err(|_| "APIv3 key must be 32 bytes".to_owned())?;
    if nonce.len() != 12 {
        return Err("nonce must be 12 bytes".to_owned());
    }
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| "encryption failed".to_owned())?;
    Ok(STANDARD.encode(sealed))
}

/// WeChat writes times in China time: `2018-06-08T10:34:56+08:00`.
pub fn china_time(t: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn china_time_unix(secs: i64) -> String {
    china_time(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A new id made of a prefix, the China date and digits: `4200001234202401011234567890`-like.
pub fn new_id(prefix: &str, seq: u64) -> String {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    let t = OffsetDateTime::now_utc().to_offset(offset);
    format!(
        "{prefix}{:04}{:02}{:02}{:010}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        seq % 10_000_000_000
    )
}
