//! SHA256withRSA (PKCS#1 v1.5), the signature both WeChat Pay v3 and Alipay RSA2 use.
//!
//! Keys are parsed once (from PEM or bare base64, as operators paste them) and then reused: parsing
//! an RSA key is far more expensive than signing with it.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM or base64 key: {0}")]
    Encoding(String),
    #[error("not an RSA key of at least 2048 bits ({0})")]
    Rsa(String),
    #[error("not an X.509 certificate: {0}")]
    Certificate(String),
}

/// A signature did not verify, or could not even be decoded. Deliberately says nothing more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature verification failed")]
pub struct SignatureError;

/// An RSA private key for signing. Its `Debug` does not show the key.
pub struct RsaPrivateKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPrivateKey(..)")
    }
}

impl RsaPrivateKey {
    /// Parses a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) key, in PEM or as
    /// bare base64 of the DER (the form Alipay's console hands out).
    ///
    /// # Errors
    /// Text that is not such a key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = decode_pem_or_base64(text)?;
        let pair = RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(Self { pair })
    }

    /// A fresh 2048-bit key, for simulators and tests.
    ///
    /// # Errors
    /// Only if the crypto library fails.
    pub fn generate() -> Result<Self, KeyError> {
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(Self { pair })
    }

    /// The key as PKCS#8 PEM, for keys a simulator generates and must keep across restarts.
    ///
    /// # Errors
    /// Only if the crypto library fails.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der: Pkcs8V1Der<'static> = self
            .pair
            .as_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(encode_pem("PRIVATE KEY", der.as_ref()))
    }

    /// The matching public key.
    ///
    /// # Errors
    /// Only if the crypto library fails.
    pub fn public_key(&self) -> Result<RsaPublicKey, KeyError> {
        let der: PublicKeyX509Der<'static> = self
            .pair
            .public_key()
            .as_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        RsaPublicKey::from_spki_der(der.as_ref())
    }

    /// SHA256withRSA over `message`, base64 (standard alphabet, padded).
    #[must_use]
    pub fn sign_base64(&self, message: &[u8]) -> String {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        // Signing with a valid key into a buffer of the modulus length cannot fail.
        #[allow(clippy::expect_used)]
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .expect("RSA signing with a parsed key");
        STANDARD.encode(sig)
    }
}

/// An RSA public key for verifying: parsed once, then shared by every verification.
#[derive(Clone)]
pub struct RsaPublicKey {
    spki_der: Vec<u8>,
    parsed: ParsedPublicKey,
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for RsaPublicKey {}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPublicKey(..)")
    }
}

impl RsaPublicKey {
    /// Parses a public key: SPKI PEM (`BEGIN PUBLIC KEY`), PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`), the
    /// key inside an X.509 certificate PEM, or bare base64 of SPKI DER (Alipay's console format).
    ///
    /// # Errors
    /// Text that is none of these.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.contains("BEGIN CERTIFICATE") {
            return Certificate::from_pem(text).map(|c| c.public_key);
        }
        if text.contains("BEGIN RSA PUBLIC KEY") {
            let der = decode_pem_or_base64(text)?;
            return Self::from_pkcs1_der(&der);
        }
        Self::from_spki_der(&decode_pem_or_base64(text)?)
    }

    /// # Errors
    /// Bytes that are not an RSA SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        // The verifier takes the PKCS#1 `RSAPublicKey` inside the SPKI bit string.
        let parsed = ParsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            spki.subject_public_key.data.as_ref(),
        )
        .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(Self {
            spki_der: der.to_vec(),
            parsed,
        })
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        // Wrap PKCS#1 in SPKI so both forms are kept: AlgorithmIdentifier rsaEncryption, NULL.
        const ALG: &[u8] = &[
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let mut bit_string = vec![0u8];
        bit_string.extend_from_slice(der);
        let mut body = ALG.to_vec();
        body.extend(der_tlv(0x03, &bit_string));
        Self::from_spki_der(&der_tlv(0x30, &body))
    }

    /// SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    #[must_use]
    pub fn to_pem(&self) -> String {
        encode_pem("PUBLIC KEY", &self.spki_der)
    }

    /// SubjectPublicKeyInfo DER.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Checks a base64 SHA256withRSA signature over `message`.
    ///
    /// # Errors
    /// [`SignatureError`] when the signature is not base64 or does not verify.
    pub fn verify_base64(&self, message: &[u8], signature_b64: &str) -> Result<(), SignatureError> {
        let sig = STANDARD
            .decode(signature_b64.trim())
            .map_err(|_| SignatureError)?;
        self.parsed
            .verify_sig(message, &sig)
            .map_err(|_| SignatureError)
    }
}

/// An X.509 certificate's serial (upper-case hex, as WeChat Pay writes it) and public key.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub serial_no: String,
    pub public_key: RsaPublicKey,
    /// Validity, as unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl Certificate {
    /// # Errors
    /// Text that is not a PEM X.509 certificate with an RSA key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = decode_pem_or_base64(text)?;
        Self::from_der(&der)
    }

    /// # Errors
    /// Bytes that are not an X.509 certificate with an RSA key.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        let public_key = RsaPublicKey::from_spki_der(cert.public_key().raw)?;
        let serial = cert.raw_serial();
        // DER keeps a leading zero byte when the top bit is set; WeChat's serials do not show it.
        let serial = match serial {
            [0, rest @ ..] if !rest.is_empty() => rest,
            s => s,
        };
        Ok(Self {
            serial_no: hex_upper(serial),
            public_key,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// PEM with LF line endings: the key files WeChat Pay and Alipay hand out use LF, and some SDKs
/// (Python `wechatpayv3`) fail to load a CRLF PEM.
fn encode_pem(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der.to_vec()), config)
}

fn decode_pem_or_base64(text: &str) -> Result<Vec<u8>, KeyError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return pem::parse(text)
            .map(pem::Pem::into_contents)
            .map_err(|e| KeyError::Encoding(e.to_string()));
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|e| KeyError::Encoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_survive_pem() {
        let key = RsaPrivateKey::generate().unwrap();
        let again = RsaPrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
        let public_pem = key.public_key().unwrap().to_pem();
        assert!(!public_pem.contains('\r'), "PEM must use LF line endings");
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let public = RsaPublicKey::from_pem(&public_pem).unwrap();
        let sig = again.sign_base64(b"hello");
        public.verify_base64(b"hello", &sig).unwrap();
        assert_eq!(public.verify_base64(b"hellO", &sig), Err(SignatureError));
        assert_eq!(
            public.verify_base64(b"hello", "not base64!"),
            Err(SignatureError)
        );
    }

    #[test]
    fn bare_base64_keys_as_alipay_hands_them_out() {
        let key = RsaPrivateKey::generate().unwrap();
        let pem = key.public_key().unwrap().to_pem();
        let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let public = RsaPublicKey::from_pem(&bare).unwrap();
        public.verify_base64(b"x", &key.sign_base64(b"x")).unwrap();
    }

    #[test]
    fn garbage_is_a_key_error_not_a_panic() {
        assert!(
            RsaPrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(RsaPublicKey::from_pem("hello").is_err());
        assert!(Certificate::from_pem("").is_err());
    }
}
