//! WeChat Pay: Native, JSAPI, mini-program, H5, App.

use gateway::channels::{PayParams, UpstreamStatus};
use gateway::domain::Order;

use crate::support::{Env, closes, env, pays_through_the_simulator};

/// A paid order cannot be closed: WeChat Pay refuses with ORDERPAID.
async fn refuses_to_close_once_paid(env: &Env, order: &Order) {
    let err = env.channels.close(order).await.unwrap_err();
    assert_eq!(err.upstream_code(), Some("ORDERPAID"), "{err}");
    assert!(!err.is_outcome_unknown());
}

#[tokio::test]
async fn native_gives_a_code_url_that_pays() {
    let env = env().await;
    let order = env.pending("wechat.native").await;
    let code_url = order.upstream.code_url.clone().unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    assert_eq!(
        env.channels.pay_params(&order).unwrap(),
        PayParams::WechatNative {
            code_url: code_url.clone()
        }
    );
    let json = serde_json::to_value(env.channels.pay_params(&order).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "wechat_native", "code_url": code_url})
    );
    pays_through_the_simulator(&env, &order).await;
    refuses_to_close_once_paid(&env, &order).await;
}

#[tokio::test]
async fn jsapi_pay_sign_verifies_with_the_merchant_key() {
    let env = env().await;
    let order = env.pending("wechat.jsapi").await;
    let prepay_id = order.upstream.prepay_id.clone().unwrap();
    let PayParams::WechatJsapi(p) = env.channels.pay_params(&order).unwrap() else {
        panic!("not JSAPI params");
    };
    assert_eq!(p.app_id, env.keys.wechat_appids.mp);
    assert_eq!(p.package, format!("prepay_id={prepay_id}"));
    assert_eq!(p.sign_type, "RSA");
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        p.app_id, p.time_stamp, p.nonce_str, p.package
    );
    env.wechat_merchant_public_key()
        .verify_base64(message.as_bytes(), &p.pay_sign)
        .unwrap();
    let json = serde_json::to_value(PayParams::WechatJsapi(p)).unwrap();
    assert_eq!(json["type"], "wechat_jsapi");
    for k in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(json[k].is_string(), "{k} in {json}");
    }
    closes(&env, &order).await;
}

#[tokio::test]
async fn miniapp_pays_under_the_miniapp_appid() {
    let env = env().await;
    let order = env.pending("wechat.miniapp").await;
    let PayParams::WechatMiniapp(p) = env.channels.pay_params(&order).unwrap() else {
        panic!("not mini-program params");
    };
    assert_eq!(Some(&p.app_id), env.keys.wechat_appids.miniapp.as_ref());
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        p.app_id, p.time_stamp, p.nonce_str, p.package
    );
    env.wechat_merchant_public_key()
        .verify_base64(message.as_bytes(), &p.pay_sign)
        .unwrap();
    // Signed afresh each time: a new nonce, the same prepay.
    let PayParams::WechatMiniapp(again) = env.channels.pay_params(&order).unwrap() else {
        panic!("not mini-program params");
    };
    assert_eq!(again.package, p.package);
    assert_ne!(again.nonce_str, p.nonce_str);
    pays_through_the_simulator(&env, &order).await;
    refuses_to_close_once_paid(&env, &order).await;
}

#[tokio::test]
async fn h5_gives_an_h5_url_that_pays() {
    let env = env().await;
    let order = env.pending("wechat.h5").await;
    let h5_url = order.upstream.h5_url.clone().unwrap();
    // The simulator serves the H5 pay page at WeChat's path, on its own host.
    assert!(
        h5_url.contains("/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="),
        "{h5_url}"
    );
    assert_eq!(
        env.channels.pay_params(&order).unwrap(),
        PayParams::WechatH5 { h5_url }
    );
    pays_through_the_simulator(&env, &order).await;
    closes_nothing_after_pay(&env, &order).await;
}

async fn closes_nothing_after_pay(env: &Env, order: &Order) {
    refuses_to_close_once_paid(env, order).await;
    assert!(env.channels.query(order).await.unwrap().was_paid());
}

#[tokio::test]
async fn app_sign_verifies_with_the_merchant_key() {
    let env = env().await;
    let order = env.pending("wechat.app").await;
    let prepay_id = order.upstream.prepay_id.clone().unwrap();
    let PayParams::WechatApp(p) = env.channels.pay_params(&order).unwrap() else {
        panic!("not App params");
    };
    assert_eq!(Some(&p.appid), env.keys.wechat_appids.app.as_ref());
    assert_eq!(p.partnerid, env.keys.wechat_mchid);
    assert_eq!(p.prepayid, prepay_id);
    assert_eq!(p.package, "Sign=WXPay");
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        p.appid, p.timestamp, p.noncestr, p.prepayid
    );
    env.wechat_merchant_public_key()
        .verify_base64(message.as_bytes(), &p.sign)
        .unwrap();
    let json = serde_json::to_value(PayParams::WechatApp(p)).unwrap();
    assert_eq!(json["type"], "wechat_app");
    for k in [
        "appid",
        "partnerid",
        "prepayid",
        "package",
        "noncestr",
        "timestamp",
        "sign",
    ] {
        assert!(json[k].is_string(), "{k} in {json}");
    }
    closes(&env, &order).await;
}

/// Crash recovery: the first answer is lost, the order is read back from storage and created
/// again. WeChat Pay sees the same content and answers with the same order.
#[tokio::test]
async fn a_retried_create_gets_the_same_order_and_no_second_one() {
    let env = env().await;
    for method in [
        "wechat.native",
        "wechat.jsapi",
        "wechat.miniapp",
        "wechat.h5",
        "wechat.app",
    ] {
        let order = env.order(method).await;
        let first = env.channels.create(&order).await.unwrap();
        let reread = env.reload(&order).await;
        let second = env.channels.create(&reread).await.unwrap();
        // The same upstream order; an H5 one comes with a fresh link to it (WeChat's links last
        // five minutes, so a repeated create answers a new one for the same prepay).
        let prepay = |f: &gateway::domain::UpstreamFields| {
            f.h5_url
                .as_deref()
                .map(|u| u.split("&package=").next().unwrap_or(u).to_owned())
        };
        assert_eq!(
            (&first.prepay_id, &first.code_url, prepay(&first)),
            (&second.prepay_id, &second.code_url, prepay(&second)),
            "{method}"
        );
        assert!(first.code_url.is_some() || first.prepay_id.is_some() || first.h5_url.is_some());
    }
    assert_eq!(
        env.sim_orders().0,
        5,
        "one simulator order per paygate order"
    );
}

#[tokio::test]
async fn querying_an_order_never_created_upstream_is_not_found() {
    let env = env().await;
    let order = env.order("wechat.native").await;
    assert_eq!(
        env.channels.query(&order).await.unwrap(),
        UpstreamStatus::NotFound
    );
    let err = env.channels.close(&order).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
