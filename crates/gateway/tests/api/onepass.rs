//! Seed 000's API: fields, statuses and error codes at the seed's HTTP statuses.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::TestApp;

fn seed_order(no: &str) -> Value {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990, "currency": "CNY", "expire_minutes": 15})
}

api_tests! {
    async fn create_answers_the_seeds_fields_with_a_sandbox_code_url(app: TestApp) {
        let r = app.create_native(&seed_order("order_20240101_001")).await;
        let v = r.assert_ok();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 5, "{v}");
        assert_eq!(v["out_trade_no"], "order_20240101_001");
        assert!(v["code_url"].as_str().unwrap().starts_with("weixin://wxpay/bizpayurl?pr="), "{v}");
        assert_eq!(v["prepay_id"], Value::Null, "Native has no prepay_id upstream");
        assert_eq!(v["status"], "pending");
        let checkout = v["checkout_url"].as_str().unwrap();
        assert!(checkout.starts_with(&format!("{}/pay/wechat/checkout?token=ck_", app.public_url)), "{checkout}");
    }

    async fn status_by_token_needs_no_signature(app: TestApp) {
        let v = app.create_native(&json!({"out_trade_no": "order_status_1", "description": "VIP月卡", "amount_total": 2990})).await;
        let checkout = v.assert_ok()["checkout_url"].as_str().unwrap().to_owned();
        let token = checkout.split("token=").nth(1).unwrap();
        let s = app.status(token).await;
        let s = s.assert_ok();
        assert_eq!(s["out_trade_no"], "order_status_1");
        assert_eq!(s["status"], "pending");
        assert_eq!(s["amount_total"], 2990);
        assert_eq!(s["currency"], "CNY");
        assert!(s["expires_at"].as_str().unwrap().ends_with('Z'));

        app.sim_wechat_pay(&app.site, "order_status_1").await;
        // The callback route is another issue's; a GET resolves nothing for a pending order, so
        // the status stays pending until the callback or compensation records the payment.
        app.status("ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.assert_error(404, "order_not_found");
        app.status("not_a_token").await.assert_error(404, "order_not_found");
        app.get("/pay/wechat/status").await.assert_error(400, "missing_fields");
    }

    async fn missing_fields(app: TestApp) {
        for (body, field) in [
            (json!({"description": "VIP月卡", "amount_total": 2990}), "out_trade_no"),
            (json!({"out_trade_no": "order_missing_1", "amount_total": 2990}), "description"),
            (json!({"out_trade_no": "order_missing_1", "description": "VIP月卡"}), "amount_total"),
            (json!({"out_trade_no": "", "description": "VIP月卡", "amount_total": 2990}), "out_trade_no"),
            (json!({"out_trade_no": "order_missing_1", "description": null, "amount_total": 2990}), "description"),
            (json!({}), "out_trade_no"),
        ] {
            let r = app.create_native(&body).await;
            r.assert_error(400, "missing_fields");
            assert_eq!(r.json["field"], field, "{body}");
        }
    }

    async fn invalid_out_trade_no(app: TestApp) {
        for no in [json!("short"), json!("has space 123"), json!("订单号123456"), json!("a".repeat(65)), json!(123_456_789)] {
            let r = app.create_native(&json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990})).await;
            r.assert_error(400, "invalid_out_trade_no");
            assert_eq!(r.json["field"], "out_trade_no");
        }
    }

    async fn invalid_amount(app: TestApp) {
        for amount in [json!(0), json!(-1), json!(29.9), json!(2990.0), json!("2990"), json!(true), json!(1e20), json!(4_294_967_296_i64)] {
            let r = app.create_native(&json!({"out_trade_no": "order_amount_1", "description": "VIP月卡", "amount_total": amount})).await;
            r.assert_error(400, "invalid_amount");
            assert_eq!(r.json["field"], "amount_total", "{amount}");
        }
    }

    async fn invalid_currency(app: TestApp) {
        for currency in [json!("USD"), json!("cny"), json!(""), json!(156)] {
            let r = app.create_native(&json!({"out_trade_no": "order_cur_1", "description": "VIP月卡", "amount_total": 2990, "currency": currency})).await;
            r.assert_error(400, "invalid_currency");
        }
    }

    async fn description_too_long(app: TestApp) {
        let r = app.create_native(&json!({"out_trade_no": "order_desc_1", "description": "月".repeat(128), "amount_total": 2990})).await;
        r.assert_error(400, "description_too_long");
        assert_eq!(r.json["field"], "description");
        let ok = app.create_native(&json!({"out_trade_no": "order_desc_2", "description": "月".repeat(127), "amount_total": 2990})).await;
        ok.assert_ok();
    }

    async fn payment_not_configured(app: TestApp) {
        let new = gateway::store::NewSite {
            name: gateway::domain::SiteName::parse("alipay only").unwrap(),
            notify_url: None,
            enabled_methods: [gateway::domain::PayMethod::parse_dotted("alipay.qr").unwrap()].into(),
            allow_private_targets: false,
        };
        let site = app.db.store.create_site(new, gateway::domain::Timestamp::now()).await.unwrap();
        let r = app.signed_as(&site, "POST", "/pay/wechat/native", &seed_order("order_nc_1").to_string(), Default::default()).await;
        r.assert_error(400, "payment_not_configured");
    }

    async fn out_trade_no_conflict(app: TestApp) {
        app.create_native(&seed_order("order_conflict_1")).await.assert_ok();
        let mut other = seed_order("order_conflict_1");
        other["amount_total"] = json!(1990);
        app.create_native(&other).await.assert_error(409, "out_trade_no_conflict");
    }

    async fn malformed_json_is_a_json_400(app: TestApp) {
        for body in ["{", "not json", "[1,2]", "\"str\"", ""] {
            let r = app.create_native_raw(body).await;
            r.assert_error(400, "invalid_json");
            assert_eq!(r.headers["content-type"], "application/json", "{body}");
        }
    }

    async fn a_body_over_the_limit_is_413(app: TestApp) {
        let big = json!({"out_trade_no": "order_big_1", "description": "x", "amount_total": 1, "pad": "x".repeat(70_000)});
        let r = app.create_native(&big).await;
        r.assert_error(413, "payload_too_large");
    }
}
