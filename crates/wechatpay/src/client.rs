//! The client: one `reqwest::Client`, keys parsed once, every request signed and every 2xx answer
//! verified before its body is read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use channel_core::{RsaPrivateKey, RsaPublicKey, TransportError, nonce};
use http::{HeaderMap, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::{Position, Url};

use crate::auth::RequestSigner;
use crate::config::{ApiV3Key, Clock, Config, PUBLIC_KEY_ID_PREFIX};
use crate::error::{Error, Result, SignatureFailure};
use crate::verify::{HEADER_SERIAL, KeyRing, SignedHeaders};

/// An unknown serial triggers a certificate download at most this often, so that forged callbacks
/// with made-up serials cannot make us hammer WeChat Pay.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("paygate-wechatpay/", env!("CARGO_PKG_VERSION"));

/// A WeChat Pay API v3 client for one merchant (or service provider). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    http: reqwest::Client,
    pub(crate) mchid: String,
    serial_no: String,
    pub(crate) private_key: RsaPrivateKey,
    pub(crate) apiv3_key: ApiV3Key,
    base_url: Url,
    pub(crate) clock: Clock,
    public_key_id: Option<String>,
    pub(crate) keys: KeyRing,
    download_certificates: bool,
    /// When certificates were last downloaded; the lock also keeps two downloads from racing.
    pub(crate) last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

/// An answer whose status and bytes have been read but not yet judged.
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Client {
    /// # Errors
    /// [`Error::Config`] if the HTTP client cannot be built.
    pub fn new(config: Config) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let keys = KeyRing::default();
        let verification = config.verification;
        let public_key_id = verification.public_key.as_ref().map(|k| k.key_id.clone());
        if let Some(pk) = verification.public_key {
            keys.insert(pk.key_id, pk.key);
        }
        for cert in verification.certificates {
            keys.insert(cert.serial_no, cert.public_key);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                mchid: config.mchid,
                serial_no: config.serial_no,
                private_key: config.private_key,
                apiv3_key: config.apiv3_key,
                base_url: config.base_url,
                clock: config.clock,
                public_key_id,
                keys,
                download_certificates: verification.download_certificates,
                last_refresh: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The merchant (or service provider) id requests are made as.
    #[must_use]
    pub fn mchid(&self) -> &str {
        &self.inner.mchid
    }

    /// Serials and public-key ids currently trusted for verification.
    #[must_use]
    pub fn trusted_serials(&self) -> Vec<String> {
        self.inner.keys.serials()
    }

    /// `base_url` + path segments (each percent-encoded, so an id can never change the path) + query.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url> {
        let mut url = self.inner.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let raw = self.send(Method::GET, url, Vec::new()).await?;
        self.verified_json(raw).await
    }

    pub(crate) async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: Url,
        body: &B,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let raw = self.send(Method::POST, url, body).await?;
        self.verified_json(raw).await
    }

    /// A POST whose body carries a field encrypted with the WeChat Pay key named `serial`: WeChat
    /// Pay reads `Wechatpay-Serial` to know which of its keys decrypts it.
    pub(crate) async fn post_encrypted<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: Url,
        body: &B,
        serial: &str,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let response = self
            .send_signed(Method::POST, url, body, None, Some(serial))
            .await?;
        let raw = read_raw(response).await?;
        self.verified_json(raw).await
    }

    /// A POST answered with 204 (close): nothing to decode, but the answer is still verified.
    pub(crate) async fn post_no_content<B: Serialize + ?Sized>(
        &self,
        url: Url,
        body: &B,
    ) -> Result<()> {
        let body = serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let raw = self.send(Method::POST, url, body).await?;
        let raw = upstream_error(raw)?;
        self.verify_answer(&raw.headers, &raw.body).await
    }

    /// Signs and sends; reads the whole answer. Transport failures only; status is not judged here.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
    ) -> Result<RawResponse> {
        let response = self.send_for_response(method, url, body, None).await?;
        read_raw(response).await
    }

    /// Signs and sends; answers as soon as the status and headers are in, the body still to be
    /// read (a bill is streamed). `timeout` replaces the configured whole-request timeout.
    pub(crate) async fn send_for_response(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        self.send_signed(method, url, body, timeout, None).await
    }

    /// As [`Self::send_for_response`]; `serial` replaces the configured `Wechatpay-Serial`.
    async fn send_signed(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
        timeout: Option<Duration>,
        serial: Option<&str>,
    ) -> Result<reqwest::Response> {
        let timestamp = self.inner.clock.now();
        let nonce = nonce::alphanumeric(32);
        // An RSA-2048 signature takes about half a millisecond of CPU: on a blocking thread, so
        // the async workers keep answering (and finishing other requests' database work) meanwhile.
        let (inner, path, verb) = (
            Arc::clone(&self.inner),
            url[Position::BeforePath..].to_owned(),
            method.clone(),
        );
        let (authorization, body) = tokio::task::spawn_blocking(move || {
            let signer = RequestSigner {
                mchid: &inner.mchid,
                serial_no: &inner.serial_no,
                key: &inner.private_key,
            };
            let authorization =
                signer.authorization(verb.as_str(), &path, timestamp, &nonce, &body);
            (authorization, body)
        })
        .await
        .map_err(|e| Error::InvalidRequest(format!("signing the request failed: {e}")))?;
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header(http::header::AUTHORIZATION, authorization)
            .header(http::header::ACCEPT, "application/json");
        if method != Method::GET {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        if let Some(id) = serial.or(self.inner.public_key_id.as_deref()) {
            request = request.header(HEADER_SERIAL, id);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        Ok(request.send().await.map_err(TransportError::from)?)
    }

    async fn verified_json<T: DeserializeOwned>(&self, raw: RawResponse) -> Result<T> {
        let raw = upstream_error(raw)?;
        self.verify_answer(&raw.headers, &raw.body).await?;
        serde_json::from_slice(&raw.body).map_err(|e| Error::decode("answer", e))
    }

    /// Verifies a signed answer or callback. An unknown platform-certificate serial triggers one
    /// certificate download (rate limited) when downloading is configured: that is how a client
    /// starts with no certificate, and how it follows WeChat Pay's certificate rotation.
    pub(crate) async fn verify_answer(&self, headers: &HeaderMap, body: &[u8]) -> Result<()> {
        let signed = SignedHeaders::from_headers(headers)?;
        match signed.verify(body, &self.inner.keys, self.inner.clock.now()) {
            Err(SignatureFailure::UnknownSerial(serial)) if self.may_download_for(&serial) => {
                if let Err(e) = self.refresh_certificates_if_due().await {
                    tracing::warn!(error = %e, "platform certificate download failed");
                }
                Ok(signed.verify(body, &self.inner.keys, self.inner.clock.now())?)
            }
            other => Ok(other?),
        }
    }

    /// The WeChat Pay key that encrypts sensitive fields, and the serial that names it: the public
    /// key in public-key mode, else a platform certificate (downloaded first if none is known).
    pub(crate) async fn encryption_key(&self) -> Result<(String, RsaPublicKey)> {
        if let Some(id) = &self.inner.public_key_id {
            if let Some(key) = self.inner.keys.get(id) {
                return Ok((id.clone(), key));
            }
        }
        if self.inner.keys.serials().is_empty() && self.inner.download_certificates {
            self.refresh_certificates_if_due().await?;
        }
        let mut serials = self.inner.keys.serials();
        serials.sort();
        serials
            .into_iter()
            .rev()
            .find_map(|s| self.inner.keys.get(&s).map(|k| (s, k)))
            .ok_or_else(|| Error::Config("no WeChat Pay key to encrypt with".into()))
    }

    fn may_download_for(&self, serial: &str) -> bool {
        self.inner.download_certificates && !serial.starts_with(PUBLIC_KEY_ID_PREFIX)
    }

    async fn refresh_certificates_if_due(&self) -> Result<()> {
        let mut last = self.inner.last_refresh.lock().await;
        if last.is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL) {
            return Ok(());
        }
        *last = Some(Instant::now());
        self.download_certificates_locked().await.map(|_| ())
    }
}

/// Reads a whole answer.
pub(crate) async fn read_raw(response: reqwest::Response) -> Result<RawResponse> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(TransportError::from)?
        .to_vec();
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// Turns a non-2xx answer into [`Error::Upstream`]; passes a 2xx through. Error answers are not
/// verified, as in the official SDKs: nothing is trusted from them but "no".
pub(crate) fn upstream_error(raw: RawResponse) -> Result<RawResponse> {
    if (200..300).contains(&raw.status) {
        return Ok(raw);
    }
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
        #[serde(default)]
        message: String,
        detail: Option<serde_json::Value>,
    }
    Err(match serde_json::from_slice::<Body>(&raw.body) {
        Ok(b) => Error::Upstream {
            status: raw.status,
            code: b.code,
            message: b.message,
            detail: b.detail,
        },
        Err(_) => Error::Upstream {
            status: raw.status,
            code: String::new(),
            message: String::from_utf8_lossy(&raw.body)
                .chars()
                .take(200)
                .collect(),
            detail: None,
        },
    })
}
