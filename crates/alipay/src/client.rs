//! The client: keys parsed once, one HTTP connection pool, signed calls with verified answers.

use std::sync::Arc;

use channel_core::{RsaPrivateKey, RsaPublicKey, TransportError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sign::{SignTypeIn, sign_content};
use crate::{Config, Error, SignatureFailure, china_time, raw};

/// An Alipay OpenAPI client for one app. Cheap to clone; clones share keys and connections.
///
/// A service provider's app (ISV) calls for the merchants that authorised it: [`Client::acting_for`]
/// gives a view of the same client that sends one merchant's `app_auth_token` on every call, for
/// the price of a clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// The merchant this view calls for, if any.
    app_auth_token: Option<AppAuthToken>,
    /// The merchant account notifications must name, for this view.
    seller_id: Option<Arc<str>>,
}

struct Inner {
    app_id: String,
    app_private_key: RsaPrivateKey,
    alipay_public_key: RsaPublicKey,
    gateway_url: url::Url,
    notify_url: Option<String>,
    http: reqwest::Client,
}

/// A merchant's authorisation of a service provider's app (`app_auth_token`). A secret: whoever
/// holds it and the app's key acts as the merchant, so it is never printed.
#[derive(Clone, PartialEq, Eq)]
struct AppAuthToken(Arc<str>);

impl std::fmt::Debug for AppAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppAuthToken(<redacted>)")
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and the auth token stay out: only what tells clients apart.
        f.debug_struct("Client")
            .field("app_id", &self.inner.app_id)
            .field("gateway_url", &self.inner.gateway_url.as_str())
            .field("notify_url", &self.inner.notify_url)
            .field("app_auth_token", &self.app_auth_token)
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

/// Common parameters a call may set besides `biz_content`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Extra<'a> {
    pub notify_url: Option<&'a str>,
    pub return_url: Option<&'a str>,
}

impl Client {
    /// Parses the keys and builds the HTTP client.
    ///
    /// # Errors
    /// [`Error::Config`] when a key or the gateway URL does not parse.
    pub fn new(config: Config) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Self::with_http_client(config, http)
    }

    /// Like [`Client::new`] but sharing an existing HTTP client (its timeout applies, not the config's).
    ///
    /// # Errors
    /// [`Error::Config`] when a key or the gateway URL does not parse.
    pub fn with_http_client(config: Config, http: reqwest::Client) -> Result<Self, Error> {
        let app_private_key = RsaPrivateKey::from_pem(&config.app_private_key)
            .map_err(|e| Error::Config(format!("app private key: {e}")))?;
        let alipay_public_key = RsaPublicKey::from_pem(&config.alipay_public_key)
            .map_err(|e| Error::Config(format!("alipay public key: {e}")))?;
        let gateway_url = url::Url::parse(&config.gateway_url)
            .map_err(|e| Error::Config(format!("gateway URL {:?}: {e}", config.gateway_url)))?;
        if config.app_id.is_empty() {
            return Err(Error::Config("app_id is empty".to_owned()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                app_id: config.app_id,
                app_private_key,
                alipay_public_key,
                gateway_url,
                notify_url: config.notify_url,
                http,
            }),
            app_auth_token: config
                .app_auth_token
                .filter(|t| !t.is_empty())
                .map(|t| AppAuthToken(t.into())),
            seller_id: config.seller_id.filter(|s| !s.is_empty()).map(Into::into),
        })
    }

    /// The same app calling for the merchant that authorised it with `app_auth_token`: every call
    /// of the returned client (payments, queries, closes, refunds, bills, royalty) carries the
    /// token. Keys, settings and the HTTP connections are shared with `self`; nothing is parsed.
    ///
    /// The view expects no particular `seller_id` in notifications (the merchant's account is not
    /// the app's); name it with [`Client::with_seller_id`].
    #[must_use]
    pub fn acting_for(&self, app_auth_token: &str) -> Self {
        Self {
            inner: self.inner.clone(),
            app_auth_token: Some(AppAuthToken(app_auth_token.into())),
            seller_id: None,
        }
    }

    /// This client, requiring notifications to name `seller_id` (the merchant account, `2088…`).
    #[must_use]
    pub fn with_seller_id(mut self, seller_id: &str) -> Self {
        self.seller_id = (!seller_id.is_empty()).then(|| seller_id.into());
        self
    }

    /// This client, accepting notifications whatever merchant account they name (still only
    /// this app's, signed by Alipay): for an app that acts for several merchants and checks each
    /// notification's account against its own trade.
    #[must_use]
    pub fn with_any_seller(mut self) -> Self {
        self.seller_id = None;
        self
    }

    /// Whether this client calls for a merchant (with an `app_auth_token`).
    #[must_use]
    pub fn is_acting_for_a_merchant(&self) -> bool {
        self.app_auth_token.is_some()
    }

    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The merchant account notifications must name, if configured.
    #[must_use]
    pub fn seller_id(&self) -> Option<&str> {
        self.seller_id.as_deref()
    }

    pub(crate) fn gateway_url(&self) -> &url::Url {
        &self.inner.gateway_url
    }

    pub(crate) fn alipay_public_key(&self) -> &RsaPublicKey {
        &self.inner.alipay_public_key
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The complete, signed parameter list of a call (common parameters, `biz_content`, `sign`).
    pub(crate) fn signed_params(
        &self,
        method: &str,
        biz_content: &impl Serialize,
        extra: Extra<'_>,
    ) -> Result<Vec<(&'static str, String)>, Error> {
        let biz = serde_json::to_string(biz_content)
            .map_err(|e| Error::Decode(format!("encoding biz_content: {e}")))?;
        let inner = &self.inner;
        let optional = |v: Option<&str>| v.map(str::to_owned);
        let mut params: Vec<(&'static str, String)> = vec![
            ("app_id", inner.app_id.clone()),
            ("method", method.to_owned()),
            ("format", "JSON".to_owned()),
            ("charset", "utf-8".to_owned()),
            ("sign_type", "RSA2".to_owned()),
            ("timestamp", china_time::now()),
            ("version", "1.0".to_owned()),
            ("biz_content", biz),
        ];
        let notify_url = optional(extra.notify_url).or_else(|| inner.notify_url.clone());
        for (k, v) in [
            ("notify_url", notify_url),
            ("return_url", optional(extra.return_url)),
            (
                "app_auth_token",
                self.app_auth_token.as_ref().map(|t| t.0.to_string()),
            ),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                params.push((k, v));
            }
        }
        let content = sign_content(
            params.iter().map(|(k, v)| (*k, v.as_str())),
            SignTypeIn::Included,
        );
        params.push((
            "sign",
            inner.app_private_key.sign_base64(content.as_bytes()),
        ));
        Ok(params)
    }

    /// Calls `method` and returns its verified `…_response` object, decoded as `T`.
    ///
    /// This is the escape hatch for OpenAPI methods without a typed wrapper here.
    ///
    /// # Errors
    /// See [`Error`]: transport, signature, decode, or Alipay's refusal (code other than 10000).
    pub async fn execute<T: DeserializeOwned>(
        &self,
        method: &str,
        biz_content: &impl Serialize,
    ) -> Result<T, Error> {
        self.call(method, biz_content, Extra::default()).await
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        biz_content: &impl Serialize,
        extra: Extra<'_>,
    ) -> Result<T, Error> {
        let params = self.signed_params(method, biz_content, extra)?;
        let mut url = self.inner.gateway_url.clone();
        // Alipay reads the charset from the query string before it decodes the body.
        url.query_pairs_mut().append_pair("charset", "utf-8");
        let response = self
            .inner
            .http
            .post(url)
            .form(&params)
            .send()
            .await
            .map_err(TransportError::from)?;
        let status = response.status();
        let body = response.bytes().await.map_err(TransportError::from)?;
        if !status.is_success() {
            // Alipay answers every business outcome with 200; anything else came from in between
            // (a proxy, an overloaded front end) and says nothing about what happened to the call.
            return Err(TransportError::Other(format!("HTTP {status} from the gateway")).into());
        }
        let body = std::str::from_utf8(&body)
            .map_err(|e| Error::Decode(format!("response is not UTF-8: {e}")))?;
        let raw = verify_response(&self.inner.alipay_public_key, method, body)?;
        decode_success(raw).map_err(|e| self.without_token(e))
    }

    /// The error with this view's `app_auth_token` blotted out: Alipay's refusal of a bad
    /// signature quotes the whole signed text, token included, and errors end up in logs.
    fn without_token(&self, e: Error) -> Error {
        let Some(token) = &self.app_auth_token else {
            return e;
        };
        let blot = |s: String| s.replace(&*token.0, "<app_auth_token>");
        match e {
            Error::Upstream {
                code,
                msg,
                sub_code,
                sub_msg,
            } => Error::Upstream {
                code,
                msg: blot(msg),
                sub_code,
                sub_msg: sub_msg.map(blot),
            },
            Error::Decode(m) => Error::Decode(blot(m)),
            other => other,
        }
    }
}

