//! The sandbox WeChat user behind a browser: a random id in the `sim_wx_user` cookie, and the
//! openid each official account (appid) sees for it.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The cookie that makes a browser one WeChat user.
pub const COOKIE_NAME: &str = "sim_wx_user";
const USER_LEN: usize = 32;

/// The user id a browser's cookie carries, if it carries a well-formed one.
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == USER_LEN && v.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A new user id for a browser seen for the first time.
pub fn new_user() -> String {
    channel_core::nonce::alphanumeric(USER_LEN)
}

/// The `Set-Cookie` value that keeps `user` in the browser for a year.
pub fn set_cookie(user: &str) -> String {
    format!("{COOKIE_NAME}={user}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax")
}

/// The openid `appid` sees for `user`: stable, different per appid (as WeChat's are), and shaped
/// like WeChat's: `o` and 27 of `A-Z a-z 0-9 _ -`.
pub fn openid(appid: &str, user: &str) -> String {
    let digest = Sha256::new()
        .chain_update(appid.as_bytes())
        .chain_update(b"\n")
        .chain_update(user.as_bytes())
        .finalize();
    let mut id = URL_SAFE_NO_PAD.encode(digest);
    id.truncate(27);
    format!("o{id}")
}

/// What a test may force as an openid (`sim_openid`): 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn forced_openid_ok(openid: &str) -> bool {
    (1..=64).contains(&openid.len())
        && openid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn openids_are_stable_per_appid_and_shaped_like_wechats() {
        let user = new_user();
        let a = openid("wxA", &user);
        assert_eq!(a, openid("wxA", &user));
        assert_ne!(a, openid("wxB", &user));
        assert_ne!(a, openid("wxA", &new_user()));
        assert_eq!(a.len(), 28);
        assert!(a.starts_with('o'));
        assert!(forced_openid_ok(&a));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let user = new_user();
        let mut headers = HeaderMap::new();
        let cookie = format!("a=1; {COOKIE_NAME}={user}; b=2");
        headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert_eq!(from_headers(&headers), Some(user));
        headers.insert(COOKIE, HeaderValue::from_static("sim_wx_user=short"));
        assert_eq!(from_headers(&headers), None);
        assert!(set_cookie("x").starts_with("sim_wx_user=x;"));
    }
}
