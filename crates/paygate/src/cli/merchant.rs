//! The site's side, for `demo` and `bench`: what a merchant's backend does with its AK and SK,
//! written from the README (seed 000's signing, "Notifications") rather than borrowed from the
//! server's modules, so that both show the recipe a site follows and would catch the server
//! drifting from it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How far a notification's `X-1Pass-Ts` may be from our clock, as the README's snippets allow.
const MAX_SKEW_SECS: u64 = 300;

/// A site's credentials and where its paygate is. No `Debug`: the SK must never be printed.
pub struct Site {
    pub site_id: String,
    pub ak: String,
    sk: String,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    base: String,
    http: reqwest::Client,
}

impl Site {
    /// `timeout` bounds every request, so no step waits on paygate for longer.
    pub fn new(
        site_id: String,
        ak: String,
        sk: String,
        base: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            site_id,
            ak,
            sk,
            base: base.trim_end_matches('/').to_owned(),
            http: loopback_client(timeout)?,
        })
    }

    pub fn sk(&self) -> &str {
        &self.sk
    }

    /// A signed `POST path` with a JSON body (seed 000's headers); the JSON answer of a 2xx.
    pub async fn post_signed(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = signed_post(&self.http, &self.base, &self.ak, &self.sk, path, body)?;
        json_answer(request, &format!("POST {path}")).await
    }

    /// An unsigned `POST path_and_query` (the sandbox's routes take no signature).
    pub async fn post_unsigned(&self, path_and_query: &str) -> anyhow::Result<Value> {
        let request = self.http.post(format!("{}{path_and_query}", self.base));
        let route = path_and_query.split('?').next().unwrap_or(path_and_query);
        json_answer(request, &format!("POST {route}")).await
    }
}

/// `POST base+path` with a JSON body and seed 000's four signature headers, ready to send.
pub fn signed_post(
    http: &reqwest::Client,
    base: &str,
    ak: &str,
    sk: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<reqwest::RequestBuilder> {
    let body = body.to_string();
    let ts = unix_now()?.to_string();
    let nonce = new_nonce();
    let sign = sign_request(sk, &ts, &nonce, "POST", path, body.as_bytes());
    Ok(http
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .header("X-1Pass-AK", ak)
        .header("X-1Pass-Ts", ts)
        .header("X-1Pass-Nonce", nonce)
        .header("X-1Pass-Sign", sign)
        .body(body))
}

/// A client for loopback only: a proxy from the environment must not see the demo's requests.
pub fn loopback_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .context("HTTP client")
}

/// Sends `request` and returns its JSON answer; any other status is an error naming paygate's
/// error code and message (never the request's headers, which carry the signature).
async fn json_answer(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let response = request.send().await.with_context(|| what.to_owned())?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{what} answered {status} with something not JSON"))?;
    if !status.is_success() {
        bail!(
            "{what} answered {status}: {} {}",
            value["error"].as_str().unwrap_or("?"),
            value["message"].as_str().unwrap_or("")
        );
    }
    Ok(value)
}

/// Seed 000: base64url (no padding) of HMAC-SHA256(SK, `ts\nnonce\nMETHOD\npath\nhex(sha256(body))`).
pub fn sign_request(
    sk: &str,
    ts: &str,
    nonce: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> String {
    let canonical = format!("{ts}\n{nonce}\n{method}\n{path}\n{}", body_hash(body));
    let tag = mac(sk, &canonical).finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
}

/// Why a notification is not believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    MissingHeader(&'static str),
    StaleTimestamp,
    BadSignature,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingHeader(name) => write!(f, "no {name} header"),
            Self::StaleTimestamp => write!(f, "X-1Pass-Ts is more than {MAX_SKEW_SECS} s away"),
            Self::BadSignature => write!(f, "X-1Pass-Sign does not match the body"),
        }
    }
}

