//! weidoufu: a mini-program order is paid, told and queried; QR codes and phone browsers on both
//! channels get what they pay with; every mistake gets weidoufu's own answer; a site without
//! weidoufu, or another site's key, gets nothing.

use std::time::Duration;

use gateway::domain::{
    ActedBy, Actor, Channel, CompatKey, Method, OrderStatus, PayMethod, Protocol, ReceiverAccount,
    ReceiverName, ReceiverType, Site, SiteReceiver, compat_trade_no,
};
use serde_json::{Value, json};
use test_support::receiver::Receiver;
use test_support::wait::eventually;

use super::harness::{Delivering, browser, enable};
use super::weidoufu_client::{self, NoticeContent};
use crate::api_tests;
use crate::support::app::{TestApp, sandbox_keys};

const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// A mini-program request as seed 001 documents it, WeChat unless `pay_type` is changed.
fn miniapp_request<'a>(
    key: &'a CompatKey,
    no: &'a str,
    notify_url: &'a str,
) -> Vec<(&'a str, Value)> {
    vec![
        ("access_key", key.key_id.as_str().into()),
        ("body", "QQ 会员充值".into()),
        ("out_order_no", no.into()),
        ("pay_type", 1.into()),
        ("total_fee", 100.into()),
        ("openid", OPENID.into()),
        ("notify_url", notify_url.into()),
        ("attach", "{test:'test1_params'} \"引号\"".into()),
        ("ledger", r#"[{"amount":30,"sub_mch_no":"M001"}]"#.into()),
    ]
}

/// weidoufu turned on for `site`, with the ledger receiver of [`miniapp_request`] set up by the
/// operator on both channels (an order may name only receivers the operator set up).
pub(super) async fn enable_weidoufu(app: &TestApp, site: &Site) -> CompatKey {
    let by = ActedBy::from(Actor::Cli);
    let sites = gateway::service::SiteService::new(app.db.store.clone());
    for kind in [ReceiverType::WechatMerchant, ReceiverType::AlipayUserId] {
        let receiver = SiteReceiver {
            kind,
            account: ReceiverAccount::parse("M001").unwrap(),
            name: ReceiverName::parse("示例分账商户").unwrap(),
        };
        assert!(sites.put_receiver(&site.id, &receiver, &by).await.unwrap());
    }
    enable(app, site, Protocol::Weidoufu).await
}

fn changed<'a>(request: &[(&'a str, Value)], name: &'a str, value: Value) -> Vec<(&'a str, Value)> {
    let mut out: Vec<_> = request
        .iter()
        .filter(|(k, _)| *k != name)
        .cloned()
        .collect();
    if !value.is_null() {
        out.push((name, value));
    }
    out
}

pub(super) async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let r = browser()
        .post(format!("{}{path}", app.base))
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(r).await
}

pub(super) async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

pub(super) async fn pay(
    app: &TestApp,
    path: &str,
    request: &[(&str, Value)],
    key: &CompatKey,
) -> (u16, Value) {
    post(
        app,
        path,
        &weidoufu_client::signed_body(request, key.secret.expose()),
    )
    .await
}

