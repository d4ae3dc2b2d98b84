//! Jeepay: a client orders, pays, is told, queries and refunds; cashier and page ways give a page to
//! open; every mistake gets Jeepay's own answer; a site without Jeepay, or another site's keys, get
//! nothing.

use std::time::Duration;

use gateway::domain::{CompatKey, Protocol, compat_trade_no};
use serde_json::Value;
use test_support::receiver::Receiver;
use test_support::wait::eventually;

use super::harness::{Delivering, browser, enable, field};
use super::jeepay_client::{self, json_body, verify_answer, verify_notice};
use crate::api_tests;
use crate::support::app::TestApp;

fn app_id(key: &CompatKey) -> &str {
    key.app_id.as_deref().expect("a Jeepay key names its app")
}

/// `fields` signed as `key`'s app.
fn signed(key: &CompatKey, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    jeepay_client::signed(&key.key_id, app_id(key), key.secret.expose(), fields)
}

/// A unified order's own fields, as a shop fills them.
fn order_fields<'a>(
    no: &'a str,
    way: &'a str,
    amount: &'a str,
    notify: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("mchOrderNo", no),
        ("wayCode", way),
        ("amount", amount),
        ("currency", "cny"),
        ("clientIp", "203.0.113.7"),
        ("subject", "VIP月卡"),
        ("body", "一个月的会员"),
        ("notifyUrl", notify),
        ("extParam", "user=42&plan=month"),
    ]
}

fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != name);
    fields.push((name, value));
    fields
}

fn without<'a>(mut fields: Vec<(&'a str, &'a str)>, name: &str) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != name);
    fields
}

async fn answer_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

/// Posted as the Java SDK posts: a JSON body.
async fn post_json(app: &TestApp, path: &str, request: &[(String, String)]) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    answer_of(
        browser()
            .post(url)
            .json(&json_body(request))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Posted as a PHP plugin posts: a form.
async fn post_form(app: &TestApp, path: &str, request: &[(String, String)]) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    answer_of(browser().post(url).form(request).send().await.unwrap()).await
}

/// A refusal: HTTP 200, Jeepay's code and text, no data and no signature.
#[track_caller]
fn assert_refused(answer: &(u16, Value), code: i64, msg: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 200, "{body}");
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(code), Some(msg)),
        "{body}"
    );
    assert!(
        body.get("data").is_none() && body.get("sign").is_none(),
        "{body}"
    );
}

/// A success signed by the app: its `data`.
#[track_caller]
fn assert_ok<'a>(answer: &'a (u16, Value), key: &CompatKey) -> &'a Value {
    let (status, body) = answer;
    assert_eq!(
        (*status, body["code"].as_i64(), body["msg"].as_str()),
        (200, Some(0), Some("SUCCESS")),
        "{body}"
    );
    assert!(
        verify_answer(body, key.secret.expose()),
        "the answer's signature: {body}"
    );
    &body["data"]
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