/// The README's check, in Rust: HMAC-SHA256(SK, `ts\nnonce\nhex(sha256(raw body))`) compared in
/// constant time with `X-1Pass-Sign`, over the raw body before it is parsed, and a stale `ts`
/// refused. `header` looks a header up by its name (any case).
pub fn verify_notification<'h>(
    sk: &str,
    header: impl Fn(&str) -> Option<&'h str>,
    raw_body: &[u8],
    now_secs: u64,
) -> Result<(), Refusal> {
    let ts = header("x-1pass-ts").ok_or(Refusal::MissingHeader("X-1Pass-Ts"))?;
    let nonce = header("x-1pass-nonce").ok_or(Refusal::MissingHeader("X-1Pass-Nonce"))?;
    let sign = header("x-1pass-sign").ok_or(Refusal::MissingHeader("X-1Pass-Sign"))?;
    let sent: u64 = ts.parse().map_err(|_| Refusal::StaleTimestamp)?;
    if sent.abs_diff(now_secs) > MAX_SKEW_SECS {
        return Err(Refusal::StaleTimestamp);
    }
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sign)
        .map_err(|_| Refusal::BadSignature)?;
    let canonical = format!("{ts}\n{nonce}\n{}", body_hash(raw_body));
    // `verify_slice` compares in constant time.
    mac(sk, &canonical)
        .verify_slice(&tag)
        .map_err(|_| Refusal::BadSignature)
}

fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn mac(sk: &str, canonical: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this never fails; the fallback only keeps it total.
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes())
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(canonical.as_bytes());
    mac
}

/// 32 random hex digits, as the seed's `crypto.randomBytes(16).toString('hex')`.
fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    channel_core::nonce::fill(&mut bytes);
    hex::encode(bytes)
}

pub fn unix_now() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs())
}

#[cfg(test)]
mod tests {
    use gateway::domain::{ApiNonce, SecretKey, Timestamp};

    use super::*;

    const SK: &str = "sk_test_0123456789abcdefghij";

    #[test]
    fn requests_are_signed_as_the_server_checks() {
        let nonce = ApiNonce::parse("0123456789abcdef0123456789abcdef").unwrap();
        let body = br#"{"out_trade_no":"demo_1"}"#;
        let server = gateway::signing::sign(
            SK,
            &gateway::signing::canonical("1706601234", &nonce, "POST", "/pay/wechat/native", body),
        );
        let ours = sign_request(
            SK,
            "1706601234",
            nonce.as_str(),
            "POST",
            "/pay/wechat/native",
            body,
        );
        assert_eq!(ours, server);
    }

    /// paygate's own notification headers, verified by the site's recipe.
    fn signed_by_paygate(body: &[u8], at_secs: i64) -> Vec<(&'static str, String)> {
        let sk = SecretKey::parse(SK).unwrap();
        let h =
            gateway::notify::sign_notification(&sk, body, Timestamp::from_millis(at_secs * 1000));
        vec![
            ("x-1pass-ts", h.ts),
            ("x-1pass-nonce", h.nonce),
            ("x-1pass-sign", h.sign),
        ]
    }

    fn lookup<'a>(headers: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    #[test]
    fn paygates_notifications_verify_and_tampering_does_not() {
        let body = br#"{"event_type":"TRANSACTION.SUCCESS"}"#;
        let now = 1_706_601_234;
        let headers = signed_by_paygate(body, now);
        let now = now.unsigned_abs();
        assert_eq!(verify_notification(SK, lookup(&headers), body, now), Ok(()));
        assert_eq!(
            verify_notification(SK, lookup(&headers), b"{}", now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_notification("sk_test_another_key_0000", lookup(&headers), body, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_notification(SK, lookup(&headers), body, now + 301),
            Err(Refusal::StaleTimestamp)
        );
        assert_eq!(
            verify_notification(SK, lookup(&headers[..2]), body, now),
            Err(Refusal::MissingHeader("X-1Pass-Sign"))
        );
    }
}
