//! The hosted checkout page as a payer sees it: `paygate serve` in sandbox mode, orders created
//! through the signed API, and the page opened in headless Chromium by `browser/checkout.mjs`
//! (Node.js + `playwright-core`; needs `/usr/bin/chromium`, which `.ci/run` installs).
//!
//! What the payer sees is checked from the rendered page: the QR code is decoded from a
//! screenshot, as a phone would scan it; the countdown is read twice; the status changes on the
//! open page without a reload. Every look also checks that the page raised no script error, broke
//! no rule of its Content-Security-Policy, fits its window, and asked nothing of any origin but
//! paygate's. Screenshots are kept in `target/test-output/checkout/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};
use support::browser::{look, screenshot};
use support::serve::{Paygate, ServeOptions, SiteKeys, checkout_token, create_site, signed_ok};
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

    /// The paygate database, for what the API cannot do (an order's expiry moved).
    fn db(&self) -> Database {
        Database::at(&format!(
            "sqlite://{}?mode=rw",
            self.dir.path().join("paygate.db").display()
        ))
    }
}

/// What every look must find, whatever the page: no script error, no console error, no CSP
/// violation, nothing wider than the window, and no request to any origin but paygate's.
fn assert_clean(found: &Value, origin: &str) {
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
            url.starts_with(&format!("{origin}/")),
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