api_tests! {
    async fn a_client_orders_pays_is_told_queries_and_refunds(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Jeepay).await;
        let secret = key.secret.expose();
        let receiver = Receiver::start(vec![]);
        let _workers = Delivering::start(&app);
        let notify = receiver.url("/jeepay/notify?shop=7");
        let no = "jeepay_order_0001";

        let created = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &order_fields(no, "WX_NATIVE", "2990", &notify))).await;
        let data = assert_ok(&created, &key);
        assert_eq!((data["orderState"].as_i64(), data["payDataType"].as_str()), (Some(1), Some("codeUrl")), "{data}");
        assert!(data["payData"].as_str().unwrap().starts_with("weixin://"), "{data}");
        let order = app.stored(&app.site, no).await;
        let pay_order_id = compat_trade_no(order.id, order.created_at);
        assert_eq!(data["payOrderId"].as_str(), Some(pay_order_id.as_str()));
        assert_eq!(order.amount.as_i64(), 2990);
        // The same request again is the same order.
        let again = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &order_fields(no, "WX_NATIVE", "2990", &notify))).await;
        assert_eq!(assert_ok(&again, &key)["payOrderId"].as_str(), Some(pay_order_id.as_str()));

        app.sim_wechat_pay(&app.site, no).await;
        let seen = receiver.wait_for(1, Duration::from_secs(60)).await;
        let notice = &seen[0];
        assert_eq!((notice.method.as_str(), notice.path.as_str()), ("POST", "/jeepay/notify"));
        assert!(notice.header("content-type").starts_with("application/x-www-form-urlencoded"));
        let fields = form_pairs(&notice.body);
        assert!(verify_notice(&fields, &["shop"], secret), "{fields:?}");
        for (name, value) in [
            ("payOrderId", pay_order_id.as_str()), ("mchNo", key.key_id.as_str()), ("appId", app_id(&key)),
            ("mchOrderNo", no), ("ifCode", "wxpay"), ("wayCode", "WX_NATIVE"), ("amount", "2990"),
            ("currency", "cny"), ("state", "2"), ("clientIp", "203.0.113.7"), ("subject", "VIP月卡"),
            ("body", "一个月的会员"), ("extParam", "user=42&plan=month"), ("shop", "7"),
        ] {
            assert_eq!(field(&fields, name), Some(value), "{name} in {fields:?}");
        }
        assert!(field(&fields, "successTime").is_some_and(|t| t.parse::<i64>().is_ok()), "{fields:?}");
        assert!(field(&fields, "channelOrderNo").is_some(), "{fields:?}");
        let delivered = "SELECT COUNT(*) FROM notification_events WHERE status = 'delivered'";
        eventually(Duration::from_secs(10), "the notice recorded as acknowledged", || async {
            (app.db.count(delivered).await == 1).then_some(())
        })
        .await;

        // Queried by either number, as JSON or as a form.
        let by_id = post_form(&app, "/api/pay/query", &signed(&key, &[("payOrderId", pay_order_id.as_str())])).await;
        let by_no = post_json(&app, "/api/pay/query", &signed(&key, &[("mchOrderNo", no)])).await;
        for answer in [&by_id, &by_no] {
            let data = assert_ok(answer, &key);
            assert_eq!((data["state"].as_i64(), data["amount"].as_i64()), (Some(2), Some(2990)), "{data}");
            assert_eq!(data["payOrderId"].as_str(), Some(pay_order_id.as_str()));
            assert_eq!(data["extParam"].as_str(), Some("user=42&plan=month"));
        }

        // Refunded in part, never past what was paid; the same refund asked again is the same one.
        let refund = |no_: &'static str, amount: &'static str| {
            signed(&key, &[("payOrderId", pay_order_id.as_str()), ("mchRefundNo", no_), ("refundAmount", amount), ("currency", "cny"), ("refundReason", "不想要了")])
        };
        let first = post_json(&app, "/api/refund/refundOrder", &refund("jeepay_refund_01", "1000")).await;
        let data = assert_ok(&first, &key);
        assert_eq!((data["payAmount"].as_i64(), data["refundAmount"].as_i64()), (Some(2990), Some(1000)), "{data}");
        assert!(matches!(data["state"].as_i64(), Some(1 | 2)), "{data}");
        let refund_order_id = data["refundOrderId"].as_str().unwrap().to_owned();
        let repeated = post_json(&app, "/api/refund/refundOrder", &refund("jeepay_refund_01", "1000")).await;
        assert_eq!(assert_ok(&repeated, &key)["refundOrderId"].as_str(), Some(refund_order_id.as_str()));
        let too_much = post_json(&app, "/api/refund/refundOrder", &refund("jeepay_refund_02", "2000")).await;
        assert_refused(&too_much, 9999, "申请金额超出订单可退款余额，请检查退款金额");
        let reused = post_json(&app, "/api/refund/refundOrder", &refund("jeepay_refund_01", "500")).await;
        assert_refused(&reused, 9999, "商户退款订单号[jeepay_refund_01]已存在");

        for by in [("mchRefundNo", "jeepay_refund_01"), ("refundOrderId", refund_order_id.as_str())] {
            let found = post_form(&app, "/api/refund/query", &signed(&key, &[by])).await;
            let data = assert_ok(&found, &key);
            assert_eq!(data["refundOrderId"].as_str(), Some(refund_order_id.as_str()), "{data}");
            assert_eq!(data["payOrderId"].as_str(), Some(pay_order_id.as_str()));
            assert_eq!((data["refundAmount"].as_i64(), data["currency"].as_str()), (Some(1000), Some("cny")));
        }
    }

    async fn the_cashier_and_page_ways_give_a_page_to_open_and_an_open_order_closes(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Jeepay).await;
        let notify = "https://shop.example/jeepay/notify";

        let cashier = post_form(&app, "/api/pay/unifiedOrder", &signed(&key, &order_fields("jeepay_cashier_01", "QR_CASHIER", "100", notify))).await;
        let data = assert_ok(&cashier, &key);
        assert_eq!((data["orderState"].as_i64(), data["payDataType"].as_str()), (Some(0), Some("payurl")), "{data}");
        let page = data["payData"].as_str().unwrap();
        assert!(page.starts_with(&format!("{}/checkout/", app.public_url)), "{page}");
        assert!(app.stored(&app.site, "jeepay_cashier_01").await.neutral);
        let query = post_json(&app, "/api/pay/query", &signed(&key, &[("mchOrderNo", "jeepay_cashier_01")])).await;
        let data = assert_ok(&query, &key);
        assert_eq!((data["state"].as_i64(), data["wayCode"].as_str()), (Some(0), Some("QR_CASHIER")), "{data}");
        assert!(data.get("ifCode").is_none(), "no channel until the payer picks one: {data}");

        // Closed: `data` is empty and signed over the key alone.
        let closed = post_json(&app, "/api/pay/close", &signed(&key, &[("mchOrderNo", "jeepay_cashier_01")])).await;
        assert_eq!(assert_ok(&closed, &key), &serde_json::json!({}));
        let query = post_json(&app, "/api/pay/query", &signed(&key, &[("mchOrderNo", "jeepay_cashier_01")])).await;
        assert_eq!(assert_ok(&query, &key)["state"].as_i64(), Some(6));

        let pc = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &order_fields("jeepay_alipc_0001", "ALI_PC", "100", notify))).await;
        let data = assert_ok(&pc, &key);
        assert_eq!(data["payDataType"].as_str(), Some("payurl"), "{data}");
        assert!(data["payData"].as_str().unwrap().starts_with("http"), "{data}");
        let qr = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &order_fields("jeepay_aliqr_0001", "ALI_QR", "100", notify))).await;
        assert_eq!(assert_ok(&qr, &key)["payDataType"].as_str(), Some("codeUrl"));

        // In WeChat: the JSAPI parameters, with WeChat's own names, for the payer's openid.
        let jsapi = with(order_fields("jeepay_wxjsapi_01", "WX_JSAPI", "100", notify), "channelExtra", r#"{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}"#);
        let answer = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &jsapi)).await;
        let data = assert_ok(&answer, &key);
        assert_eq!(data["payDataType"].as_str(), Some("wxapp"), "{data}");
        let invoke: Value = serde_json::from_str(data["payData"].as_str().unwrap()).unwrap();
        assert!(invoke["package"].as_str().unwrap().starts_with("prepay_id="), "{invoke}");
        assert!(invoke["paySign"].is_string() && invoke["appId"].is_string(), "{invoke}");
    }

    async fn every_mistake_gets_jeepays_own_answer_and_never_a_server_error(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Jeepay).await;
        let notify = "https://shop.example/jeepay/notify";
        let no = "jeepay_mistakes_01";
        let good = order_fields(no, "WX_NATIVE", "2990", notify);

        let forged = jeepay_client::signed(&key.key_id, app_id(&key), "not-the-secret", &good);
        assert_refused(&post_json(&app, "/api/pay/unifiedOrder", &forged).await, 9999, "验签失败");
        let mut changed = signed(&key, &good);
        changed.iter_mut().filter(|(k, _)| k == "amount").for_each(|(_, v)| *v = "1".to_owned());
        assert_refused(&post_json(&app, "/api/pay/unifiedOrder", &changed).await, 9999, "验签失败");

        for (fields, code, msg) in [
            (with(good.clone(), "amount", "0"), 9999, "支付金额不能为空"),
            (with(good.clone(), "amount", "-100"), 9999, "支付金额不能为空"),
            (with(good.clone(), "amount", "29.90"), 11, "参数有误[amount]"),
            (with(good.clone(), "amount", "99999999999"), 9999, "支付金额超出上限"),
            (without(good.clone(), "subject"), 9999, "商品标题不能为空"),
            (without(good.clone(), "mchOrderNo"), 9999, "商户订单号不能为空"),
            (without(good.clone(), "currency"), 9999, "货币代码不能为空"),
            (with(good.clone(), "wayCode", "WX_BAR"), 9999, "不支持的支付方式"),
            (with(good.clone(), "mchOrderNo", "no spaces!"), 9999, "商户订单号格式不正确：须为6到64位字母、数字、_或-"),
            (with(good.clone(), "notifyUrl", "ftp://shop.example/n"), 9999, "异步通知地址协议仅支持http:// 或 https:// !"),
            (without(with(good.clone(), "wayCode", "WX_H5"), "clientIp"), 9999, "WX_H5 支付需要用户的IP地址(clientIp)"),
            (with(good.clone(), "wayCode", "WX_LITE"), 9999, "openid不能为空"),
        ] {
            let answer = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &fields)).await;
            assert_refused(&answer, code, msg);
        }
        // Nothing was made of them.
        let orders = "SELECT COUNT(*) FROM orders";
        assert_eq!(app.db.count(orders).await, 0);

        // A number used again with other content is refused; with the same, it is the same order.
        let first = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &good)).await;
        assert_ok(&first, &key);
        let other = with(good.clone(), "amount", "3000");
        let reused = post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &other)).await;
        assert_refused(&reused, 9999, "商户订单[jeepay_mistakes_01]已存在");
        let other_body = with(good.clone(), "body", "另一个描述");
        let reused = post_form(&app, "/api/pay/unifiedOrder", &signed(&key, &other_body)).await;
        assert_refused(&reused, 9999, "商户订单[jeepay_mistakes_01]已存在");

        // Bodies that are not parameters at all.
        let url = format!("{}/api/pay/unifiedOrder", app.base);
        let r = browser().post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_refused(&answer_of(r).await, 11, "参数有误[转换异常]");
        let r = browser().post(&url).send().await.unwrap();
        assert_refused(&answer_of(r).await, 9999, "版本号不能为空");
        let neither = post_json(&app, "/api/pay/query", &signed(&key, &[])).await;
        assert_refused(&neither, 9999, "mchOrderNo 和 payOrderId不能同时为空");
        let unknown = post_json(&app, "/api/pay/query", &signed(&key, &[("payOrderId", "2024013000000000042")])).await;
        assert_refused(&unknown, 9999, "订单不存在");
        let unpaid = post_json(&app, "/api/refund/refundOrder", &signed(&key, &[("mchOrderNo", no), ("mchRefundNo", "r_unpaid_1"), ("refundAmount", "1"), ("currency", "cny"), ("refundReason", "test")])).await;
        assert_refused(&unpaid, 9999, "订单状态不正确， 无法完成退款");
    }

    async fn a_site_without_jeepay_is_refused_and_one_sites_keys_cannot_act_on_another(app: TestApp) {
        let own = enable(&app, &app.site, Protocol::Jeepay).await;
        let notify = "https://shop.example/jeepay/notify";
        let no = "jeepay_owned_0001";
        let created = post_json(&app, "/api/pay/unifiedOrder", &signed(&own, &order_fields(no, "WX_NATIVE", "100", notify))).await;
        let pay_order_id = assert_ok(&created, &own)["payOrderId"].as_str().unwrap().to_owned();

        // A site that never turned Jeepay on has no mchNo: nothing it could sign is taken.
        let plain = app.another_site("plain").await;
        assert!(app.db.store.compat_key_of_site(&plain.id, Protocol::Jeepay).await.unwrap().is_none());
        let nobody = jeepay_client::signed("M0000000000", "0123456789abcdef01234567", "guess", &[("mchOrderNo", no)]);
        assert_refused(&post_json(&app, "/api/pay/query", &nobody).await, 9999, "商户不存在或商户状态不可用");

        let stranger = app.another_site("stranger").await;
        let theirs = enable(&app, &stranger, Protocol::Jeepay).await;
        // Another site's keys find nothing of this site's orders, by either number.
        for by in [("mchOrderNo", no), ("payOrderId", pay_order_id.as_str())] {
            for path in ["/api/pay/query", "/api/pay/close"] {
                assert_refused(&post_json(&app, path, &signed(&theirs, &[by])).await, 9999, "订单不存在");
            }
            let refund = [by, ("mchRefundNo", "r_stranger_1"), ("refundAmount", "1"), ("currency", "cny"), ("refundReason", "test")];
            assert_refused(&post_json(&app, "/api/refund/refundOrder", &signed(&theirs, &refund)).await, 9999, "订单不存在");
        }
        // The same number is theirs to use for an order of their own.
        let their_order = post_json(&app, "/api/pay/unifiedOrder", &signed(&theirs, &order_fields(no, "WX_NATIVE", "100", notify))).await;
        assert_ne!(assert_ok(&their_order, &theirs)["payOrderId"].as_str(), Some(pay_order_id.as_str()));
        // This site's mchNo with the other's appId, or with the other's secret, is refused.
        let mixed_app = jeepay_client::signed(&own.key_id, app_id(&theirs), own.secret.expose(), &[("mchOrderNo", no)]);
        assert_refused(&post_json(&app, "/api/pay/query", &mixed_app).await, 9999, "商户不存在或商户状态不可用");
        let mixed_secret = jeepay_client::signed(&own.key_id, app_id(&own), theirs.secret.expose(), &[("mchOrderNo", no)]);
        assert_refused(&post_json(&app, "/api/pay/query", &mixed_secret).await, 9999, "验签失败");
        // Still this site's, unchanged.
        assert_eq!(app.stored(&app.site, no).await.amount.as_i64(), 100);

        // Turned off, the site's own mchNo is gone.
        let by = gateway::domain::ActedBy::from(gateway::domain::Actor::Cli);
        let keys = gateway::service::CompatKeyService::new(app.db.store.clone());
        assert!(keys.disable(&app.site.id, Protocol::Jeepay, &by).await.unwrap());
        assert_refused(&post_json(&app, "/api/pay/query", &signed(&own, &[("mchOrderNo", no)])).await, 9999, "商户不存在或商户状态不可用");
    }

    async fn an_order_that_named_no_notify_url_is_not_announced_at_the_sites_own(app: TestApp) {
        let key = enable(&app, &app.site, Protocol::Jeepay).await;
        let receiver = Receiver::start(vec![]);
        // The site's own notify URL takes paygate's format, not Jeepay's.
        let update = gateway::store::SiteUpdate {
            notify_url: Some(Some(gateway::domain::NotifyUrl::parse(&receiver.url("/v1-notify")).unwrap())),
            ..gateway::store::SiteUpdate::default()
        };
        let audit = gateway::domain::AuditEntry::new(gateway::domain::Timestamp::now(), gateway::domain::Actor::Cli, gateway::domain::AuditAction::SiteUpdate);
        app.db.store.update_site(&app.site.id, &update, gateway::domain::Timestamp::now(), &audit).await.unwrap();
        let _workers = Delivering::start(&app);
        let no = "jeepay_silent_0001";
        let fields = without(order_fields(no, "WX_NATIVE", "100", ""), "notifyUrl");
        assert_ok(&post_json(&app, "/api/pay/unifiedOrder", &signed(&key, &fields)).await, &key);
        app.sim_wechat_pay(&app.site, no).await;
        let settled = "SELECT COUNT(*) FROM notification_events WHERE status = 'delivered'";
        test_support::wait::eventually(Duration::from_secs(30), "the payment's event settled", || async {
            (app.db.count(settled).await == 1).then_some(())
        })
        .await;
        let not_sent = "SELECT COUNT(*) FROM delivery_attempts WHERE error = 'not sent: the order named no notify URL'";
        assert_eq!(app.db.count(not_sent).await, 1);
        assert!(receiver.seen().is_empty(), "{:?}", receiver.seen());
    }
}
