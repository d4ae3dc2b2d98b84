//! `/v1` orders for every channel and method, with the pay parameters of each.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{TestApp, sandbox_keys};

fn order(no: &str, channel: &str, method: &str) -> Value {
    let mut body = json!({"out_trade_no": no, "channel": channel, "method": method,
        "description": "VIP月卡", "amount_total": 2990, "attach": "a=1", "expire_minutes": 30});
    match (channel, method) {
        ("wechat", "jsapi" | "miniapp") => {
            body["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
        }
        ("wechat", "h5") => body["payer"] = json!({"client_ip": "203.0.113.7"}),
        ("alipay", "jsapi" | "miniapp") => body["payer"] = json!({"buyer_id": "2088102146225135"}),
        _ => {}
    }
    body
}

/// Checks a JSAPI / mini-program / App signature with the merchant's public key.
fn verify_wechat_signature(message: &str, signature: &str) {
    let key =
        channel_core::RsaPrivateKey::from_pem(&sandbox_keys().wechat_merchant_key_pem).unwrap();
    key.public_key()
        .unwrap()
        .verify_base64(message.as_bytes(), signature)
        .unwrap();
}

api_tests! {
    async fn every_channel_and_method_gets_its_pay_params(app: TestApp) {
        let cases = [
            ("wechat", "native", "wechat_native"),
            ("wechat", "jsapi", "wechat_jsapi"),
            ("wechat", "miniapp", "wechat_miniapp"),
            ("wechat", "h5", "wechat_h5"),
            ("wechat", "app", "wechat_app"),
            ("alipay", "qr", "alipay_qr"),
            ("alipay", "jsapi", "alipay_jsapi"),
            ("alipay", "miniapp", "alipay_miniapp"),
            ("alipay", "wap", "alipay_wap"),
            ("alipay", "page", "alipay_page"),
            ("alipay", "app", "alipay_app"),
        ];
        for (i, (channel, method, kind)) in cases.iter().enumerate() {
            let no = format!("order_v1_{i:02}_{method}");
            let r = app.create_order(&order(&no, channel, method)).await;
            let v = r.assert_ok();
            assert_eq!(v["out_trade_no"], no.as_str());
            assert_eq!((v["channel"].as_str(), v["method"].as_str()), (Some(*channel), Some(*method)));
            assert_eq!(v["status"], "pending", "{v}");
            assert_eq!(v["amount_total"], 2990);
            assert_eq!(v["currency"], "CNY");
            assert_eq!(v["attach"], "a=1");
            assert!(v["checkout_url"].as_str().unwrap().contains(&format!("/pay/{channel}/checkout?token=ck_")));
            let p = &v["pay_params"];
            assert_eq!(p["type"], *kind, "{v}");
            match *kind {
                "wechat_native" => assert!(p["code_url"].as_str().unwrap().starts_with("weixin://wxpay/bizpayurl?pr=")),
                "wechat_jsapi" | "wechat_miniapp" => {
                    assert!(p["package"].as_str().unwrap().starts_with("prepay_id="));
                    let message = format!("{}\n{}\n{}\n{}\n", p["appId"].as_str().unwrap(), p["timeStamp"].as_str().unwrap(),
                        p["nonceStr"].as_str().unwrap(), p["package"].as_str().unwrap());
                    verify_wechat_signature(&message, p["paySign"].as_str().unwrap());
                }
                "wechat_app" => {
                    let message = format!("{}\n{}\n{}\n{}\n", p["appid"].as_str().unwrap(), p["timestamp"].as_str().unwrap(),
                        p["noncestr"].as_str().unwrap(), p["prepayid"].as_str().unwrap());
                    verify_wechat_signature(&message, p["sign"].as_str().unwrap());
                }
                "wechat_h5" => assert!(p["h5_url"].as_str().unwrap().contains("/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="), "{p}"),
                "alipay_qr" => assert!(!p["qr_code"].as_str().unwrap().is_empty()),
                "alipay_jsapi" | "alipay_miniapp" => assert!(!p["trade_no"].as_str().unwrap().is_empty()),
                "alipay_wap" | "alipay_page" => assert!(p["url"].as_str().unwrap().contains("sign="), "{p}"),
                "alipay_app" => assert!(p["order_string"].as_str().unwrap().contains("sign="), "{p}"),
                other => panic!("unexpected {other}"),
            }
            let again = app.get_order(&no).await;
            assert_eq!(again.assert_ok()["pay_params"]["type"], *kind);
        }
    }

    async fn validation_errors_name_the_field(app: TestApp) {
        let cases = [
            (json!({"out_trade_no": "order_v1_bad", "channel": "weixin", "method": "native", "description": "x", "amount_total": 1}), 400, "invalid_channel", "channel"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "alipay", "method": "native", "description": "x", "amount_total": 1}), 400, "invalid_method", "method"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "native", "description": "x", "amount_total": 1, "attach": ""}), 400, "invalid_attach", "attach"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "native", "description": "x", "amount_total": 1, "notify_url": "ftp://x"}), 400, "invalid_notify_url", "notify_url"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "native", "description": "x", "amount_total": 1, "expire_minutes": 0}), 400, "invalid_expire_minutes", "expire_minutes"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "jsapi", "description": "x", "amount_total": 1}), 400, "missing_fields", "payer.openid"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "h5", "description": "x", "amount_total": 1}), 400, "missing_fields", "payer.client_ip"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "alipay", "method": "jsapi", "description": "x", "amount_total": 1}), 400, "missing_fields", "payer.buyer_id"),
            (json!({"out_trade_no": "order_v1_bad", "channel": "wechat", "method": "h5", "description": "x", "amount_total": 1, "payer": {"client_ip": "999.1.1.1"}}), 400, "invalid_field", "client_ip"),
            (json!({"out_trade_no": "order_v1_bad", "method": "native", "description": "x", "amount_total": 1}), 400, "missing_fields", "channel"),
        ];
        for (body, status, code, field) in cases {
            let r = app.create_order(&body).await;
            r.assert_error(status, code);
            assert_eq!(r.json["field"], field, "{body}");
            assert!(!r.json["message"].as_str().unwrap().is_empty());
        }
    }

    async fn unknown_routes_and_methods_answer_json(app: TestApp) {
        app.get("/v1/nothing").await.assert_error(404, "not_found");
        app.get("/v1/orders").await.assert_error(405, "method_not_allowed");
        app.get_order("order_never_made").await.assert_error(404, "order_not_found");
    }
}
