//! The payer's side: the H5 pay page an order's `h5_url` opens, and JSAPI paid by its prepay_id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

const NOTIFY: &str = "https://merchant.example.com/notify";

/// The transaction a TRANSACTION.SUCCESS callback carries.
fn transaction(got: &Received) -> Value {
    let env: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(env["event_type"], "TRANSACTION.SUCCESS");
    let res = &env["resource"];
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        res["associated_data"].as_str().unwrap(),
        res["ciphertext"].as_str().unwrap(),
    );
    serde_json::from_slice(&plain).unwrap()
}

fn h5_url(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["h5_url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_h5_link_opens_a_page_whose_button_pays_and_notifies() {
    let t = TestSim::start().await;
    let m = t.register("1900000501", "public_key").await;
    let mut rx = receiver(vec![200]).await;
    let n = no("h5");
    let url = h5_url(&t.h5_order(&m, &n, 1234, &rx.url).await);
    let prefix = format!(
        "{}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx",
        t.sim.base_url
    );
    assert!(url.starts_with(&prefix), "{url}");
    assert!(query_of(&url)["package"].parse::<u32>().is_ok(), "{url}");

    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    for words in [
        "Image形象店-深圳腾大-QQ公仔",
        "¥12.34",
        "确认支付",
        "data-testid=\"sim-wechat-h5-pay\"",
    ] {
        assert!(html.contains(words), "{words} in {html}");
    }
    let (action, fields) = form(&html);
    let paid = browser.post_form(&action, &fields).await;
    assert_eq!(paid.status, 200);
    assert!(paid.text().contains("支付成功"), "{}", paid.text());

    let tx = transaction(&rx.next().await);
    assert_eq!(tx["out_trade_no"], n.as_str());
    assert_eq!(
        (tx["trade_state"].as_str(), tx["trade_type"].as_str()),
        (Some("SUCCESS"), Some("MWEB"))
    );
    assert_eq!(tx["amount"]["payer_total"], 1234);
    assert_eq!(t.query_order(&m, &n).await.json()["trade_state"], "SUCCESS");

    // Paid: the link and the button say so.
    let again = browser.get(&url).await;
    assert_eq!(again.status, 409);
    assert!(again.text().contains("订单已支付"));
    assert_eq!(browser.post_form(&action, &fields).await.status, 409);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_page_goes_to_the_redirect_url_the_merchant_appended() {
    let t = TestSim::start().await;
    let m = t.register("1900000502", "public_key").await;
    let url = h5_url(&t.h5_order(&m, &no("h5r"), 1, NOTIFY).await);
    let back = "https://shop.example.com/done?order=1&from=h5";
    let with_redirect = format!(
        "{url}&redirect_url={}",
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    let mut browser = Browser::new();
    let page = browser.get(&with_redirect).await;
    assert_eq!(page.status, 200);
    let (action, fields) = form(&page.text());
    assert!(
        fields.contains(&("redirect_url".to_owned(), back.to_owned())),
        "{fields:?}"
    );
    let paid = browser.post_form(&action, &fields).await;
    assert_eq!(paid.status, 303);
    assert_eq!(paid.header("location"), back);

    let bad = browser
        .get(&format!("{url}&redirect_url=javascript%3Aalert(1)"))
        .await;
    assert_eq!(bad.status, 400);
    let whole = browser
        .get(&format!(
            "{}/cgi-bin/mmpayweb-bin/checkmweb?package=1",
            t.sim.base_url
        ))
        .await;
    assert_eq!(whole.status, 400);
    let unknown = browser
        .get(&format!(
            "{}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=1",
            t.sim.base_url
        ))
        .await;
    assert_eq!(unknown.status, 404);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_link_expires_and_creating_the_order_again_gives_a_fresh_one() {
    let t = TestSim::start().await;
    let m = t.register("1900000503", "public_key").await;
    let n = no("h5x");
    let first = h5_url(&t.h5_order(&m, &n, 1, NOTIFY).await);
    let prepay_id = query_of(&first)["prepay_id"].clone();
    let mut browser = Browser::new();
    let (action, stale_fields) = form(&browser.get(&first).await.text());

    let (status, v) = t
        .control(
            "POST",
            "/sim/wechat/h5/expire",
            Some(json!({"prepay_id": prepay_id})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let expired = browser.get(&first).await;
    assert_eq!(expired.status, 403);
    assert!(expired.text().contains("链接已失效"));
    assert_eq!(browser.post_form(&action, &stale_fields).await.status, 403);
    assert_eq!(t.query_order(&m, &n).await.json()["trade_state"], "NOTPAY");

    // The same order again: the same prepay_id in a fresh link; the old one stays dead.
    let second = h5_url(&t.h5_order(&m, &n, 1, NOTIFY).await);
    assert_ne!(second, first);
    assert_eq!(query_of(&second)["prepay_id"], prepay_id);
    assert_eq!(browser.get(&second).await.status, 200);
    assert_eq!(browser.get(&first).await.status, 403);
    // Other content under the same out_trade_no is still a reuse.
    assert_eq!(
        t.h5_order(&m, &n, 2, NOTIFY).await.code(),
        "OUT_TRADE_NO_USED"
    );

    assert_eq!(t.close_order(&m, &n).await.status, 204);
    let closed = browser.get(&second).await;
    assert_eq!(closed.status, 409);
    assert!(closed.text().contains("订单已关闭"));
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_browser_that_went_through_web_authorisation_pays_as_its_openid() {
    let t = TestSim::start().await;
    let m = t.register("1900000504", "public_key").await;
    let secret = "0123456789abcdef0123456789abcdef";
    t.oauth_app(APPID, secret).await;
    let mut browser = Browser::new();
    let r = browser
        .authorize(
            &t,
            &[
                ("appid", APPID),
                ("redirect_uri", "https://shop.example.com/back"),
                ("response_type", "code"),
                ("scope", "snsapi_base"),
            ],
        )
        .await;
    let code = query_of(&r.header("location"))["code"].clone();
    let openid = t
        .sns_token(APPID, secret, &code, "authorization_code")
        .await
        .json()["openid"]
        .clone();

    let mut rx = receiver(vec![200]).await;
    let url = h5_url(&t.h5_order(&m, &no("h5o"), 1, &rx.url).await);
    let (action, fields) = form(&browser.get(&url).await.text());
    assert_eq!(browser.post_form(&action, &fields).await.status, 200);
    assert_eq!(transaction(&rx.next().await)["payer"]["openid"], openid);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_jsapi_prepay_is_paid_by_its_prepay_id() {
    let t = TestSim::start().await;
    let m = t.register("1900000505", "public_key").await;
    let mut rx = receiver(vec![200]).await;
    let n = no("js");
    let mut body = order_body(&m, &n, 250, &rx.url);
    body["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/jsapi", Some(&body))
        .await;
    let prepay_id = r.json()["prepay_id"].as_str().unwrap().to_owned();

    let (status, v) = t
        .control(
            "POST",
            "/sim/wechat/jsapi/pay",
            Some(json!({"prepay_id": prepay_id})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["trade_state"], "SUCCESS");
    let tx = transaction(&rx.next().await);
    assert_eq!(tx["out_trade_no"], n.as_str());
    assert_eq!(tx["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_eq!(tx["trade_type"], "JSAPI");

    let (status, v) = t
        .control(
            "POST",
            "/sim/wechat/jsapi/pay",
            Some(json!({"prepay_id": prepay_id})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("ORDER_NOT_PAYABLE"))
    );
    let (status, v) = t
        .control(
            "POST",
            "/sim/wechat/jsapi/pay",
            Some(json!({"prepay_id": "wx404"})),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (404, Some("ORDER_NOT_EXIST")));
    // An H5 order's prepay_id is not a JSAPI one.
    let url = h5_url(&t.h5_order(&m, &no("h5j"), 1, NOTIFY).await);
    let (status, _) = t
        .control(
            "POST",
            "/sim/wechat/jsapi/pay",
            Some(json!({"prepay_id": query_of(&url)["prepay_id"]})),
        )
        .await;
    assert_eq!(status, 404);
    t.sim.shutdown().await.unwrap();
}
