//! Official-account web authorisation (公众号网页授权), as WeChat serves it on open.weixin.qq.com
//! (the browser's side) and api.weixin.qq.com (the merchant server's side), so a site can learn
//! the payer's openid before a JSAPI order:
//!
//! - `GET /connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=snsapi_base&state=…`
//!   answers `302` to `redirect_uri` with `code` and `state` added to its query. Both scopes are
//!   silent here (the simulator has no consent page for `snsapi_userinfo`). Refusals are small HTML
//!   pages with 400, worded as WeChat's where its words are known. Sim-only: `&sim_openid=…` makes the code's openid that one.
//! - `GET /sns/oauth2/access_token?appid=…&secret=…&code=…&grant_type=authorization_code` answers
//!   `{access_token, expires_in: 7200, refresh_token, openid, scope}`, or `{errcode, errmsg}`; both
//!   with HTTP 200, as WeChat does.
//! - Control: `POST /sim/wechat/oauth/apps {appid, secret}` sets an official account's AppSecret
//!   (again: replaces it). Secrets are kept with the rest of `wechat.json`; codes live in memory for
//!   five minutes, and a restart forgets them, as a code is only ever in flight.
//!
//! The payer: the simulator has no WeChat user, so a browser is one. Its first visit gets a random
//! `sim_wx_user` cookie ([`user`]); the openid is derived from it and the appid, so the same
//! browser is the same openid of the same official account, as it would be in WeChat.

mod apps;
mod authorize;
mod codes;
mod token;
pub mod user;

use axum::Router;
use axum::routing::{get, post};

pub use codes::Codes;

use super::Sim;

/// The two scopes of web authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsScope {
    /// Silent: the openid only.
    Base,
    /// Asks the user's consent (silent here) and allows `/sns/userinfo`.
    UserInfo,
}

impl SnsScope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "snsapi_base" => Some(Self::Base),
            "snsapi_userinfo" => Some(Self::UserInfo),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }
}

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/connect/oauth2/authorize", get(authorize::authorize))
        .route("/sns/oauth2/access_token", get(token::access_token))
        .route("/sim/wechat/oauth/apps", post(apps::register))
}
