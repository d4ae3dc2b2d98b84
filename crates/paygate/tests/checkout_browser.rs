//! The hosted checkout page as a payer sees it: `paygate serve` in sandbox mode, orders created
//! through the signed API, and the page opened in headless Chromium by `browser/checkout.mjs`
//! (Node.js + `playwright-core`; needs `/usr/bin/chromium`, which `.ci/run` installs).
//!
//! What the payer sees is checked from the rendered page: the QR code is decoded from a
//! screenshot, as a phone would scan it; the countdown is read twice; the status changes on the
//! open page without a reload. Every look also checks that the page raised no script error, broke
//! no rule of its Content-Security-Policy, fits its window, and asked nothing of any origin but
//! paygate's (and the channels', played by the sandbox's simulator, where the payer goes through
//! their pages). Screenshots are kept in `target/test-output/checkout/`.
//!
//! A channel-neutral order's one link is opened as each app opens it (by User-Agent): inside
//! WeChat (web authorisation, then a JSAPI payment handed to a stand-in for WeChat's
//! `WeixinJSBridge`), inside Alipay (its cashier, and back), in a phone browser (WeChat's H5 page,
//! and back) and on a desktop (a QR code per app). The last test runs two nodes on one PostgreSQL
//! database: a page open on one shows the payment the other records. A combined order's page
//! (合单) is looked at too: its sub-orders, its one QR code, the sub-order's link to it, paid live.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};
use support::browser::{Session, look, screenshot};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, checkout_token, create_site, get_json, http, paygate_command,
    signed_ok, site_keys,
};
use test_support::db::Database;
use test_support::receiver::Receiver;

fn desktop() -> Value {
    json!({"width": 1280, "height": 800})
}

fn mobile() -> Value {
    json!({"width": 390, "height": 844})
}

/// A sandbox `paygate serve` and a site named "Example Shop" on it.
struct Shop {
    dir: tempfile::TempDir,
    pg: Paygate,
    keys: SiteKeys,
}

impl Shop {
    fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pg = Paygate::start(ServeOptions::new(dir.path()));
        let keys = create_site(dir.path(), "Example Shop");
        Self { dir, pg, keys }
    }

    /// `POST /v1/orders` for 29.90 of "VIP月卡" with `extra` fields; the answer, asserted pending.
    async fn order(&self, no: &str, channel: &str, method: &str, extra: &Value) -> Value {
        let mut body = json!({
            "out_trade_no": no, "channel": channel, "method": method,
            "description": "VIP月卡", "amount_total": 2990,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let v = signed_ok(
            &self.pg,
            &self.keys,
            Method::POST,
            "/v1/orders",
            &body.to_string(),
        )
        .await;
        assert_eq!(v["status"], "pending", "{v}");
        v
    }

    async fn wechat_native(&self, no: &str) -> Value {
        self.order(no, "wechat", "native", &json!({})).await
    }

    /// The order's page on seed 000's route, as its `checkout_url` names it.
    fn page(&self, order: &Value) -> String {
        let channel = order["channel"].as_str().unwrap_or("wechat");
        format!(
            "{}/pay/{channel}/checkout?token={}",
            self.pg.url,
            checkout_token(order)
        )
    }

    /// `POST /v1/orders` for a channel-neutral order (`"method": "any"`): no channel, no pay
    /// parameters yet, a link for any app. The answer, asserted pending.
    async fn any(&self, no: &str) -> Value {
        let body = json!({
            "out_trade_no": no, "method": "any", "description": "VIP月卡", "amount_total": 2990,
        });
        let v = signed_ok(
            &self.pg,
            &self.keys,
            Method::POST,
            "/v1/orders",
            &body.to_string(),
        )
        .await;
        assert_eq!(v["status"], "pending", "{v}");
        assert_eq!(v["method"], "any", "{v}");
        assert!(v["pay_params"].is_null(), "{v}");
        v
    }

    /// The order as the API shows it now.
    async fn get(&self, no: &str) -> Value {
        signed_ok(
            &self.pg,
            &self.keys,
            Method::GET,
            &format!("/v1/orders/{no}"),
            "",
        )
        .await
    }

    /// `GET /sandbox/info`: the in-process simulator's URL and the sandbox merchant's ids.
    async fn sandbox(&self) -> Sandbox {
        let info = get_json(&format!("{}/sandbox/info", self.pg.url)).await;
        Sandbox {
            sim_url: info["sim_url"].as_str().unwrap().to_owned(),
            mchid: info["wechat_mchid"].as_str().unwrap().to_owned(),
            state_dir: self.dir.path().join("sim"),
        }
    }

    /// The paygate database, for what the API cannot do (an order's expiry moved).
    fn db(&self) -> Database {
        Database::at(&format!(
            "sqlite://{}?mode=rw",
            self.dir.path().join("paygate.db").display()
        ))
    }
}

/// The simulator a sandbox `paygate serve` runs in-process, as a payer's apps meet it.
struct Sandbox {
    /// `http://127.0.0.1:PORT`: WeChat's and Alipay's pages and the control API.
    sim_url: String,
    mchid: String,
    /// Where it keeps its state (`<data-dir>/sim`).
    state_dir: std::path::PathBuf,
}

impl Sandbox {
    /// Its WeChat Pay orders (all of this paygate's upstream orders: one shop per test).
    fn wechat_orders(&self) -> Vec<Value> {
        test_support::sim::wechat_orders(&self.state_dir)
            .into_values()
            .collect()
    }

    fn alipay_trades(&self) -> Vec<Value> {
        test_support::sim::alipay_trades(&self.state_dir)
            .into_values()
            .collect()
    }

    /// The public key WeChat Pay checks the sandbox merchant's signatures with, as registered.
    fn merchant_public_key(&self) -> channel_core::RsaPublicKey {
        let state = test_support::sim::state(&self.state_dir, "wechat.json");
        let pem = state["merchants"][&self.mchid]["merchant_public_key_pem"]
            .as_str()
            .unwrap_or_else(|| panic!("merchant {} not in the simulator: {state}", self.mchid));
        channel_core::RsaPublicKey::from_pem(pem).unwrap()
    }

    /// `POST /sim/wechat/jsapi/pay`: the payer confirms in WeChat's pay sheet.
    async fn pay_jsapi(&self, prepay_id: &str) {
        let r = http()
            .post(format!("{}/sim/wechat/jsapi/pay", self.sim_url))
            .json(&json!({ "prepay_id": prepay_id }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_success(), "{status} {}", r.text().await.unwrap());
    }
}

/// What every look must find, whatever the page: no script error, no console error, no CSP
/// violation, nothing wider than the window, and no request to any origin but paygate's.
fn assert_clean(found: &Value, origin: &str) {
    assert_clean_on(found, &[origin]);
}

/// [`assert_clean`] for a payer who also goes through other origins (the channels' pages, as the
/// simulator plays them): requests to `origins` only.
fn assert_clean_on(found: &Value, origins: &[&str]) {
    assert_eq!(found["pageErrors"], json!([]), "script errors: {found}");
    assert_eq!(found["cspViolations"], json!([]), "CSP violations: {found}");
    assert_eq!(
        found["overflowX"], false,
        "the page is wider than the window: {found}"
    );
    // The browser logs each failed answer as a console error. The only one allowed: the error
    // page itself, answered 404 on purpose. Anything else logged is the page's fault.
    let failed = found["failedResponses"].as_array().unwrap();
    for answer in failed {
        let url = answer["url"].as_str().unwrap();
        let is_page = Some(url) == found["requests"][0]["url"].as_str();
        assert!(is_page, "{url} failed: {found}");
    }
    let errors: Vec<&str> = found["consoleErrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|e| {
            !e.starts_with("Failed to load resource: the server responded with a status of")
        })
        .collect();
    assert!(errors.is_empty(), "console errors {errors:?}: {found}");
    for request in found["requests"].as_array().unwrap() {
        let url = request["url"].as_str().unwrap();
        assert!(
            origins.iter().any(|o| url.starts_with(&format!("{o}/"))),
            "the page asked another origin for {url}: {found}"
        );
    }
}

fn testid<'a>(found: &'a Value, id: &str) -> &'a str {
    found["testids"][id]
        .as_str()
        .unwrap_or_else(|| panic!("no {id}: {found}"))
}

