//! Browser and app payments: the signed URL, form and order string are accepted by the simulator's
//! cashier, and paying there returns the buyer to `return_url` with signed parameters.

// Page-reading helpers beside the tests: a page without what they look for fails the test.
#![allow(clippy::expect_used)]

use alipay::{Fen, Order, PagePayRequest, TradeStatus, WapPayRequest};

use crate::helpers::{TestApp, out, spawn, unique};

/// The trade_no from a cashier page's pay form.
fn pay_action(page: &str) -> String {
    let start = page
        .find("/sim/alipay/cashier/")
        .expect("no pay form on the page");
    let rest = &page[start..];
    rest[..rest.find('"').expect("unterminated action")].to_owned()
}

async fn pay_on_cashier(app: &TestApp, page: &str) -> reqwest::Response {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    no_redirects
        .post(format!("{}{}", app.base_url(), pay_action(page)))
        .send()
        .await
        .expect("cashier reachable")
}

#[tokio::test]
async fn wap_pay_redirect_url_lands_on_a_payable_cashier() {
    let app = spawn().await;
    let no = unique("wap");
    let signed = app
        .client
        .wap_pay(&WapPayRequest {
            order: Order::new(&no, Fen(1), "手机网站 & <支付>"),
            return_url: Some("https://shop.example/return?from=alipay".into()),
            quit_url: Some("https://shop.example/cart".into()),
        })
        .unwrap();
    let page = app
        .http
        .get(&signed.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=pay"), "{page}");
    assert!(page.contains("0.01"));
    assert!(page.contains("手机网站 &amp; &lt;支付&gt;"));

    let resp = pay_on_cashier(&app, &page).await;
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://shop.example/return?from=alipay&"));
    assert!(location.contains("method=alipay.trade.wap.pay.return"));
    // The return parameters are signed like a notification (sign and sign_type not signed).
    let query = url::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = query
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "from")
        .collect();
    let content = alipay::sign::sign_content(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        alipay::sign::SignTypeIn::Excluded,
    );
    let sign = &pairs.iter().find(|(k, _)| k == "sign").unwrap().1;
    channel_core::RsaPublicKey::from_pem(&app.alipay_public_pem)
        .unwrap()
        .verify_base64(content.as_bytes(), sign)
        .unwrap();

    assert_eq!(app.next_notification().await.out_trade_no, no);
    assert_eq!(
        app.client
            .query_order(&out(&no))
            .await
            .unwrap()
            .trade_status,
        TradeStatus::TradeSuccess
    );
}

#[tokio::test]
async fn page_pay_auto_submit_form_is_accepted() {
    let app = spawn().await;
    let no = unique("page");
    let signed = app
        .client
        .page_pay(&PagePayRequest {
            order: Order::new(&no, Fen(99_999_999), "电脑网站"),
            return_url: None,
        })
        .unwrap();
    assert!(
        signed
            .form_html
            .contains("document.forms['alipaysubmit'].submit()")
    );
    // Submit the form as a browser would: its action and hidden inputs, form-encoded.
    let action = between(&signed.form_html, "action=\"", "\"").replace("&amp;", "&");
    let mut fields = Vec::new();
    for input in signed.form_html.split("<input type=\"hidden\" ").skip(1) {
        let name = between(input, "name=\"", "\"");
        let value = between(input, "value=\"", "\"")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        fields.push((name, value));
    }
    let page = app
        .http
        .post(action)
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=pay"), "{page}");
    assert!(page.contains("999999.99"));

    let resp = pay_on_cashier(&app, &page).await;
    assert!(
        resp.status().is_success(),
        "no return_url: the cashier shows the result itself"
    );
    let n = app.next_notification().await;
    assert_eq!(
        (n.out_trade_no.as_str(), n.total_amount),
        (no.as_str(), Fen(99_999_999))
    );
}

#[tokio::test]
async fn app_pay_order_string_is_accepted() {
    let app = spawn().await;
    let no = unique("app");
    let order_string = app
        .client
        .app_pay(&Order::new(&no, Fen(250), "app"))
        .unwrap();
    let page = app
        .http
        .get(format!("{}/gateway.do?{order_string}", app.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("QUICK_MSECURITY_PAY") && page.contains("id=pay"),
        "{page}"
    );
}

#[tokio::test]
async fn tampered_redirect_url_is_refused() {
    let app = spawn().await;
    let signed = app
        .client
        .wap_pay(&WapPayRequest {
            order: Order::new(unique("t"), Fen(100), "t"),
            return_url: None,
            quit_url: None,
        })
        .unwrap();
    let tampered = signed.url.replace("%221.00%22", "%220.01%22");
    assert_ne!(tampered, signed.url);
    let page = app
        .http
        .get(&tampered)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("isv.invalid-signature"), "{page}");
}

fn between(s: &str, start: &str, end: &str) -> String {
    let from = s.find(start).expect("start marker") + start.len();
    let rest = &s[from..];
    rest[..rest.find(end).expect("end marker")].to_owned()
}
