//! WeChat web authorisation (snsapi_base): the silent redirect with a code, the code traded once
//! for the browser's openid, and the refusals, worded as WeChat's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sim::SimConfig;
use support::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// An official account of its own, bound to no merchant.
const OTHER_APPID: &str = "wx0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
const SITE: &str = "https://shop.example.com/wx/back?from=pay";

fn base(appid: &'static str, redirect_uri: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("appid", appid),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", "st-1"),
    ]
}

/// Authorizes `browser` for `appid` and answers the code the redirect carries.
async fn code_for(t: &TestSim, browser: &mut Browser, appid: &'static str) -> String {
    let r = browser.authorize(t, &base(appid, SITE)).await;
    assert_eq!(r.status, 302, "{}", r.text());
    query_of(&r.header("location"))["code"].clone()
}

#[tokio::test]
async fn the_code_in_the_redirect_trades_once_for_the_browsers_openid() {
    let t = TestSim::start().await;
    t.register("1900000401", "public_key").await; // binds APPID
    t.oauth_app(APPID, SECRET).await;
    let mut browser = Browser::new();

    let r = browser.authorize(&t, &base(APPID, SITE)).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location");
    assert!(
        location.starts_with("https://shop.example.com/wx/back?from=pay&code="),
        "{location}"
    );
    let q = query_of(&location);
    assert_eq!((q["from"].as_str(), q["state"].as_str()), ("pay", "st-1"));
    assert_eq!(q["code"].len(), 32);
    assert!(
        browser
            .cookie
            .as_deref()
            .unwrap()
            .starts_with("sim_wx_user=")
    );

    let token = t
        .sns_token(APPID, SECRET, &q["code"], "authorization_code")
        .await;
    assert_eq!(token.status, 200);
    assert_eq!(
        token.header("content-type"),
        "application/json; encoding=utf-8"
    );
    let v = token.json();
    let openid = v["openid"].as_str().unwrap().to_owned();
    assert!(openid.starts_with('o') && openid.len() == 28, "{openid}");
    assert_eq!(v["scope"], "snsapi_base");
    assert_eq!(v["expires_in"], 7200);
    assert!(!v["access_token"].as_str().unwrap().is_empty());
    assert!(!v["refresh_token"].as_str().unwrap().is_empty());

    let again = t
        .sns_token(APPID, SECRET, &q["code"], "authorization_code")
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["errcode"], 40163);
    let errmsg = again.json()["errmsg"].as_str().unwrap().to_owned();
    assert!(errmsg.starts_with("code been used, rid: "), "{errmsg}");

    // The same browser is the same user: the same openid, with a new code each time.
    let code = code_for(&t, &mut browser, APPID).await;
    assert_ne!(code, q["code"]);
    let v = t
        .sns_token(APPID, SECRET, &code, "authorization_code")
        .await
        .json();
    assert_eq!(v["openid"], openid.as_str());
    // Another browser is another user.
    let code = code_for(&t, &mut Browser::new(), APPID).await;
    let v = t
        .sns_token(APPID, SECRET, &code, "authorization_code")
        .await
        .json();
    assert_ne!(v["openid"], openid.as_str());
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_token_exchange_checks_grant_type_appid_secret_and_code() {
    let t = TestSim::start().await;
    t.register("1900000402", "public_key").await; // binds APPID, with no secret yet
    t.oauth_app(OTHER_APPID, OTHER_SECRET).await;
    let mut browser = Browser::new();
    let errcode = |r: Resp| {
        assert_eq!(r.status, 200, "WeChat answers its errors with 200");
        assert_eq!(r.header("content-type"), "application/json; encoding=utf-8");
        r.json()["errcode"].as_i64().unwrap()
    };

    let code = code_for(&t, &mut browser, APPID).await;
    let r = t
        .sns_token(APPID, SECRET, &code, "authorization_code")
        .await;
    assert_eq!(errcode(r), 40013, "no secret registered for the appid");
    t.oauth_app(APPID, "an-old-secret").await;
    t.oauth_app(APPID, SECRET).await; // again: replaces it

    let r = t
        .sns_token(APPID, "an-old-secret", &code, "authorization_code")
        .await;
    let errmsg = r.json()["errmsg"].as_str().unwrap().to_owned();
    assert_eq!(errcode(r), 40125);
    assert!(errmsg.starts_with("invalid appsecret, rid: "), "{errmsg}");
    let r = t.sns_token(APPID, SECRET, &code, "client_credential").await;
    assert_eq!(errcode(r), 40002);
    let r = t
        .sns_token(OTHER_APPID, OTHER_SECRET, &code, "authorization_code")
        .await;
    assert_eq!(errcode(r), 40029, "a code issued for another appid");
    let r = t
        .sns_token(APPID, SECRET, "0".repeat(32).as_str(), "authorization_code")
        .await;
    assert_eq!(errcode(r), 40029);
    let r = t.sns_token(APPID, SECRET, "", "authorization_code").await;
    assert_eq!(errcode(r), 41008);

    // None of the refusals used the code up.
    let r = t
        .sns_token(APPID, SECRET, &code, "authorization_code")
        .await;
    assert!(r.json()["openid"].is_string(), "{}", r.text());

    // An official account bound to no merchant authorizes too.
    let code = code_for(&t, &mut browser, OTHER_APPID).await;
    let v = t
        .sns_token(OTHER_APPID, OTHER_SECRET, &code, "authorization_code")
        .await
        .json();
    assert!(v["openid"].is_string(), "{v}");

    let (status, _) = t
        .control(
            "POST",
            "/sim/wechat/oauth/apps",
            Some(serde_json::json!({"appid": "wx 1", "secret": "s"})),
        )
        .await;
    assert_eq!(status, 400);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_redirect_keeps_the_sites_url_and_a_test_may_choose_the_openid() {
    let t = TestSim::start().await;
    t.oauth_app(APPID, SECRET).await;
    let mut browser = Browser::new();

    let mut params = base(APPID, "https://shop.example.com/app/#/pay");
    params.push(("sim_openid", "oTestPayer_0001"));
    params[3] = ("scope", "snsapi_userinfo");
    let r = browser.authorize(&t, &params).await;
    let location = r.header("location");
    // The code goes in the query, before the single-page app's fragment, as WeChat puts it.
    assert!(
        location.starts_with("https://shop.example.com/app/?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=st-1#/pay"), "{location}");
    let code = query_of(&location)["code"].clone();
    let v = t
        .sns_token(APPID, SECRET, &code, "authorization_code")
        .await
        .json();
    assert_eq!(
        (v["openid"].as_str(), v["scope"].as_str()),
        (Some("oTestPayer_0001"), Some("snsapi_userinfo"))
    );

    // No state: an empty one, as WeChat does.
    let r = browser
        .authorize(
            &t,
            &[
                ("appid", APPID),
                ("redirect_uri", "http://127.0.0.1:9/back"),
                ("response_type", "code"),
                ("scope", "snsapi_base"),
            ],
        )
        .await;
    let location = r.header("location");
    assert!(
        location.starts_with("http://127.0.0.1:9/back?code="),
        "{location}"
    );
    assert!(location.ends_with("&state="), "{location}");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_authorize_requests_get_wechats_error_page() {
    let t = TestSim::start().await;
    t.oauth_app(APPID, SECRET).await;
    let mut browser = Browser::new();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (base("wx9999999999999999", SITE), "appid 参数错误"),
        (base(APPID, "/relative/back"), "redirect_uri 参数错误"),
        (base(APPID, "javascript:alert(1)"), "redirect_uri 参数错误"),
        (
            {
                let mut p = base(APPID, SITE);
                p[3] = ("scope", "snsapi_login");
                p
            },
            "Scope 参数错误或没有 Scope 权限",
        ),
        (
            {
                let mut p = base(APPID, SITE);
                p[2] = ("response_type", "token");
                p
            },
            "response_type 参数错误",
        ),
        (
            {
                let mut p = base(APPID, SITE);
                p.push(("sim_openid", "not an openid"));
                p
            },
            "sim_openid 参数错误",
        ),
    ];
    for (params, words) in cases {
        let r = browser.authorize(&t, &params).await;
        assert_eq!(r.status, 400, "{params:?}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(r.text().contains(words), "{params:?}: {}", r.text());
    }
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn app_secrets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || SimConfig {
        state_dir: Some(dir.path().to_owned()),
        time_scale: 0.001,
        ..SimConfig::default()
    };
    let t = TestSim::start_with(config()).await;
    t.oauth_app(OTHER_APPID, OTHER_SECRET).await;
    t.sim.shutdown().await.unwrap();

    let t = TestSim::start_with(config()).await;
    let code = code_for(&t, &mut Browser::new(), OTHER_APPID).await;
    let v = t
        .sns_token(OTHER_APPID, OTHER_SECRET, &code, "authorization_code")
        .await
        .json();
    assert!(v["openid"].is_string(), "{v}");
    t.sim.shutdown().await.unwrap();
}