/// The fields every `…_response` object has.
#[derive(serde::Deserialize)]
struct Status {
    code: String,
    #[serde(default)]
    msg: String,
    sub_code: Option<String>,
    sub_msg: Option<String>,
}

/// Checks the signature of a response body and returns the signed `…_response` text.
///
/// As in Alipay's official SDKs, a response whose code is not `10000` may come unsigned (Alipay
/// does not sign some gateway-level errors), but one that carries `sign` must verify, and a
/// successful one must carry it.
///
/// # Errors
/// [`Error::Decode`] when the body has no readable response object, [`Error::Signature`] when
/// the signature is missing from a success or does not verify.
pub fn verify_response<'a>(
    alipay_public_key: &RsaPublicKey,
    method: &str,
    body: &'a str,
) -> Result<&'a str, Error> {
    let key = format!("{}_response", method.replace('.', "_"));
    let parts = raw::extract(body, &key).map_err(Error::Decode)?;
    match parts.sign {
        Some(sign) => alipay_public_key
            .verify_base64(parts.raw.as_bytes(), &sign)
            .map_err(|_| Error::Signature(SignatureFailure::BadSignature))?,
        None => {
            let status: Status =
                serde_json::from_str(parts.raw).map_err(|e| Error::Decode(e.to_string()))?;
            if status.code == "10000" {
                return Err(Error::Signature(SignatureFailure::Missing));
            }
        }
    }
    Ok(parts.raw)
}

/// Turns a verified response object into `T`, or into [`Error::Upstream`] when Alipay said no.
fn decode_success<T: DeserializeOwned>(raw: &str) -> Result<T, Error> {
    let status: Status = serde_json::from_str(raw).map_err(|e| Error::Decode(e.to_string()))?;
    if status.code != "10000" {
        return Err(Error::Upstream {
            code: status.code,
            msg: status.msg,
            sub_code: status.sub_code,
            sub_msg: status.sub_msg,
        });
    }
    serde_json::from_str(raw).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
pub(crate) fn tests_decode(raw: &str) -> Result<serde_json::Value, Error> {
    decode_success(raw)
}