/// `GET /pay/query` by one number, signed with `key`.
async fn query(app: &TestApp, key: &CompatKey, by: (&str, &str)) -> (u16, Value) {
    let fields = [
        ("access_key", Value::from(key.key_id.as_str())),
        (by.0, Value::from(by.1)),
    ];
    let sign = weidoufu_client::sign(&fields, key.secret.expose());
    let q = [
        ("access_key", key.key_id.as_str()),
        by,
        ("sign", sign.as_str()),
    ];
    json_of(
        browser()
            .get(format!("{}/pay/query", app.base))
            .query(&q)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Waits for the order's notification and checks it as the client does.
async fn notice_of(receiver: &Receiver, key: &CompatKey) -> NoticeContent {
    let seen = receiver.wait_for(1, Duration::from_secs(60)).await;
    let notice = &seen[0];
    assert_eq!(notice.method, "POST", "weidoufu notifies by POST");
    assert!(
        notice
            .header("content-type")
            .starts_with("application/json")
    );
    weidoufu_client::verify_notice(&notice.body, key.secret.expose()).unwrap_or_else(|| {
        panic!(
            "the sign does not hold: {}",
            String::from_utf8_lossy(&notice.body)
        )
    })
}

async fn alipay_pay(app: &TestApp, site: &Site, no: &str) {
    let order = app.stored(site, no).await;
    let url = format!(
        "{}/sim/alipay/trades/{}/pay?app_id={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        sandbox_keys().alipay_app_id
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

pub(super) fn assert_refused(status: u16, answer: &Value, expected_status: u16, message: &str) {
    assert_eq!(
        (status, answer["code"].as_i64()),
        (expected_status, Some(0)),
        "{answer}"
    );
    assert_eq!(answer["message"].as_str(), Some(message), "{answer}");
}

api_tests! {
    async fn a_mini_program_client_pays_is_told_and_queries(app: TestApp) {
        let key = enable_weidoufu(&app, &app.site).await;
        let receiver = Receiver::start(vec![]);
        let _workers = Delivering::start(&app);
        let notify_url = receiver.url("/api/Pay/OrderNotify");
        let no = "202405010000000001";
        let request = miniapp_request(&key, no, &notify_url);

        let (status, answer) = pay(&app, "/pay/miniapp", &request, &key).await;
        assert_eq!((status, answer["code"].as_i64(), answer["message"].as_str()), (200, Some(1), Some("成功")), "{answer}");
        let order = app.stored(&app.site, no).await;
        let mch_trade_no = compat_trade_no(order.id, order.created_at);
        let data = &answer["data"];
        assert_eq!(data["mch_trade_no"].as_str(), Some(mch_trade_no.as_str()));
        assert_eq!(data["out_order_no"].as_str(), Some(no));
        let jsapi = &data["jsapi"];
        assert!(jsapi["package"].as_str().unwrap().starts_with("prepay_id="), "{jsapi}");
        for field in ["app_id", "timestamp", "nonce_str", "sign_type", "pay_sign"] {
            assert!(!jsapi[field].as_str().unwrap_or_default().is_empty(), "{field} in {jsapi}");
        }
        assert_eq!(order.pay_method, PayMethod::new(Channel::Wechat, Method::Miniapp).unwrap());
        assert_eq!(order.payer.openid.as_ref().map(|o| o.as_str()), Some(OPENID));
        assert_eq!(order.amount.as_i64(), 100);
        // The ledger is kept with the order for later profit sharing; nothing is split.
        let origin = order.origin.as_ref().unwrap();
        assert_eq!(origin.get("ledger"), Some(r#"[{"amount":30,"sub_mch_no":"M001"}]"#));

        // The same request again is the same order.
        let (_, again) = pay(&app, "/pay/miniapp", &request, &key).await;
        assert_eq!(again["data"]["mch_trade_no"], data["mch_trade_no"], "{again}");
        let (status, before) = query(&app, &key, ("out_order_no", no)).await;
        assert_eq!((status, before["data"]["status"].as_i64(), before["data"]["notify"].as_i64()), (200, Some(1), Some(1)), "{before}");

        app.sim_wechat_pay(&app.site, no).await;
        let content = notice_of(&receiver, &key).await;
        assert_eq!(content.mch_trade_no, mch_trade_no);
        assert_eq!(content.out_order_no, no);
        assert_eq!((content.total_fee, content.status, content.pay_type, content.trade_type), (100, 2, 1, 9));
        assert_eq!(content.attach, "{test:'test1_params'} \"引号\"");
        let paid = app.stored(&app.site, no).await;
        assert_eq!(Some(content.transaction_id.as_str()), paid.upstream.transaction_id.as_deref());
        assert_eq!(content.pay_time, paid.paid_at.unwrap().to_china_time());
        let delivered = "SELECT COUNT(*) FROM notification_events WHERE status = 'delivered'";
        eventually(Duration::from_secs(10), "the notice recorded as acknowledged", || async {
            (app.db.count(delivered).await == 1).then_some(())
        })
        .await;

        for by in [("out_order_no", no), ("mch_trade_no", mch_trade_no.as_str())] {
            let (status, q) = query(&app, &key, by).await;
            assert_eq!((status, q["code"].as_i64(), q["status"].as_str()), (200, Some(1), Some("success")), "{q}");
            assert_eq!((q["data"]["status"].as_i64(), q["data"]["notify"].as_i64()), (Some(2), Some(2)), "{q}");
            assert_eq!(q["data"]["out_order_no"].as_str(), Some(no));
            assert_eq!(q["data"]["mch_trade_no"].as_str(), Some(mch_trade_no.as_str()));
        }
        // Paid, it is not offered again.
        let (status, paid_again) = pay(&app, "/pay/miniapp", &request, &key).await;
        assert_refused(status, &paid_again, 400, "订单已支付，请勿重复发起支付");
        assert_eq!(paid_again["data"]["jsapi"], "");
    }

    async fn qr_codes_phone_browsers_and_alipay_get_what_they_pay_with(app: TestApp) {
        let key = enable_weidoufu(&app, &app.site).await;
        let receiver = Receiver::start(vec![]);
        let _workers = Delivering::start(&app);
        let notify_url = receiver.url("/notify");
        let base = |no| changed(&miniapp_request(&key, no, &notify_url), "openid", Value::Null);

        let (_, wechat_qr) = pay(&app, "/pay/native", &base("202405010000000011"), &key).await;
        assert_eq!((wechat_qr["code"].as_i64(), wechat_qr["status"].as_str()), (Some(1), Some("success")), "{wechat_qr}");
        assert!(wechat_qr["data"]["code_url"].as_str().unwrap().starts_with("weixin://"), "{wechat_qr}");

        let alipay_no = "202405010000000012";
        let alipay = changed(&base(alipay_no), "pay_type", 2.into());
        let (_, alipay_qr) = pay(&app, "/weidoufu/pay/native", &alipay, &key).await;
        assert_eq!(alipay_qr["code"].as_i64(), Some(1), "{alipay_qr}");
        assert!(!alipay_qr["data"]["code_url"].as_str().unwrap().is_empty(), "{alipay_qr}");
        let order = app.stored(&app.site, alipay_no).await;
        assert_eq!(order.pay_method, PayMethod::new(Channel::Alipay, Method::Qr).unwrap());
        alipay_pay(&app, &app.site, alipay_no).await;
        let content = notice_of(&receiver, &key).await;
        assert_eq!((content.out_order_no.as_str(), content.pay_type, content.trade_type), (alipay_no, 2, 2));
        assert_eq!(app.stored_status(&app.site, alipay_no).await, OrderStatus::Paid);

        // A phone browser: Alipay's page; WeChat's H5 with the payer's address, else the checkout.
        let (_, wap) = pay(&app, "/pay/mobile", &changed(&base("202405010000000013"), "pay_type", 2.into()), &key).await;
        assert_eq!(wap["code"].as_i64(), Some(1), "{wap}");
        assert!(wap["data"]["todo_url"].as_str().unwrap().starts_with(&app.sim.base_url), "{wap}");
        let with_ip = changed(&base("202405010000000014"), "client_ip", "203.0.113.7".into());
        let (_, h5) = pay(&app, "/pay/mobile", &with_ip, &key).await;
        assert_eq!(h5["code"].as_i64(), Some(1), "{h5}");
        let h5_order = app.stored(&app.site, "202405010000000014").await;
        assert_eq!(h5_order.pay_method, PayMethod::new(Channel::Wechat, Method::H5).unwrap());
        assert_eq!(h5["data"]["todo_url"].as_str(), h5_order.upstream.h5_url.as_deref());
        let (_, checkout) = pay(&app, "/pay/mobile", &base("202405010000000015"), &key).await;
        assert!(checkout["data"]["todo_url"].as_str().unwrap().contains("ck_"), "{checkout}");
        assert!(app.stored(&app.site, "202405010000000015").await.neutral);

        // An Alipay mini-program pays by its buyer.
        let buyer = changed(&changed(&base("202405010000000016"), "pay_type", 2.into()), "buyer_id", "2088102146225135".into());
        let (_, mini) = pay(&app, "/pay/miniapp", &buyer, &key).await;
        assert!(!mini["data"]["jsapi"]["trade_no"].as_str().unwrap_or_default().is_empty(), "{mini}");
    }

    async fn every_mistake_gets_weidoufus_own_answer_and_never_a_server_error(app: TestApp) {
        let key = enable_weidoufu(&app, &app.site).await;
        let secret = key.secret.expose();
        let request = miniapp_request(&key, "202405010000000021", "https://shop.example/notify");

        // Signed with another key, or changed after signing.
        let forged = weidoufu_client::signed_body(&request, "not-the-key");
        let (status, answer) = post(&app, "/pay/miniapp", &forged).await;
        assert_refused(status, &answer, 401, "签名错误");
        assert_eq!(answer["data"]["jsapi"], "", "{answer}");
        assert_eq!(answer["data"]["out_order_no"], "202405010000000021");
        let mut tampered = weidoufu_client::signed_body(&request, secret);
        tampered["total_fee"] = 1.into();
        let (status, answer) = post(&app, "/pay/miniapp", &tampered).await;
        assert_refused(status, &answer, 401, "签名错误");
        let mut unsigned = weidoufu_client::signed_body(&request, secret);
        unsigned.as_object_mut().unwrap().remove("sign");
        let (status, answer) = post(&app, "/pay/native", &unsigned).await;
        assert_refused(status, &answer, 401, "缺少签名 sign");
        assert_eq!(answer["status"], "fail");

        let bad_fee = "金额 total_fee 应为 1 到 999999999 之间的整数（单位：分）";
        for (name, value, message) in [
            ("total_fee", json!(0), bad_fee),
            ("total_fee", json!(-1), bad_fee),
            ("total_fee", json!(1.5), bad_fee),
            ("total_fee", json!("1.00"), bad_fee),
            ("total_fee", json!(1_000_000_000), bad_fee),
            ("total_fee", Value::Null, "缺少参数 total_fee"),
            ("body", Value::Null, "缺少参数 body"),
            ("notify_url", Value::Null, "缺少参数 notify_url"),
            ("pay_type", Value::Null, "缺少参数 pay_type"),
            ("openid", Value::Null, "pay_type 为 1（微信）时 openid 必传"),
            ("out_order_no", json!("12345"), "商户订单号 out_order_no 应为 18 到 32 位字母或数字"),
            ("pay_type", json!(3), "支付类型 pay_type 应为 1（微信）或 2（支付宝）"),
            ("ledger", json!(r#"[{"amount":101,"sub_mch_no":"M001"}]"#), "分账金额合计超过订单金额"),
        ] {
            let (status, answer) = pay(&app, "/pay/miniapp", &changed(&request, name, value.clone()), &key).await;
            assert_refused(status, &answer, 400, message);
            assert_eq!(answer["data"]["jsapi"], "", "{name}={value}: {answer}");
        }
        let alipay_without_buyer = changed(&request, "pay_type", 2.into());
        let (status, answer) = pay(&app, "/pay/miniapp", &alipay_without_buyer, &key).await;
        assert_refused(status, &answer, 400, "pay_type 为 2（支付宝）时 buyer_id 必传");
        let (status, answer) = pay(&app, "/pay/mobile", &changed(&request, "client_ip", "not-an-ip".into()), &key).await;
        assert_refused(status, &answer, 400, "用户 IP 地址 client_ip 格式不正确");

        // Not JSON at all, or a key nobody has.
        let r = browser().post(format!("{}/pay/miniapp", app.base)).body("access_key=x&sign=y").send().await.unwrap();
        let (status, answer) = json_of(r).await;
        assert_refused(status, &answer, 400, "请求体应为 JSON 对象");
        let nobody = changed(&request, "access_key", "nobody".into());
        let (status, answer) = pay(&app, "/pay/miniapp", &nobody, &key).await;
        assert_refused(status, &answer, 401, "应用密钥 access_key 不存在");

        // The same number with other content is refused; the first order stands.
        let (status, first) = pay(&app, "/pay/miniapp", &request, &key).await;
        assert_eq!((status, first["code"].as_i64()), (200, Some(1)), "{first}");
        for (name, value) in [("total_fee", json!(200)), ("ledger", json!("")), ("openid", json!("oOther"))] {
            let (status, answer) = pay(&app, "/pay/miniapp", &changed(&request, name, value), &key).await;
            assert_refused(status, &answer, 400, "商户订单号 202405010000000021 已用于内容不同的订单，请更换订单号");
        }
        let (_, through_native) = pay(&app, "/pay/native", &request, &key).await;
        assert_eq!(through_native["code"].as_i64(), Some(0), "{through_native}");
        assert_eq!(app.stored(&app.site, "202405010000000021").await.amount.as_i64(), 100);

        // A query for nothing, or unsigned.
        let (status, q) = query(&app, &key, ("out_order_no", "202405019999999999")).await;
        assert_refused(status, &q, 404, "订单不存在");
        let r = browser().get(format!("{}/pay/query?mch_trade_no=2024050100000000001", app.base)).send().await.unwrap();
        let (status, q) = json_of(r).await;
        assert_refused(status, &q, 400, "缺少参数 access_key");
    }

    async fn a_site_without_weidoufu_is_refused_and_one_sites_key_cannot_act_on_another(app: TestApp) {
        let own = enable_weidoufu(&app, &app.site).await;
        let no = "202405010000000031";
        let (_, created) = pay(&app, "/pay/native", &miniapp_request(&own, no, "https://shop.example/n"), &own).await;
        assert_eq!(created["code"].as_i64(), Some(1), "{created}");
        let mch_trade_no = created["data"]["mch_trade_no"].as_str().unwrap().to_owned();

        // A site that never turned weidoufu on has no access key: nothing it could sign is taken.
        let plain = app.another_site("plain").await;
        assert!(app.db.store.compat_key_of_site(&plain.id, Protocol::Weidoufu).await.unwrap().is_none());
        let as_plain = changed(&miniapp_request(&own, no, "https://shop.example/n"), "access_key", plain.access_key.as_str().into());
        let body = weidoufu_client::signed_body(&as_plain, plain.secret_key.expose());
        let (status, answer) = post(&app, "/pay/native", &body).await;
        assert_refused(status, &answer, 401, "应用密钥 access_key 不存在");

        // Another site's key reads nothing of this site's order, by either number.
        let stranger = app.another_site("stranger").await;
        let theirs = enable_weidoufu(&app, &stranger).await;
        for by in [("out_order_no", no), ("mch_trade_no", mch_trade_no.as_str())] {
            let (status, q) = query(&app, &theirs, by).await;
            assert_refused(status, &q, 404, "订单不存在");
        }
        // The same number under its own key is its own order, not this one.
        let (_, its_own) = pay(&app, "/pay/native", &miniapp_request(&theirs, no, "https://shop.example/n"), &theirs).await;
        assert_eq!(its_own["code"].as_i64(), Some(1), "{its_own}");
        assert_ne!(its_own["data"]["mch_trade_no"].as_str(), Some(mch_trade_no.as_str()));
        // This site's access key with the other site's secret is a bad sign.
        let crossed = weidoufu_client::signed_body(&miniapp_request(&own, no, "https://shop.example/n"), theirs.secret.expose());
        let (status, answer) = post(&app, "/pay/native", &crossed).await;
        assert_refused(status, &answer, 401, "签名错误");

        // Turned off, the site's own key is gone.
        let by = gateway::domain::ActedBy::from(gateway::domain::Actor::Cli);
        let keys = gateway::service::CompatKeyService::new(app.db.store.clone());
        assert!(keys.disable(&app.site.id, Protocol::Weidoufu, &by).await.unwrap());
        let (status, q) = query(&app, &own, ("out_order_no", no)).await;
        assert_refused(status, &q, 401, "应用密钥 access_key 不存在");
    }
}
