//! One link for any app: a channel-neutral order's checkout page by the payer's User-Agent — a QR
//! code per method on a desktop, WeChat web authorisation then JSAPI inside WeChat, Alipay's WAP
//! cashier inside Alipay, a choice of both in a phone browser — through the simulators, as a
//! browser would follow it.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{Reply, TestApp, sandbox_keys};

const WECHAT_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2d) NetType/WIFI Language/zh_CN";
const ALIPAY_UA: &str = "Mozilla/5.0 (Linux; U; Android 13; zh-CN) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0 Mobile Safari/537.36 AliApp(AP/10.5.36) AlipayClient/10.5.36.8100";
const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

fn neutral(no: &str) -> Value {
    json!({"out_trade_no": no, "method": "any", "description": "VIP月卡", "amount_total": 2990})
}

/// A browser that does not follow redirects: each hop is looked at.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(client: &reqwest::Client, url: &str, ua: &str) -> Reply {
    let resp = client
        .get(url)
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Reply {
        status,
        json: Value::Null,
        text,
        headers,
    }
}

fn location(r: &Reply) -> String {
    assert!(matches!(r.status, 302 | 303), "{} {}", r.status, r.text);
    r.headers["location"].to_str().unwrap().to_owned()
}

/// The value of the HTML attribute `name` of the first element that has it.
fn attr(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = html[at..].find('"')?;
    Some(unescape(&html[at..at + end]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Every `name="…" value="…"` hidden field of a form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|f| {
            (
                attr(&format!(" {f}"), "name").unwrap(),
                attr(&format!(" {f}"), "value").unwrap(),
            )
        })
        .collect()
}

/// Creates a channel-neutral order and answers its checkout URL.
async fn create(app: &TestApp, no: &str) -> String {
    let created = app.create_order(&neutral(no)).await;
    let body = created.assert_ok();
    assert_eq!(
        (body["channel"].as_str(), body["method"].as_str()),
        (Some("any"), Some("any")),
        "{body}"
    );
    assert!(body["pay_params"].is_null(), "{body}");
    let url = body["checkout_url"].as_str().unwrap().to_owned();
    assert!(url.contains("/checkout/ck_"), "{url}");
    url.replacen(&app.public_url, &app.base, 1)
}

async fn jsapi_pay(app: &TestApp, prepay_id: &str) {
    let resp = app
        .http
        .post(format!("{}/sim/wechat/jsapi/pay", app.sim.base_url))
        .json(&json!({ "prepay_id": prepay_id }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

async fn wait_paid(app: &TestApp, no: &str) -> Value {
    for _ in 0..100 {
        let order = app.get_order(no).await;
        if order.json["status"] == "paid" {
            return order.json;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{no} not paid: {}", app.get_order(no).await.text);
}

api_tests! {
    async fn a_desktop_gets_a_qr_code_per_method_each_its_own_upstream_order(app: TestApp) {
        let page_url = create(&app, "any_desktop").await;
        let page = get(&browser(), &page_url, DESKTOP_UA).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.text.matches("data-testid=\"qr\"").count(), 2, "WeChat and Alipay: {}", page.text);
        assert!(page.text.contains("&#38;method=wechat.native") && page.text.contains("&#38;method=alipay.qr"), "{}", page.text);
        assert!(page.text.len() < 30 * 1024, "two codes still fit the page's budget: {} bytes", page.text.len());
        let made = app.sim_wechat_orders();
        let again = get(&browser(), &page_url, DESKTOP_UA).await;
        assert_eq!(again.status, 200);
        assert_eq!(app.sim_wechat_orders(), made, "a reload reuses the upstream orders");

        // The payer scans the Alipay code and pays; the order takes its method and number.
        let id = app.stored(&app.site, "any_desktop").await.id;
        let attempts = app.db.store.pay_attempts(id).await.unwrap();
        assert_eq!(attempts.len(), 2);
        assert_ne!(attempts[0].upstream_order_no, attempts[1].upstream_order_no);
        let alipay = attempts.iter().find(|a| a.pay_method.to_string() == "alipay.qr").unwrap();
        let url = format!("{}/sim/alipay/trades/{}/pay?app_id={}", app.sim.base_url, alipay.upstream_order_no.as_str(), sandbox_keys().alipay_app_id);
        let paid = app.http.post(url).send().await.unwrap();
        assert!(paid.status().is_success(), "{:?}", paid.text().await);
        let order = wait_paid(&app, "any_desktop").await;
        assert_eq!((order["channel"].as_str(), order["method"].as_str()), (Some("alipay"), Some("qr")), "{order}");
        assert_eq!(app.stored(&app.site, "any_desktop").await.upstream_order_no, alipay.upstream_order_no);
    }

    async fn inside_wechat_the_link_authorises_then_hands_a_signed_jsapi_payment_to_wechat(app: TestApp) {
        let page_url = create(&app, "any_wechat").await;
        let token = page_url.rsplit('/').next().unwrap().to_owned();
        let b = browser();
        let to_wechat = location(&get(&b, &page_url, WECHAT_UA).await);
        let mp = &sandbox_keys().wechat_appids.mp;
        assert!(to_wechat.starts_with(&format!("{}/connect/oauth2/authorize?appid={mp}&redirect_uri=", app.sim.base_url)), "{to_wechat}");
        assert!(to_wechat.contains("scope=snsapi_base") && to_wechat.ends_with("#wechat_redirect"), "{to_wechat}");
        // The fragment never reaches a server.
        let authorize = to_wechat.split('#').next().unwrap();
        let back = location(&get(&b, authorize, WECHAT_UA).await);
        assert!(back.starts_with(&format!("{}/pay/wechat/jsapi?token={token}&code=", app.public_url)), "{back}");
        let back = back.replacen(&app.public_url, &app.base, 1);

        let page = get(&b, &back, WECHAT_UA).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let params: Value = serde_json::from_str(&attr(&page.text, "data-jsapi").unwrap()).unwrap();
        assert_eq!(params["appId"], mp.as_str());
        assert_eq!(params["signType"], "RSA");
        let message = format!("{}\n{}\n{}\n{}\n", params["appId"].as_str().unwrap(), params["timeStamp"].as_str().unwrap(),
            params["nonceStr"].as_str().unwrap(), params["package"].as_str().unwrap());
        let key = channel_core::RsaPrivateKey::from_pem(&sandbox_keys().wechat_merchant_key_pem).unwrap();
        key.public_key().unwrap().verify_base64(message.as_bytes(), params["paySign"].as_str().unwrap()).unwrap();
        assert!(page.text.contains("data-testid=\"jsapi-pay\""));

        // WeChat delivering the same redirect twice: the code was exchanged once, and the payer gets
        // the same upstream order.
        let twice = get(&b, &back, WECHAT_UA).await;
        assert_eq!(twice.status, 200, "{}", twice.text);
        let params_again: Value = serde_json::from_str(&attr(&twice.text, "data-jsapi").unwrap()).unwrap();
        assert_eq!(params_again["package"], params["package"]);

        // Paying in WeChat is what pays: the order takes the JSAPI method.
        jsapi_pay(&app, params["package"].as_str().unwrap().strip_prefix("prepay_id=").unwrap()).await;
        let order = wait_paid(&app, "any_wechat").await;
        assert_eq!((order["channel"].as_str(), order["method"].as_str()), (Some("wechat"), Some("jsapi")), "{order}");
        // Paid: the link now shows the order, not another payment.
        let after = get(&b, &back, WECHAT_UA).await;
        assert_eq!(location(&after), format!("{}/checkout/{token}", app.public_url));
    }

    async fn a_code_wechat_does_not_vouch_for_gives_no_payment(app: TestApp) {
        let page_url = create(&app, "any_badcode").await;
        let token = page_url.rsplit('/').next().unwrap().to_owned();
        for query in ["", "?code=", "?code=forged-code-0000", "?state=paygate"] {
            let sep = if query.is_empty() { "" } else { "&" };
            let query = query.trim_start_matches('?');
            let page = get(&browser(), &format!("{}/pay/wechat/jsapi?token={token}{sep}{query}", app.base), WECHAT_UA).await;
            assert_eq!(page.status, 403, "{query}: {}", page.text);
            assert!(page.text.contains("data-testid=\"error\"") && !page.text.contains("data-jsapi"), "{query}");
        }
        assert_eq!(app.sim_wechat_orders(), 0, "no upstream order for a payer nobody vouched for");
    }

    async fn inside_alipay_the_link_posts_a_signed_wap_payment_that_the_simulator_takes(app: TestApp) {
        let page_url = create(&app, "any_alipay").await;
        let token = page_url.rsplit('/').next().unwrap().to_owned();
        let b = browser();
        // A WeChat attempt first, as a payer who opened the link in WeChat and then in Alipay.
        let desktop = get(&b, &page_url, DESKTOP_UA).await;
        assert_eq!(desktop.status, 200);

        let onward_path = location(&get(&b, &page_url, ALIPAY_UA).await);
        assert_eq!(onward_path, format!("/checkout/{token}/alipay"));
        let onward = get(&b, &format!("{}{onward_path}", app.base), ALIPAY_UA).await;
        assert_eq!(onward.status, 200, "{}", onward.text);
        let action = attr(&onward.text, "action").unwrap();
        assert_eq!(action, format!("{}/gateway.do", app.sim.base_url));
        let csp = onward.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains(&format!("form-action {}", app.sim.base_url)) && csp.contains("script-src 'sha256-"), "{csp}");
        let fields = hidden_fields(&onward.text);
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(field("method").as_deref(), Some("alipay.trade.wap.pay"));
        assert_eq!(field("return_url"), Some(format!("{}/checkout/{token}", app.public_url)));
        assert!(field("sign").is_some_and(|s| !s.is_empty()));

        // The payer's browser posts the form; the simulator verifies it and shows its cashier.
        let cashier = b.post(&action).form(&fields).send().await.unwrap();
        let status = cashier.status().as_u16();
        let html = cashier.text().await.unwrap();
        assert_eq!(status, 200, "{html}");
        let pay_path = attr(&html, "action").unwrap();
        let paid = b.post(format!("{}{pay_path}", app.sim.base_url)).send().await.unwrap();
        assert!(paid.status().is_success() || paid.status().is_redirection(), "{:?}", paid.text().await);
        let order = wait_paid(&app, "any_alipay").await;
        assert_eq!((order["channel"].as_str(), order["method"].as_str()), (Some("alipay"), Some("wap")), "{order}");

        // The WeChat Native order of the same paygate order is closed upstream.
        let attempts = app.db.store.pay_attempts(app.stored(&app.site, "any_alipay").await.id).await.unwrap();
        let native = attempts.iter().find(|a| a.pay_method.to_string() == "wechat.native").unwrap();
        let order = app.stored(&app.site, "any_alipay").await;
        let mut state = None;
        for _ in 0..100 {
            state = Some(app.channels.query(&order.through(native)).await.unwrap());
            if state == Some(gateway::channels::UpstreamStatus::Closed) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(state, Some(gateway::channels::UpstreamStatus::Closed));
    }

    async fn back_from_alipay_before_the_payment_is_recorded_the_page_waits_for_it(app: TestApp) {
        let page_url = create(&app, "any_alipay_back").await;
        let token = page_url.rsplit('/').next().unwrap().to_owned();
        // Alipay's synchronous return, as its cashier appends it to the return URL once the
        // payer paid; its notification has not reached paygate yet.
        let back = format!(
            "{page_url}?charset=utf-8&out_trade_no=pg1&method=alipay.trade.wap.pay.return&total_amount=29.90&sign=c2lnbg%3D%3D&trade_no=2026&version=1.0"
        );
        let page = get(&browser(), &back, ALIPAY_UA).await;
        assert_eq!(page.status, 200, "not sent to Alipay again: {:?}", page.headers.get("location"));
        assert!(page.text.contains("data-status=\"pending\""), "{}", page.text);
        assert!(page.text.contains(&format!("href=\"/checkout/{token}/alipay\"")), "{}", page.text);
        // Any other parameter still sends the payer in Alipay on to Alipay.
        let again = get(&browser(), &format!("{page_url}?method=alipay.trade.wap.pay"), ALIPAY_UA).await;
        assert_eq!(location(&again), format!("/checkout/{token}/alipay"));
    }

    async fn a_phone_browser_chooses_and_wechat_h5_comes_back_to_the_checkout(app: TestApp) {
        let page_url = create(&app, "any_phone").await;
        let token = page_url.rsplit('/').next().unwrap().to_owned();
        let page = get(&browser(), &page_url, PHONE_UA).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains(&format!("href=\"/checkout/{token}/wechat-h5\"")), "{}", page.text);
        assert!(page.text.contains(&format!("href=\"/checkout/{token}/alipay\"")), "{}", page.text);
        assert!(!page.text.contains("data-testid=\"qr\""));

        let h5 = location(&get(&browser(), &format!("{}/checkout/{token}/wechat-h5", app.base), PHONE_UA).await);
        assert!(h5.starts_with(&format!("{}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=", app.sim.base_url)), "{h5}");
        let back: String = url::form_urlencoded::byte_serialize(format!("{}/checkout/{token}", app.public_url).as_bytes()).collect();
        assert!(h5.ends_with(&format!("&redirect_url={back}")), "{h5}");

        // Within its five minutes the same link is handed out again; an older one is asked for
        // anew (WeChat's links expire), under the same upstream order.
        let h5_route = format!("{}/checkout/{token}/wechat-h5", app.base);
        assert_eq!(location(&get(&browser(), &h5_route, PHONE_UA).await), h5);
        let id = app.stored(&app.site, "any_phone").await.id;
        let five_minutes_ago = gateway::domain::Timestamp::now().as_millis() - 5 * 60 * 1000;
        app.db.execute(&format!("UPDATE pay_attempts SET updated_at = {five_minutes_ago} WHERE order_id = {}", id.as_i64())).await;
        let fresh = location(&get(&browser(), &h5_route, PHONE_UA).await);
        assert_ne!(fresh, h5, "a link near its expiry is not handed out");
        let prepay = |link: &str| link.split("prepay_id=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        assert_eq!(prepay(&fresh), prepay(&h5));
        assert_eq!(app.db.store.pay_attempts(id).await.unwrap().len(), 1);
    }

    async fn the_app_routes_of_a_fixed_or_unknown_order_pay_nothing(app: TestApp) {
        let created = app.create_native(&json!({"out_trade_no": "fixed_1", "description": "VIP月卡", "amount_total": 2990})).await;
        let token = created.assert_ok()["checkout_url"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned();
        let unknown_token = "ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let routes = |t: &str| [format!("/pay/wechat/jsapi?token={t}&code=x"), format!("/checkout/{t}/wechat-h5"), format!("/checkout/{t}/alipay")];
        for (route, unknown) in routes(&token).into_iter().zip(routes(unknown_token)) {
            let r = get(&browser(), &format!("{}{route}", app.base), PHONE_UA).await;
            assert_eq!(location(&r), format!("{}/checkout/{token}", app.public_url), "{route}");
            let page = get(&browser(), &format!("{}{unknown}", app.base), PHONE_UA).await;
            assert_eq!(page.status, 404, "{unknown}");
            assert!(page.text.contains("data-testid=\"error\""), "{unknown}");
        }
    }
}