/// `mm:ss` in seconds.
fn seconds(mm_ss: &str) -> u64 {
    let (m, s) = mm_ss
        .split_once(':')
        .unwrap_or_else(|| panic!("not mm:ss: {mm_ss}"));
    m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap()
}

#[tokio::test]
async fn a_pending_wechat_order_shows_its_amount_a_scannable_qr_code_and_a_ticking_countdown() {
    let shop = Shop::open();
    let order = shop.wechat_native("browser_pending_0001").await;
    let code_url = order["pay_params"]["code_url"].as_str().unwrap();

    let found = look(&json!({
        "url": shop.page(&order), "viewport": desktop(),
        "screenshot": screenshot("pending-desktop"), "qrScreenshot": screenshot("qr-wechat"),
        "countdownGap": 1200,
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["status"], 200, "{found}");
    assert_eq!(found["lang"], "zh-CN", "{found}");
    assert_eq!(testid(&found, "site-name"), "Example Shop");
    assert_eq!(testid(&found, "description"), "VIP月卡");
    assert_eq!(testid(&found, "amount"), "¥29.90");
    assert_eq!(found["dataStatus"], "pending", "{found}");
    assert_eq!(found["simulateVisible"], true, "sandbox mode: {found}");
    // What a phone scanning the screen reads is the order's pay URL.
    assert_eq!(found["qr"], code_url, "{found}");
    // The clock runs down from the order's 15 minutes (the API's default), a second at a time.
    let [first, second] = [0, 1].map(|i| seconds(found["countdown"][i].as_str().unwrap()));
    assert!(
        second < first && first <= 15 * 60 && first > 14 * 60,
        "{found}"
    );
    // While open, the page asks paygate (and paygate only) for the order's status.
    let asked: Vec<&str> = found["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["url"].as_str())
        .collect();
    // Live status comes from the stream, not from polling.
    assert!(
        asked.iter().any(|u| u.contains("/pay/events?token=")),
        "{asked:?}"
    );

    let phone = look(&json!({
        "url": shop.page(&order), "viewport": mobile(),
        "screenshot": screenshot("pending-mobile"), "qrScreenshot": screenshot("qr-wechat-mobile"),
    }));
    assert_clean(&phone, &shop.pg.url);
    assert_eq!(
        phone["qr"], code_url,
        "scannable on a phone's screen too: {phone}"
    );
    assert_eq!(testid(&phone, "amount"), "¥29.90");
}

#[tokio::test]
async fn paying_shows_success_on_the_open_page_then_returns_to_the_site() {
    let shop = Shop::open();

    // No return URL: the page stays, and shows success without a reload.
    let order = shop.wechat_native("browser_paid_0001").await;
    let found = look(&json!({
        "url": shop.page(&order), "click": "simulate-pay", "awaitStatus": "paid", "within": 3000,
        "afterScreenshot": screenshot("paid"),
    }));
    assert_clean(&found, &shop.pg.url);
    assert!(
        found["awaited"]["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(found["markerKept"], true, "the page was reloaded: {found}");
    assert_eq!(found["finalUrl"], shop.page(&order), "{found}");
    assert_eq!(
        found["after"]["qrVisible"], false,
        "nothing left to scan: {found}"
    );

    // With a return URL: the site's page, once paid.
    let site = Receiver::start(Vec::new());
    let back = site.url("/thanks?order=browser_paid_0002");
    let order = shop
        .order(
            "browser_paid_0002",
            "wechat",
            "native",
            &json!({"return_url": back}),
        )
        .await;
    let found = look(&json!({
        "url": format!("{}/checkout/{}", shop.pg.url, checkout_token(&order)),
        "click": "simulate-pay", "awaitStatus": "paid", "within": 3000, "awaitUrl": back,
    }));
    assert!(
        found["awaited"]["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(found["markerKept"], true, "{found}");
    assert_eq!(found["returned"], true, "{found}");
    assert_eq!(found["finalUrl"], back, "{found}");
    let seen = site.seen();
    assert!(
        seen.iter()
            .any(|r| r.method == "GET" && r.path.starts_with("/thanks")),
        "the site's page was not asked for: {seen:?}"
    );
    // Every request before the payer left for the site stayed with paygate.
    let before_site: Vec<Value> = found["requests"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|r| !r["url"].as_str().unwrap().starts_with(&back))
        .cloned()
        .collect();
    let mut on_paygate = found.clone();
    on_paygate["requests"] = json!(before_site);
    assert_clean(&on_paygate, &shop.pg.url);
}

#[tokio::test]
async fn without_javascript_the_button_pays_and_the_paid_page_returns_to_the_site() {
    let shop = Shop::open();
    let site = Receiver::start(Vec::new());
    let back = site.url("/thanks?order=browser_nojs_0001");
    let order = shop
        .order(
            "browser_nojs_0001",
            "wechat",
            "native",
            &json!({"return_url": back}),
        )
        .await;
    let page = format!("{}&lang=en", shop.page(&order));
    // The form posts; paygate answers 303 back to the page; the payer refreshes until it is paid,
    // and the paid page's `<meta http-equiv=refresh>` takes the payer to the site.
    let found = look(&json!({
        "url": page, "javaScript": false, "click": "simulate-pay", "refreshUntil": "paid",
        "within": 10_000, "afterScreenshot": screenshot("paid-no-javascript"), "awaitUrl": back,
    }));
    // The form's answer leads back to the order's page, under its short path, still in English.
    let short = format!(
        "{}/checkout/{}?lang=en",
        shop.pg.url,
        checkout_token(&order)
    );
    assert_eq!(found["landedOn"], short, "{found}");
    assert!(
        found["awaited"]["ms"].as_u64().is_some(),
        "never paid: {found}"
    );
    assert_eq!(
        found["after"]["testids"]["status"], "Payment successful",
        "{found}"
    );
    assert_eq!(found["returned"], true, "{found}");
    assert_eq!(found["finalUrl"], back, "{found}");
}

#[tokio::test]
async fn closed_and_expired_orders_show_their_state_and_nothing_to_scan() {
    let shop = Shop::open();

    let closed = shop.wechat_native("browser_closed_0001").await;
    signed_ok(
        &shop.pg,
        &shop.keys,
        Method::POST,
        "/v1/orders/browser_closed_0001/close",
        "",
    )
    .await;
    let found = look(&json!({"url": shop.page(&closed), "screenshot": screenshot("closed")}));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["dataStatus"], "closed", "{found}");
    assert_eq!(found["qrVisible"], false, "{found}");
    assert_eq!(found["simulateVisible"], false, "{found}");

    // Past its expiry when the page is opened.
    let late = shop.wechat_native("browser_late_0001").await;
    shop.db()
        .execute("UPDATE orders SET expires_at = created_at + 1 WHERE out_trade_no = 'browser_late_0001'")
        .await
        .unwrap();
    let found = look(&json!({"url": shop.page(&late), "screenshot": screenshot("expired")}));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["dataStatus"], "expired", "{found}");
    assert_eq!(testid(&found, "countdown"), "00:00");
    assert_eq!(found["qrVisible"], false, "{found}");

    // Expiring while the payer looks at it: the countdown reaches zero and the page says so.
    let soon = shop.wechat_native("browser_soon_0001").await;
    // Far enough ahead for Chromium to start and load the page first, even on a busy machine.
    let soon_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(6);
    shop.db()
        .execute(&format!(
            "UPDATE orders SET expires_at = {} WHERE out_trade_no = 'browser_soon_0001'",
            soon_at.as_millis()
        ))
        .await
        .unwrap();
    let found = look(&json!({
        "url": shop.page(&soon), "awaitStatus": "expired", "within": 10_000,
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(
        found["dataStatus"], "pending",
        "still payable when opened: {found}"
    );
    assert!(found["awaited"]["ms"].as_u64().is_some(), "{found}");
    assert_eq!(found["after"]["testids"]["countdown"], "00:00", "{found}");
    assert_eq!(found["after"]["qrVisible"], false, "{found}");
}

#[tokio::test]
async fn english_on_request_and_complete_without_javascript() {
    let shop = Shop::open();
    let order = shop.wechat_native("browser_lang_0001").await;
    let code_url = order["pay_params"]["code_url"].as_str().unwrap();

    let found = look(&json!({
        "url": format!("{}&lang=en", shop.page(&order)), "screenshot": screenshot("pending-english"),
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["lang"], "en", "{found}");
    let text = found["bodyText"].as_str().unwrap();
    assert!(text.contains("Time left to pay"), "{text}");
    assert!(text.contains("Waiting for payment"), "{text}");
    assert!(!text.contains("等待"), "no Chinese left: {text}");

    let found = look(&json!({
        "url": shop.page(&order), "javaScript": false,
        "screenshot": screenshot("no-javascript"), "qrScreenshot": screenshot("qr-no-javascript"),
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(testid(&found, "amount"), "¥29.90");
    assert_eq!(found["qr"], code_url, "{found}");
    assert_eq!(found["dataStatus"], "pending", "{found}");
    // Nothing but the page itself: no script ran to ask for its status.
    assert_eq!(found["requests"].as_array().unwrap().len(), 1, "{found}");
}

#[tokio::test]
async fn links_that_name_no_order_get_a_plain_not_found_page() {
    let shop = Shop::open();
    let base = &shop.pg.url;
    let unknown = format!("ck_{}", "a".repeat(32));
    let links = [
        format!("{base}/pay/wechat/checkout?token={unknown}"),
        format!("{base}/checkout/{unknown}"),
        format!("{base}/pay/alipay/checkout?token=not-a-token"),
        format!("{base}/pay/wechat/checkout?token=%3Cscript%3E"),
        format!("{base}/pay/wechat/checkout"),
        format!("{base}/checkout/ck_%27%22"),
    ];
    for (i, url) in links.iter().enumerate() {
        let shot = if i == 0 {
            screenshot("not-found")
        } else {
            String::new()
        };
        let mut plan = json!({"url": url});
        if !shot.is_empty() {
            plan["screenshot"] = json!(shot);
        }
        let found = look(&plan);
        assert_clean(&found, base);
        assert_eq!(found["status"], 404, "{url}: {found}");
        assert!(found["testids"]["error"].is_string(), "{url}: {found}");
        let text = found["bodyText"].as_str().unwrap();
        for leak in ["panicked", "backtrace", ".rs:", "sqlx", "Error:", "token"] {
            assert!(!text.contains(leak), "{url} shows {leak:?}: {text}");
        }
    }
}

#[tokio::test]
async fn an_alipay_qr_order_shows_a_scannable_qr_code_of_its_qr_code() {
    let shop = Shop::open();
    let order = shop
        .order("browser_alipay_0001", "alipay", "qr", &json!({}))
        .await;
    let qr_code = order["pay_params"]["qr_code"].as_str().unwrap();
    let found = look(&json!({
        "url": shop.page(&order), "screenshot": screenshot("pending-alipay"),
        "qrScreenshot": screenshot("qr-alipay"),
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["qr"], qr_code, "{found}");
    assert_eq!(testid(&found, "amount"), "¥29.90");
    assert_eq!(found["dataStatus"], "pending", "{found}");
}

// ---------------------------------------------------------------------------------------------
// One link for any app: a channel-neutral order's checkout_url, opened where payers open links
// ---------------------------------------------------------------------------------------------

/// WeChat's in-app browser on an iPhone.
const WECHAT_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2d) NetType/WIFI Language/zh_CN";
/// Alipay's in-app browser on Android.
const ALIPAY_UA: &str = "Mozilla/5.0 (Linux; U; Android 13; zh-CN) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0 Mobile Safari/537.36 AliApp(AP/10.5.36) AlipayClient/10.5.36.8100";
/// Safari on an iPhone.
const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// What WeChat's in-app browser injects, played by the test: the bridge arrives after the page's
/// own script ran (announced by `WeixinJSBridgeReady`, as in WeChat), keeps what it was handed in
/// `window.__jsapi`, and answers as WeChat's pay sheet does when the payer confirms. That answer
/// is no payment: only WeChat Pay's, recorded by paygate, is.
const WECHAT_BRIDGE: &str = r#"
document.addEventListener("DOMContentLoaded", () => {
  window.WeixinJSBridge = {
    invoke(name, params, callback) {
      window.__jsapi = { name, params };
      setTimeout(() => {
        callback({ err_msg: "get_brand_wcpay_request:ok" });
        window.__jsapiAnswered = true;
      }, 0);
    },
  };
  document.dispatchEvent(new Event("WeixinJSBridgeReady"));
});
"#;

/// The `ck_…` token of a checkout URL, in either of its shapes.
fn token_of(checkout_url: &str) -> String {
    checkout_url
        .split("token=")
        .nth(1)
        .or_else(|| checkout_url.rsplit('/').next())
        .unwrap()
        .to_owned()
}

/// The result of the plan's step called `name`.
fn step<'a>(found: &'a Value, name: &str) -> &'a Value {
    found["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name}: {found}"))
}

fn requested(found: &Value) -> Vec<String> {
    found["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["url"].as_str().unwrap()
            )
        })
        .collect()
}

/// Waits (up to 10 s) until `f` holds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn inside_wechat_the_link_authorises_hands_a_signed_payment_to_wechat_and_shows_it_paid() {
    let shop = Shop::open();
    let sandbox = shop.sandbox().await;
    let order = shop.any("browser_any_wechat").await;
    let link = order["checkout_url"].as_str().unwrap();
    let token = token_of(link);

    let mut session = Session::start(&json!({
        "url": link, "viewport": mobile(), "userAgent": WECHAT_UA, "initScript": WECHAT_BRIDGE,
        "steps": [
            {"waitFor": "window.__jsapiAnswered === true", "name": "answered"},
            {"screenshot": screenshot("wechat-jsapi")},
            {"mark": true},
            {"pause": true, "evaluate": "window.__jsapi", "name": "handed"},
            {"awaitStatus": "paid", "within": 3000, "name": "paid"},
            {"screenshot": screenshot("wechat-jsapi-paid")},
        ],
    }));
    let handed = session.paused();
    // Through WeChat's web authorisation and back, on paygate's own route.
    let back = format!("{}/pay/wechat/jsapi?token={token}&code=", shop.pg.url);
    assert!(
        handed["url"].as_str().unwrap().starts_with(&back),
        "{handed}"
    );
    assert_eq!(handed["dataStatus"], "pending", "{handed}");
    assert_eq!(testid(&handed, "amount"), "¥29.90");
    assert_eq!(
        handed["qrCount"], 0,
        "nothing to scan inside WeChat: {handed}"
    );

    // What WeChat's bridge was handed: a payment signed by the merchant, as WeChat checks it.
    let jsapi = &handed["evaluated"];
    assert_eq!(jsapi["name"], "getBrandWCPayRequest", "{handed}");
    let params = &jsapi["params"];
    let field = |k: &str| {
        params[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k}: {params}"))
    };
    assert_eq!(field("signType"), "RSA");
    let prepay_id = field("package")
        .strip_prefix("prepay_id=")
        .unwrap_or_else(|| panic!("{params}"));
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        field("appId"),
        field("timeStamp"),
        field("nonceStr"),
        field("package")
    );
    sandbox
        .merchant_public_key()
        .verify_base64(message.as_bytes(), field("paySign"))
        .unwrap_or_else(|e| panic!("paySign does not verify ({e:?}): {params}"));
    // The JSAPI order WeChat Pay holds is for this official account and the authorised payer.
    let upstream: Vec<Value> = sandbox
        .wechat_orders()
        .into_iter()
        .filter(|o| o["prepay_id"] == prepay_id)
        .collect();
    assert_eq!(upstream.len(), 1, "{:?}", sandbox.wechat_orders());
    assert_eq!(upstream[0]["appid"], field("appId"), "{}", upstream[0]);
    assert!(upstream[0]["openid"].is_string(), "{}", upstream[0]);

    // WeChat's "ok" came back, and the page polled since: still only waiting for the payment.
    std::thread::sleep(Duration::from_millis(500));
    let after_ok = session.look_again();
    assert_eq!(after_ok["dataStatus"], "pending", "{after_ok}");

    // WeChat Pay takes the payment: the open page shows it, without a reload.
    session.resume();
    sandbox.pay_jsapi(prepay_id).await;
    let found = session.finish();
    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(paid["markerKept"], true, "the page was reloaded: {found}");
    assert_eq!(paid["page"]["testids"]["status"], "支付成功", "{found}");
    assert_clean_on(&found, &[&shop.pg.url, &sandbox.sim_url]);
    let asked = requested(&found);
    assert!(
        asked[0] == format!("GET {link}")
            && asked[1].starts_with(&format!(
                "GET {}/connect/oauth2/authorize?",
                sandbox.sim_url
            ))
            && asked[2].starts_with(&format!("GET {back}")),
        "{asked:#?}"
    );
    let order = shop.get("browser_any_wechat").await;
    assert_eq!(
        (order["channel"].as_str(), order["method"].as_str()),
        (Some("wechat"), Some("jsapi")),
        "{order}"
    );
}

#[tokio::test]
async fn inside_alipay_the_link_goes_to_alipays_cashier_and_comes_back_paid_closing_the_wechat_order()
 {
    let shop = Shop::open();
    let sandbox = shop.sandbox().await;
    let order = shop.any("browser_any_alipay").await;
    let link = order["checkout_url"].as_str().unwrap();
    let token = token_of(link);

    // Opened on a desktop first: a WeChat Pay order upstream, and an Alipay one.
    let desktop = look(&json!({"url": link, "viewport": desktop()}));
    assert_clean(&desktop, &shop.pg.url);
    assert_eq!(desktop["qrCount"], 2, "{desktop}");
    let native = sandbox.wechat_orders();
    assert_eq!(native.len(), 1, "{native:?}");
    assert_eq!(native[0]["trade_type"], "NATIVE", "{native:?}");

    // Then inside Alipay: the page posts the signed WAP payment to Alipay, whose cashier takes
    // it, then returns the payer to the checkout page.
    let checkout = format!("{}/checkout/{token}", shop.pg.url);
    let found = look(&json!({
        "url": link, "viewport": mobile(), "userAgent": ALIPAY_UA,
        "steps": [
            {"waitForUrl": format!("{}/gateway.do", sandbox.sim_url), "name": "cashier"},
            {"screenshot": screenshot("alipay-cashier")},
            {"clickSelector": "#pay"},
            {"waitForUrl": format!("{checkout}?"), "name": "back"},
            {"awaitStatus": "paid", "within": 3000, "name": "paid"},
            {"screenshot": screenshot("alipay-paid")},
        ],
    }));
    assert_clean_on(&found, &[&shop.pg.url, &sandbox.sim_url]);
    assert!(
        step(&found, "cashier")["ms"].is_u64(),
        "never reached Alipay's cashier: {found}"
    );
    assert!(
        step(&found, "back")["ms"].is_u64(),
        "never came back: {found}"
    );
    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(paid["page"]["testids"]["status"], "支付成功", "{found}");
    // Each hop as a browser makes it: the link, paygate's page for Alipay, the form posted to
    // Alipay's gateway, the cashier's button, and Alipay's signed return to the checkout page.
    let asked = requested(&found);
    let hops = [
        format!("GET {link}"),
        format!("GET {checkout}/alipay"),
        format!("POST {}/gateway.do", sandbox.sim_url),
        format!("POST {}/sim/alipay/cashier/", sandbox.sim_url),
        format!("GET {checkout}?"),
    ];
    let mut at = asked.iter();
    for hop in &hops {
        assert!(
            at.any(|a| a.starts_with(hop.as_str())),
            "no {hop} in order: {asked:#?}"
        );
    }
    let order = shop.get("browser_any_alipay").await;
    assert_eq!(
        (order["channel"].as_str(), order["method"].as_str()),
        (Some("alipay"), Some("wap")),
        "{order}"
    );

    // The WeChat Pay order the desktop made can no longer be paid.
    eventually("the WeChat Pay order closed upstream", || {
        sandbox.wechat_orders()[0]["state"] == "CLOSED"
    })
    .await;
}

#[tokio::test]
async fn a_phone_browser_offers_both_apps_and_wechat_h5_comes_back_paid() {
    let shop = Shop::open();
    let sandbox = shop.sandbox().await;
    let order = shop.any("browser_any_phone").await;
    let link = order["checkout_url"].as_str().unwrap();
    let checkout = format!("{}/checkout/{}", shop.pg.url, token_of(link));

    let found = look(&json!({
        "url": link, "viewport": mobile(), "userAgent": PHONE_UA,
        "screenshot": screenshot("phone-choices"),
        "steps": [
            {"clickSelector": "[data-testid=pay-link][href$='/wechat-h5']"},
            {"waitForUrl": format!("{}/cgi-bin/mmpayweb-bin/checkmweb?", sandbox.sim_url), "name": "h5"},
            {"screenshot": screenshot("wechat-h5")},
            {"click": "sim-wechat-h5-pay"},
            {"waitForUrl": checkout, "name": "back"},
            {"awaitStatus": "paid", "within": 3000, "name": "paid"},
            {"screenshot": screenshot("wechat-h5-paid")},
        ],
    }));
    assert_clean_on(&found, &[&shop.pg.url, &sandbox.sim_url]);
    // Two choices, nothing to scan.
    let links: Vec<(&str, &str)> = found["payLinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["text"].as_str().unwrap(), l["href"].as_str().unwrap()))
        .collect();
    assert_eq!(
        links,
        [
            ("微信支付", format!("{checkout}/wechat-h5").as_str()),
            ("支付宝", format!("{checkout}/alipay").as_str()),
        ],
        "{found}"
    );
    assert_eq!(found["qrCount"], 0, "{found}");
    assert_eq!(found["dataStatus"], "pending", "{found}");
    assert!(
        step(&found, "h5")["ms"].is_u64(),
        "never reached WeChat's H5 page: {found}"
    );
    assert!(
        step(&found, "back")["ms"].is_u64(),
        "never came back: {found}"
    );
    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    let order = shop.get("browser_any_phone").await;
    assert_eq!(
        (order["channel"].as_str(), order["method"].as_str()),
        (Some("wechat"), Some("h5")),
        "{order}"
    );
}

#[tokio::test]
async fn a_desktop_shows_a_scannable_qr_code_per_app_and_either_pays() {
    let shop = Shop::open();
    let sandbox = shop.sandbox().await;
    let order = shop.any("browser_any_desktop").await;
    let link = order["checkout_url"].as_str().unwrap();

    let found = look(&json!({
        "url": link, "viewport": desktop(), "screenshot": screenshot("any-desktop"),
        "steps": [
            {"qrScreenshots": [screenshot("qr-any-1"), screenshot("qr-any-2")], "name": "codes"},
            {"mark": true},
            {"click": "simulate-pay", "nth": 0},
            {"awaitStatus": "paid", "within": 3000, "name": "paid"},
            {"screenshot": screenshot("any-desktop-paid")},
        ],
    }));
    assert_clean(&found, &shop.pg.url);
    assert_eq!(found["qrCount"], 2, "{found}");
    // Side by side: the payer sees both without scrolling, whichever app is at hand.
    assert_eq!(found["qrInView"], 2, "{found}");
    assert_eq!(found["simulateCount"], 2, "{found}");
    // What a phone reads from each: WeChat Pay's code_url and Alipay's qr_code, as the channels
    // gave them for this order.
    let wechat = sandbox.wechat_orders();
    let alipay = sandbox.alipay_trades();
    assert_eq!(
        (wechat.len(), alipay.len()),
        (1, 1),
        "{wechat:?} {alipay:?}"
    );
    let code_url = wechat[0]["prepay"]["code_url"].as_str().unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl"),
        "{code_url}"
    );
    let qr_code = format!(
        "{}/sim/alipay/cashier/{}",
        sandbox.sim_url,
        alipay[0]["trade_no"].as_str().unwrap()
    );
    assert_eq!(
        step(&found, "codes")["qr"],
        json!([code_url, qr_code]),
        "{found}"
    );

    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(paid["markerKept"], true, "the page was reloaded: {found}");
    assert_eq!(
        paid["page"]["qrVisible"], false,
        "nothing left to scan: {found}"
    );
    let order = shop.get("browser_any_desktop").await;
    assert_eq!(
        (order["channel"].as_str(), order["method"].as_str()),
        (Some("wechat"), Some("native")),
        "{order}"
    );
}

// ---------------------------------------------------------------------------------------------
// Several nodes
// ---------------------------------------------------------------------------------------------

/// A sandbox `paygate serve` on the PostgreSQL database `db`, with the data dir `dir` and the
/// master key every node shares (site keys are sealed under it).
fn sandbox_node(dir: &std::path::Path, db: &str, master_key: &str) -> Paygate {
    Paygate::start(
        ServeOptions::new(dir)
            .arg("--database-url")
            .arg(db)
            .arg("--sandbox")
            .env("PAYGATE_MASTER_KEY", master_key),
    )
}

#[tokio::test]
async fn a_page_open_on_one_node_shows_the_payment_another_node_records() {
    let db = test_support::db::ThrowawayDb::create(test_support::db::Backend::Postgres).await;
    let master_key = support::hex_upper(64);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // One after the other: the first initialises the database.
    let a = sandbox_node(dir_a.path(), db.url(), &master_key);
    let b = sandbox_node(dir_b.path(), db.url(), &master_key);
    let mut create = paygate_command();
    create
        .args([
            "site",
            "create",
            "--name",
            "Example Shop",
            "--json",
            "--sandbox",
        ])
        .arg("--data-dir")
        .arg(dir_b.path())
        .arg("--database-url")
        .arg(db.url())
        .env("PAYGATE_MASTER_KEY", &master_key);
    let keys = site_keys(&create.output().unwrap());

    // Created through B: B made the upstream order, and the channel's callback goes to B.
    let body = json!({
        "out_trade_no": "browser_nodes_0001", "channel": "wechat", "method": "native",
        "description": "VIP月卡", "amount_total": 2990,
    });
    let order = signed_ok(&b, &keys, Method::POST, "/v1/orders", &body.to_string()).await;
    let token = checkout_token(&order);
    let upstream: Vec<Value> = test_support::sim::wechat_orders(&dir_b.path().join("sim"))
        .into_values()
        .collect();
    assert_eq!(upstream.len(), 1, "{upstream:?}");
    assert!(
        upstream[0]["notify_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/", b.url)),
        "{upstream:?}"
    );

    // The payer's page is open on A.
    let mut session = Session::start(&json!({
        "url": format!("{}/checkout/{token}", a.url),
        "steps": [
            {"mark": true},
            {"pause": true, "name": "open"},
            {"awaitStatus": "paid", "within": 3000, "name": "paid"},
            {"screenshot": screenshot("paid-on-another-node")},
        ],
    }));
    let open = session.paused();
    assert_eq!(open["dataStatus"], "pending", "{open}");
    assert_eq!(testid(&open, "amount"), "¥29.90");

    // The payer pays; B hears it from the channel and records it.
    session.resume();
    let paid = http()
        .post(format!("{}/sandbox/pay?token={token}", b.url))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200, "{:?}", paid.text().await);
    let found = session.finish();
    // A's page heard of it from A's status stream, which heard of it from the database: not by
    // polling.
    assert_clean(&found, &a.url);
    assert_eq!(
        requested(&found),
        [
            format!("GET {}/checkout/{token}", a.url),
            format!("GET {}/pay/events?token={token}", a.url),
        ],
        "{found}"
    );
    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 3 s: {found}"
    );
    assert_eq!(paid["markerKept"], true, "the page was reloaded: {found}");
    assert!(
        test_support::sim::wechat_orders(&dir_a.path().join("sim")).is_empty(),
        "A's own simulator never saw the order"
    );
}

#[tokio::test]
async fn a_combined_orders_page_lists_its_sub_orders_shows_one_qr_code_and_turns_paid_live() {
    let shop = Shop::open();
    let member = create_site(shop.dir.path(), "Member Shop");
    let allowed = support::serve::paygate_run(
        &[
            "site",
            "combine",
            "allow",
            &shop.keys.site_id,
            &member.site_id,
        ],
        shop.dir.path(),
    );
    assert!(allowed.status.success(), "{allowed:?}");
    let body = json!({
        "combine_out_trade_no": "browser_combined_0001", "method": "native",
        "sub_orders": [
            {"site_id": shop.keys.site_id, "out_trade_no": "browser_combined_0001_a", "amount_total": 1000, "description": "运费"},
            {"site_id": member.site_id, "out_trade_no": "browser_combined_0001_b", "amount_total": 2990, "description": "VIP月卡"},
        ],
    });
    let combined = signed_ok(
        &shop.pg,
        &shop.keys,
        Method::POST,
        "/v1/combined-orders",
        &body.to_string(),
    )
    .await;
    let url = combined["checkout_url"].as_str().unwrap().to_owned();
    let code_url = combined["pay_params"]["code_url"].as_str().unwrap();

    // On a phone's screen: the total, both sub-orders, a QR code that pays them together.
    let phone = look(&json!({
        "url": url, "viewport": mobile(),
        "screenshot": screenshot("combined-pending-mobile"),
        "qrScreenshot": screenshot("qr-combined-mobile"),
    }));
    assert_clean(&phone, &shop.pg.url);
    assert_eq!(phone["status"], 200, "{phone}");
    assert_eq!(testid(&phone, "site-name"), "Example Shop");
    assert_eq!(testid(&phone, "amount"), "¥39.90");
    assert_eq!(phone["dataStatus"], "pending", "{phone}");
    assert_eq!(phone["qr"], code_url, "{phone}");

    // The member's own order page leads the payer there instead of offering a payment of its own.
    let own = signed_ok(
        &shop.pg,
        &member,
        Method::GET,
        "/v1/orders/browser_combined_0001_b",
        "",
    )
    .await;
    let own_page = look(&json!({
        "url": own["checkout_url"], "viewport": mobile(),
        "screenshot": screenshot("combined-sub-order-mobile"),
        "steps": [{"click": "combined-link"}, {"waitForUrl": url, "within": 3000, "name": "followed"}],
    }));
    assert_clean(&own_page, &shop.pg.url);
    assert_eq!(testid(&own_page, "amount"), "¥29.90");
    assert!(
        step(&own_page, "followed")["ms"].as_u64().is_some(),
        "{own_page}"
    );

    // Open on a desktop, the page turns paid when the payer pays, without a reload.
    let mut session = Session::start(&json!({
        "url": url, "viewport": desktop(),
        "steps": [
            {"mark": true},
            {"screenshot": screenshot("combined-pending-desktop")},
            {"pause": true, "name": "open"},
            {"awaitStatus": "paid", "within": 5000, "name": "paid"},
            {"screenshot": screenshot("combined-paid-desktop")},
        ],
    }));
    let open = session.paused();
    assert_eq!(open["dataStatus"], "pending", "{open}");
    session.resume();
    let sandbox = shop.sandbox().await;
    let combine_no = shop
        .db()
        .rows("SELECT upstream_no FROM combined_orders")
        .await
        .unwrap()
        .remove(0)
        .remove(0);
    let paid = http()
        .post(format!(
            "{}/sim/wechat/combine/{combine_no}/pay?mchid={}",
            sandbox.sim_url, sandbox.mchid
        ))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success(), "{:?}", paid.text().await);
    let found = session.finish();
    assert_clean(&found, &shop.pg.url);
    let paid = step(&found, "paid");
    assert!(
        paid["ms"].as_u64().is_some(),
        "not paid within 5 s: {found}"
    );
    assert_eq!(paid["markerKept"], true, "the page was reloaded: {found}");
    let path = url.strip_prefix(&shop.pg.url).unwrap();
    assert!(
        requested(&found).contains(&format!("GET {}{path}/events", shop.pg.url)),
        "live status from the stream: {found}"
    );

    // The sandbox's button pays another combined order, all of it, and the page turns paid.
    let mut body = body.clone();
    body["combine_out_trade_no"] = json!("browser_combined_0002");
    for (i, sub) in body["sub_orders"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        sub["out_trade_no"] = json!(format!("browser_combined_0002_{i}"));
    }
    let second = signed_ok(
        &shop.pg,
        &shop.keys,
        Method::POST,
        "/v1/combined-orders",
        &body.to_string(),
    )
    .await;
    let found = look(&json!({
        "url": second["checkout_url"], "click": "simulate-pay", "awaitStatus": "paid", "within": 5000,
        "afterScreenshot": screenshot("combined-simulated-paid"),
    }));
    assert_clean(&found, &shop.pg.url);
    assert!(
        found["awaited"]["ms"].as_u64().is_some(),
        "not paid within 5 s: {found}"
    );
    for no in ["browser_combined_0002_0", "browser_combined_0002_1"] {
        let keys = if no.ends_with('0') {
            &shop.keys
        } else {
            &member
        };
        let order = signed_ok(&shop.pg, keys, Method::GET, &format!("/v1/orders/{no}"), "").await;
        assert_eq!(order["status"], "paid", "{order}");
    }

    // A forged token shows the error page and nothing else.
    let forged = look(&json!({
        "url": format!("{}/combined-checkout/ck_{}", shop.pg.url, "A".repeat(32)),
    }));
    assert_clean(&forged, &shop.pg.url);
    assert_eq!(forged["status"], 404, "{forged}");
}
