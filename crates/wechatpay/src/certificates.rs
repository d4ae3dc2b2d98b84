//! Platform certificates: `GET /v3/certificates`, each certificate AEAD-encrypted with the APIv3 key.
//!
//! Bootstrap: the first download cannot be verified with a certificate we already trust. As the
//! official SDKs do, the certificates are first decrypted (only someone holding our APIv3 key, that
//! is WeChat Pay, can produce them), and the answer's signature must then verify with one of them.
//! Only after both checks are they trusted.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use channel_core::rsa::Certificate;
use http::Method;
use serde::Deserialize;

use crate::aead;
use crate::client::{Client, Inner, upstream_error};
use crate::error::{Error, Result};
use crate::verify::SignedHeaders;

pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// An AEAD-encrypted resource as WeChat Pay sends it (certificates and callbacks).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub nonce: String,
    #[serde(default)]
    pub associated_data: String,
    pub ciphertext: String,
    /// Present on callbacks (`transaction`, `refund`, …), absent on certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
}

impl EncryptedResource {
    /// # Errors
    /// [`Error::Decrypt`] for a wrong key or tampering, [`Error::Decode`] for an unknown algorithm.
    pub fn decrypt(&self, key: &crate::ApiV3Key) -> Result<String> {
        if self.algorithm != ALGORITHM {
            return Err(Error::decode("resource algorithm", &self.algorithm));
        }
        aead::decrypt_to_string(key, &self.nonce, &self.associated_data, &self.ciphertext)
    }
}

#[derive(Deserialize)]
struct CertificateList {
    data: Vec<ListedCertificate>,
}

#[derive(Deserialize)]
struct ListedCertificate {
    serial_no: String,
    encrypt_certificate: EncryptedResource,
}

impl Client {
    /// Downloads the platform certificates now, verifies and trusts them (old ones stay trusted:
    /// during a rotation WeChat Pay may still sign with either). Returns the certificates downloaded.
    ///
    /// # Errors
    /// Any [`Error`]: transport, `Upstream` (`RESOURCE_NOT_EXISTS` for a public-key-only merchant),
    /// `Decrypt` (wrong APIv3 key), `Signature`, `Decode`.
    pub async fn refresh_certificates(&self) -> Result<Vec<Certificate>> {
        let mut last = self.inner.last_refresh.lock().await;
        *last = Some(Instant::now());
        self.download_certificates_locked().await
    }

    /// Refreshes certificates every `every` in the background (the official SDKs use 60 minutes),
    /// until every clone of this client is dropped. Failures are logged; trusted keys stay.
    #[must_use]
    pub fn spawn_certificate_refresh(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = (Client { inner }).refresh_certificates().await {
                    tracing::warn!(error = %e, "periodic platform certificate refresh failed");
                }
            }
        })
    }

    /// The download itself; the caller holds `last_refresh`.
    pub(crate) async fn download_certificates_locked(&self) -> Result<Vec<Certificate>> {
        let url = self.url(&["v3", "certificates"], &[])?;
        let raw = upstream_error(self.send(Method::GET, url, Vec::new()).await?)?;
        let list: CertificateList =
            serde_json::from_slice(&raw.body).map_err(|e| Error::decode("certificate list", e))?;
        let now = self.inner.clock.now();
        let mut certificates = Vec::with_capacity(list.data.len());
        for item in list.data {
            let pem = item.encrypt_certificate.decrypt(&self.inner.apiv3_key)?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| Error::decode("platform certificate", e))?;
            if !cert.serial_no.eq_ignore_ascii_case(&item.serial_no) {
                return Err(Error::decode(
                    "platform certificate",
                    format!(
                        "listed as {} but its serial is {}",
                        item.serial_no, cert.serial_no
                    ),
                ));
            }
            if cert.not_after <= now {
                tracing::info!(serial = %cert.serial_no, "skipping expired platform certificate");
                continue;
            }
            certificates.push(cert);
        }
        let candidate = self.inner.keys.with_extra(
            certificates
                .iter()
                .map(|c| (c.serial_no.clone(), c.public_key.clone())),
        );
        SignedHeaders::from_headers(&raw.headers)?.verify(&raw.body, &candidate, now)?;
        for cert in &certificates {
            self.inner
                .keys
                .insert(cert.serial_no.clone(), cert.public_key.clone());
        }
        Ok(certificates)
    }
}
