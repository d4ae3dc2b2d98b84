//! WeChat official-account web authorisation, `snsapi_base` only: the silent redirect that gives
//! the checkout page the payer's openid under the official account's appid, which a JSAPI payment
//! needs. The code comes back to a server route (never to a page's script or hash route, where it
//! gets lost) and is exchanged once: WeChat may deliver the same redirect twice, and a second
//! exchange of a code is refused (`40163`), so an exchanged code's openid is remembered briefly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::domain::Openid;

/// How long an exchanged code's openid is remembered: WeChat codes live five minutes.
const CODE_MEMORY: Duration = Duration::from_secs(5 * 60);
/// Remembered codes at most; past it, expired ones are dropped, then the oldest.
const CODE_MEMORY_CAP: usize = 10_000;

/// The official account's credentials and where WeChat's two OAuth hosts are.
pub struct WechatOauth {
    appid: String,
    secret: String,
    /// `https://open.weixin.qq.com` (the authorize page).
    authorize_base: String,
    /// `https://api.weixin.qq.com` (the code exchange).
    api_base: String,
    http: reqwest::Client,
    exchanged: Mutex<HashMap<String, (Openid, Instant)>>,
}

/// Why no openid came of a code. Messages never contain the secret or the code.
#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    /// WeChat refused the code (used, expired, unknown: `40163`, `40029`) or the credentials.
    #[error("WeChat refused the authorisation code: {errcode} {errmsg}")]
    Refused { errcode: i64, errmsg: String },
    /// WeChat answered an openid paygate will not believe (empty, `undefined`).
    #[error("WeChat answered no usable openid")]
    NoOpenid,
    /// No clear answer.
    #[error("WeChat's OAuth service did not answer: {0}")]
    Unreachable(String),
}

impl OauthError {
    /// A code that was already exchanged (by another node, or before a restart): a fresh one is
    /// needed.
    #[must_use]
    pub fn is_used_code(&self) -> bool {
        matches!(self, Self::Refused { errcode, .. } if *errcode == 40163)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    openid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

impl WechatOauth {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        appid: String,
        secret: String,
        authorize_base: &str,
        api_base: &str,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            appid,
            secret,
            authorize_base: authorize_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            http,
            exchanged: Mutex::new(HashMap::new()),
        })
    }

    /// Where to send the payer's WeChat browser: back to `redirect_uri` with a code, silently.
    #[must_use]
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("appid", &self.appid)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "snsapi_base")
            .append_pair("state", state)
            .finish();
        format!(
            "{}/connect/oauth2/authorize?{query}#wechat_redirect",
            self.authorize_base
        )
    }

    /// The openid a code stands for: exchanged with WeChat once, then remembered for the code's
    /// lifetime, so a repeated redirect gets the same answer instead of `40163`.
    ///
    /// # Errors
    /// `Refused`, `NoOpenid`, `Unreachable`.
    pub async fn openid(&self, code: &str) -> Result<Openid, OauthError> {
        if let Some(openid) = self.remembered(code) {
            return Ok(openid);
        }
        let url = format!("{}/sns/oauth2/access_token", self.api_base);
        let answer: TokenAnswer = self
            .http
            .get(url)
            .query(&[
                ("appid", self.appid.as_str()),
                ("secret", self.secret.as_str()),
                ("code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OauthError::Unreachable(e.without_url().to_string()))?
            .json()
            .await
            .map_err(|e| OauthError::Unreachable(e.without_url().to_string()))?;
        if let Some(errcode) = answer.errcode.filter(|c| *c != 0) {
            return Err(OauthError::Refused {
                errcode,
                errmsg: answer.errmsg.unwrap_or_default(),
            });
        }
        let openid = usable_openid(answer.openid.as_deref()).ok_or(OauthError::NoOpenid)?;
        self.remember(code, &openid);
        Ok(openid)
    }

    fn remembered(&self, code: &str) -> Option<Openid> {
        let map = self.exchanged.lock().ok()?;
        map.get(code)
            .filter(|(_, at)| at.elapsed() < CODE_MEMORY)
            .map(|(openid, _)| openid.clone())
    }

    fn remember(&self, code: &str, openid: &Openid) {
        let Ok(mut map) = self.exchanged.lock() else {
            return;
        };
        if map.len() >= CODE_MEMORY_CAP {
            map.retain(|_, (_, at)| at.elapsed() < CODE_MEMORY);
            if map.len() >= CODE_MEMORY_CAP
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(code.to_owned(), (openid.clone(), Instant::now()));
    }
}

/// An openid worth paying with: not empty, and not the text a script writes for a value it never
/// had (`undefined`, `null`), which a payment would then be bound to.
fn usable_openid(openid: Option<&str>) -> Option<Openid> {
    let openid = openid?.trim();
    if openid.is_empty() || matches!(openid, "undefined" | "null" | "None") {
        return None;
    }
    Openid::parse(openid).ok()
}

// Hand-written: the secret never reaches a log line.
impl std::fmt::Debug for WechatOauth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatOauth")
            .field("appid", &self.appid)
            .field("authorize_base", &self.authorize_base)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_is_wechats_silent_base_scope() {
        let o = WechatOauth::new(
            "wx1234567890abcdef".into(),
            "s".into(),
            "https://open.weixin.qq.com/",
            "https://api.weixin.qq.com",
        )
        .unwrap();
        assert_eq!(
            o.authorize_url("https://pay.example/checkout/ck_1/wechat", "pg"),
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef\
             &redirect_uri=https%3A%2F%2Fpay.example%2Fcheckout%2Fck_1%2Fwechat\
             &response_type=code&scope=snsapi_base&state=pg#wechat_redirect"
        );
        assert!(!format!("{o:?}").contains("secret: \"s\""));
    }

    #[test]
    fn ids_a_script_made_up_are_refused() {
        for bad in [
            None,
            Some(""),
            Some("  "),
            Some("undefined"),
            Some("null"),
            Some("a b"),
        ] {
            assert!(usable_openid(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            usable_openid(Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")).map(|o| o.as_str().to_owned()),
            Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".to_owned())
        );
    }

    #[test]
    fn a_code_is_remembered_for_its_lifetime_only() {
        let o = WechatOauth::new("wx".into(), "s".into(), "http://a", "http://b").unwrap();
        let id = Openid::parse("o1").unwrap();
        o.remember("c1", &id);
        assert_eq!(o.remembered("c1"), Some(id));
        assert_eq!(o.remembered("c2"), None);
    }
}
