//! 易支付 (EPay) V1: both client styles pay, are told, query and refund; every mistake gets
//! EPay's own answer; a site without EPay, or another site's key, gets nothing.

use std::time::Duration;

use gateway::domain::{
    Channel, CompatKey, Method, OrderStatus, PayMethod, Payer, Protocol, compat_trade_no,
};
use gateway::service::{OrderService, ServiceSettings};
use serde_json::Value;
use test_support::receiver::Receiver;
use test_support::wait::eventually;

use super::epay_client::{self, Empties};
use super::harness::{Delivering, browser, enable, field, location, query_of};
use crate::api_tests;
use crate::support::app::{TestApp, sandbox_keys};

fn pid(key: &CompatKey) -> &str {
    &key.key_id
}

/// A payment request as new-api's go-epay makes it: money with two decimals, `device=pc`.
fn go_epay_request<'a>(
    key: &'a CompatKey,
    no: &'a str,
    notify_url: &'a str,
    money: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("pid", pid(key)),
        ("type", "wxpay"),
        ("out_trade_no", no),
        ("notify_url", notify_url),
        ("return_url", "https://shop.example/epay/return"),
        ("name", "VIP会员"),
        ("money", money),
        ("device", "pc"),
    ]
}

async fn post_form(app: &TestApp, path: &str, form: &[(String, String)]) -> reqwest::Response {
    browser()
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

async fn mapi(app: &TestApp, form: &[(String, String)]) -> (u16, Value) {
    json_of(post_form(app, "/mapi.php", form).await).await
}

async fn api_order(app: &TestApp, key: &CompatKey, by: (&str, &str)) -> (u16, Value) {
    let url = format!("{}/epay/api.php", app.base);
    let query = [
        ("act", "order"),
        ("pid", pid(key)),
        ("key", key.secret.expose()),
        by,
    ];
    json_of(browser().get(url).query(&query).send().await.unwrap()).await
}

/// Waits for the order's notification and checks it as the clients do.
async fn notice_of(receiver: &Receiver, key: &CompatKey) -> Vec<(String, String)> {
    let seen = receiver.wait_for(1, Duration::from_secs(60)).await;
    let notice = &seen[0];
    assert_eq!(notice.method, "GET", "EPay notifies by GET");
    let fields = query_of(&format!("http://x{}?{}", notice.path, notice.query));
    assert!(
        epay_client::verify(&fields, key.secret.expose()),
        "{fields:?}"
    );
    assert!(
        fields.iter().all(|(_, v)| !v.is_empty()),
        "no empty field is sent: {fields:?}"
    );
    fields
}

api_tests! {
    async fn a_form_posting_client_pays_is_told_queries_comes_back_and_refunds(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Epay).await;
        let receiver = Receiver::start(vec![]);
        let _workers = Delivering::start(&app);
        let notify_url = receiver.url("/epay/notify");
        let no = "epay_form_000001";
        let form = epay_client::signed(&go_epay_request(&key, no, &notify_url, "10.00"), key.secret.expose(), Empties::Skipped);
        // The payer's browser posts the form and is sent on to pay: a QR code on a computer.
        let r = post_form(&app, "/submit.php", &form).await;
        let to = location(&r);
        assert!(to.starts_with(&app.public_url) && to.contains("ck_"), "{to}");
        let order = app.stored(&app.site, no).await;
        assert_eq!(order.pay_method, PayMethod::new(Channel::Wechat, Method::Native).unwrap());
        assert_eq!(order.amount.as_i64(), 1000);
        // Until it is paid, the way back leads to the checkout page, not to the shop.
        let back = format!("{}/epay/return/{}/{no}", app.base, pid(&key));
        let early = location(&browser().get(&back).send().await.unwrap());
        assert!(early.contains("ck_"), "{early}");

        app.sim_wechat_pay(&app.site, no).await;
        let notice = notice_of(&receiver, &key).await;
        let trade_no = compat_trade_no(order.id, order.created_at);
        for (name, value) in [
            ("pid", pid(&key)), ("trade_no", trade_no.as_str()), ("out_trade_no", no), ("type", "wxpay"),
            ("name", "VIP会员"), ("money", "10"), ("trade_status", "TRADE_SUCCESS"), ("sign_type", "MD5"),
        ] {
            assert_eq!(field(&notice, name), Some(value), "{name} in {notice:?}");
        }
        assert_eq!(field(&notice, "param"), None);
        let delivered = "SELECT COUNT(*) FROM notification_events WHERE status = 'delivered'";
        eventually(Duration::from_secs(10), "the notice recorded as acknowledged", || async {
            (app.db.count(delivered).await == 1).then_some(())
        })
        .await;

        // The payer comes back to the shop with the same signed query.
        let home = location(&browser().get(&back).send().await.unwrap());
        assert!(home.starts_with("https://shop.example/epay/return?"), "{home}");
        let returned = query_of(&home);
        assert!(epay_client::verify(&returned, key.secret.expose()));
        assert_eq!(field(&returned, "trade_status"), Some("TRADE_SUCCESS"));

        // Queried by either number.
        for by in [("out_trade_no", no), ("trade_no", trade_no.as_str())] {
            let (status, q) = api_order(&app, &key, by).await;
            assert_eq!(status, 200, "{q}");
            assert_eq!((q["code"].as_i64(), q["status"].as_i64()), (Some(1), Some(1)), "{q}");
            assert_eq!((q["money"].as_str(), q["type"].as_str()), (Some("10.00"), Some("wxpay")));
            assert_eq!(q["trade_no"].as_str(), Some(trade_no.as_str()));
        }

        // Refunded in part (V1 answers a refund with code 0), never past what was paid.
        let refund = |money: &'static str| {
            vec![
                ("pid".to_owned(), pid(&key).to_owned()),
                ("key".to_owned(), key.secret.expose().to_owned()),
                ("out_trade_no".to_owned(), no.to_owned()),
                ("money".to_owned(), money.to_owned()),
            ]
        };
        let (status, r) = json_of(post_form(&app, "/api.php?act=refund", &refund("4.5")).await).await;
        assert_eq!((status, r["code"].as_i64()), (200, Some(0)), "{r}");
        assert_eq!(r["money"].as_str(), Some("4.50"));
        let (status, r) = json_of(post_form(&app, "/api.php?act=refund", &refund("6")).await).await;
        assert_eq!((status, r["code"].as_i64()), (400, Some(-1)), "{r}");
        assert!(r["msg"].as_str().unwrap().contains("5.50"), "{r}");

        // EPay tells its sites of payments only: the refund's event is settled with nothing sent.
        let refund_settled = "SELECT COUNT(*) FROM notification_events WHERE event_type = 'REFUND.SUCCESS' AND status = 'delivered'";
        eventually(Duration::from_secs(30), "the refund's event settled", || async {
            (app.db.count(refund_settled).await == 1).then_some(())
        })
        .await;
        let not_sent = "SELECT COUNT(*) FROM delivery_attempts WHERE http_status IS NULL AND error LIKE 'not sent:%'";
        assert_eq!(app.db.count(not_sent).await, 1);
        assert_eq!(receiver.seen().len(), 1, "only the payment was told");
    }

    async fn a_redirecting_client_with_yuan_as_php_prints_it_and_empty_values_pays_at_the_checkout(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Epay).await;
        let receiver = Receiver::start(vec![]);
        let _workers = Delivering::start(&app);
        let notify_url = receiver.url("/api/v1/guest/payment/notify/EPay/abc");
        let no = "20261201123456789";
        // v2board: no type (the payer chooses), money as PHP prints it, an empty value signed.
        let fields = [
            ("money", "10.5"),
            ("name", "月付套餐"),
            ("notify_url", notify_url.as_str()),
            ("return_url", "https://panel.example/#/order/20261201123456789"),
            ("out_trade_no", no),
            ("pid", pid(&key)),
            ("param", ""),
        ];
        let query = epay_client::signed(&fields, key.secret.expose(), Empties::Signed);
        let r = browser().get(format!("{}/epay/submit.php", app.base)).query(&query).send().await.unwrap();
        let to = location(&r);
        assert!(to.contains("ck_"), "to the checkout page: {to}");
        let order = app.stored(&app.site, no).await;
        assert!(order.neutral, "{order:?}");
        assert_eq!(order.amount.as_i64(), 1050);

        // The payer picks WeChat Pay on the checkout page and pays.
        let service = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let through = service
            .attempt(&order, PayMethod::new(Channel::Wechat, Method::Native).unwrap(), Payer::default())
            .await
            .unwrap();
        let mchid = &sandbox_keys().wechat_mchid;
        let paid = app.http.post(format!("{}/sim/wechat/orders/{}/pay?mchid={mchid}", app.sim.base_url, through.upstream_order_no.as_str())).send().await.unwrap();
        assert!(paid.status().is_success());
        let notice = notice_of(&receiver, &key).await;
        assert_eq!(field(&notice, "money"), Some("10.5"));
        assert_eq!(field(&notice, "type"), Some("wxpay"));
        assert_eq!(field(&notice, "param"), None, "an empty param is not sent");
        assert_eq!(app.stored_status(&app.site, no).await, OrderStatus::Paid);
        // Back to the panel's own route, the signed query after it, as the EPay server appends it.
        let back = location(&browser().get(format!("{}/epay/return/{}/{no}", app.base, pid(&key))).send().await.unwrap());
        let route = format!("https://panel.example/#/order/{no}?");
        assert!(back.starts_with(&route), "{back}");
        let returned: Vec<(String, String)> = url::form_urlencoded::parse(&back.as_bytes()[route.len()..]).into_owned().collect();
        assert!(epay_client::verify(&returned, key.secret.expose()), "{returned:?}");
    }

    async fn every_mistake_gets_epays_own_answer_and_never_a_server_error(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Epay).await;
        let secret = key.secret.expose();
        let notify = "https://shop.example/notify";
        let mut request = go_epay_request(&key, "epay_mistakes_01", notify, "10.00");
        request.push(("clientip", "203.0.113.7"));

        let (status, answer) = mapi(&app, &[]).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(-4)), "{answer}");

        let mut forged = epay_client::signed(&request, "not-the-key", Empties::Skipped);
        let (status, answer) = mapi(&app, &forged).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(-3)), "{answer}");
        // A signed field changed after signing.
        forged = epay_client::signed(&request, secret, Empties::Skipped);
        forged.iter_mut().filter(|(k, _)| k == "money").for_each(|(_, v)| *v = "0.01".to_owned());
        let (_, answer) = mapi(&app, &forged).await;
        assert_eq!(answer["code"].as_i64(), Some(-3), "{answer}");

        for (field_name, value, message) in [
            ("money", "1.001", "金额不合法"),
            ("money", "0", "金额不合法"),
            ("money", "-1", "金额不合法"),
            ("name", "", "商品名称(name)不能为空"),
            ("notify_url", "", "通知地址(notify_url)不能为空"),
            ("clientip", "not-an-ip", "用户IP地址不合法"),
            ("out_trade_no", "bad no!", "订单号(out_trade_no)格式不正确"),
            ("return_url", "javascript:alert(1)", "回调地址(return_url)格式不正确"),
        ] {
            let changed: Vec<(&str, &str)> = request
                .iter()
                .map(|&(k, v)| if k == field_name { (k, value) } else { (k, v) })
                .collect();
            let (status, answer) = mapi(&app, &epay_client::signed(&changed, secret, Empties::Skipped)).await;
            assert_eq!((status, answer["code"].as_i64()), (400, Some(-1)), "{field_name}={value}: {answer}");
            assert_eq!(answer["msg"].as_str(), Some(message), "{field_name}={value}");
        }

        // The same request again is the same order; another amount under its number is refused.
        let (status, first) = mapi(&app, &epay_client::signed(&request, secret, Empties::Skipped)).await;
        assert_eq!((status, first["code"].as_i64()), (200, Some(1)), "{first}");
        assert!(first["qrcode"].as_str().unwrap().starts_with("weixin://"), "{first}");
        let (_, again) = mapi(&app, &epay_client::signed(&request, secret, Empties::Skipped)).await;
        assert_eq!(again["trade_no"], first["trade_no"]);
        let other: Vec<(&str, &str)> = request
            .iter()
            .map(|&(k, v)| if k == "money" { (k, "11.00") } else { (k, v) })
            .collect();
        let (status, answer) = mapi(&app, &epay_client::signed(&other, secret, Empties::Skipped)).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(-1)), "{answer}");
        assert!(answer["msg"].as_str().unwrap().contains("支付参数有变化"), "{answer}");

        // The browser's page says the same, as a page.
        let r = post_form(&app, "/submit.php", &epay_client::signed(&other, secret, Empties::Skipped)).await;
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.text().await.unwrap().contains("支付参数有变化"));

        let (status, answer) = json_of(browser().get(format!("{}/api.php?act=nothing", app.base)).send().await.unwrap()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(-5)), "{answer}");
    }

    async fn a_site_without_epay_is_refused_and_one_sites_key_cannot_act_on_another(app: TestApp) {
        let own = enable(&app, &app.site, Protocol::Epay).await;
        let (_, created) = mapi(&app, &epay_client::signed(
            &[&go_epay_request(&own, "epay_owned_000001", "https://shop.example/n", "1.00")[..], &[("clientip", "203.0.113.7")]].concat(),
            own.secret.expose(),
            Empties::Skipped,
        )).await;
        assert_eq!(created["code"].as_i64(), Some(1), "{created}");

        // A site that never turned EPay on has no pid: nothing it could sign is taken.
        let plain = app.another_site("plain").await;
        assert!(app.db.store.compat_key_of_site(&plain.id, Protocol::Epay).await.unwrap().is_none());
        let stranger = app.another_site("stranger").await;
        let theirs = enable(&app, &stranger, Protocol::Epay).await;

        // Another site's pid with its own key cannot read, refund or pay back into this site's order.
        let (status, q) = api_order(&app, &theirs, ("out_trade_no", "epay_owned_000001")).await;
        assert_eq!((status, q["code"].as_i64(), q["msg"].as_str()), (400, Some(-1), Some("订单号不存在")), "{q}");
        let (_, q) = api_order(&app, &theirs, ("trade_no", created["trade_no"].as_str().unwrap())).await;
        assert_eq!(q["msg"].as_str(), Some("订单号不存在"), "{q}");
        // This site's pid with the other site's key is a wrong key.
        let url = format!("{}/api.php", app.base);
        let query = [("act", "order"), ("pid", pid(&own)), ("key", theirs.secret.expose()), ("out_trade_no", "epay_owned_000001")];
        let (status, q) = json_of(browser().get(&url).query(&query).send().await.unwrap()).await;
        assert_eq!((status, q["code"].as_i64(), q["msg"].as_str()), (400, Some(-3), Some("商户密钥错误")), "{q}");
        // Its way back shows nothing of this site's order either.
        let r = browser().get(format!("{}/epay/return/{}/epay_owned_000001", app.base, pid(&theirs))).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "another site's order is not found by its way back");
        // A pid nobody has.
        let nobody = [("act", "order"), ("pid", "1"), ("key", "x"), ("out_trade_no", "epay_owned_000001")];
        let (_, q) = json_of(browser().get(&url).query(&nobody).send().await.unwrap()).await;
        assert_eq!((q["code"].as_i64(), q["msg"].as_str()), (Some(-3), Some("商户ID不存在")), "{q}");
        // Turned off, the site's own pid is gone.
        let by = gateway::domain::ActedBy::from(gateway::domain::Actor::Cli);
        let keys = gateway::service::CompatKeyService::new(app.db.store.clone());
        assert!(keys.disable(&app.site.id, Protocol::Epay, &by).await.unwrap());
        let (_, q) = api_order(&app, &own, ("out_trade_no", "epay_owned_000001")).await;
        assert_eq!(q["msg"].as_str(), Some("商户ID不存在"), "{q}");
    }
}
