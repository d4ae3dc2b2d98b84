//! `POST /v1/orders` with `method: "any"`: pending at once, one checkout link for every app, nothing
//! made upstream until a payer's app is known.

use gateway::domain::{Channel, Method, OrderStatus, PayMethod};
use serde_json::json;

use crate::api_tests;
use crate::harness::{any_body, site_with};
use crate::support::app::TestApp;

api_tests! {
    async fn an_order_for_any_method_is_pending_at_once_behind_one_checkout_link(app: TestApp) {
        let bodies = [
            any_body("order_any_absent"),
            json!({"out_trade_no": "order_any_named", "channel": "any", "method": "any",
                "description": "VIP月卡", "amount_total": 2990}),
        ];
        for body in bodies {
            let no = body["out_trade_no"].as_str().unwrap();
            let created = app.create_order(&body).await;
            let v = created.assert_ok();
            let stored = app.stored(&app.site, no).await;
            assert!(stored.neutral && stored.is_unbound(), "{stored:?}");
            assert_eq!(stored.status, OrderStatus::Pending);
            let checkout = format!("{}/checkout/{}", app.public_url, stored.checkout_token.as_str());
            for v in [v, app.get_order(no).await.assert_ok()] {
                assert_eq!((v["channel"].as_str(), v["method"].as_str()), (Some("any"), Some("any")), "{v}");
                assert_eq!(v["status"], "pending", "{v}");
                assert_eq!(v["amount_total"], 2990);
                assert_eq!(v["checkout_url"], checkout.as_str(), "{v}");
                assert!(v["pay_params"].is_null(), "{v}");
                assert!(v["transaction_id"].is_null() && v["trade_no"].is_null(), "{v}");
            }
        }
        // Nothing was made upstream: that waits for the payer's app.
        assert_eq!(app.sim_wechat_orders(), 0);
        assert!(test_support::sim::alipay_trades(app.sim_dir.path()).is_empty());
    }

    async fn a_retry_is_the_same_order_and_another_body_conflicts(app: TestApp) {
        let first = app.create_order(&any_body("order_any_retry")).await;
        let again = app.create_order(&any_body("order_any_retry")).await;
        assert_eq!(again.assert_ok()["checkout_url"], first.assert_ok()["checkout_url"]);
        assert_eq!(again.json["status"], "pending");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);

        let mut dearer = any_body("order_any_retry");
        dearer["amount_total"] = json!(3990);
        app.create_order(&dearer).await.assert_error(409, "out_trade_no_conflict");
        // The same number for a fixed method is another request too.
        let fixed = json!({"out_trade_no": "order_any_retry", "channel": "wechat", "method": "native",
            "description": "VIP月卡", "amount_total": 2990});
        app.create_order(&fixed).await.assert_error(409, "out_trade_no_conflict");
        let unchanged = app.stored(&app.site, "order_any_retry").await;
        assert!(unchanged.is_unbound());
        assert_eq!(unchanged.amount.as_i64(), 2990);
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
    }

    async fn a_channel_named_with_method_any_or_any_channel_with_a_method_is_refused(app: TestApp) {
        for (channel, method) in [("wechat", "any"), ("alipay", "any"), ("any", "native")] {
            let body = json!({"out_trade_no": "order_any_bad", "channel": channel, "method": method,
                "description": "VIP月卡", "amount_total": 2990});
            let r = app.create_order(&body).await;
            r.assert_error(400, "invalid_channel");
            assert_eq!(r.json["field"], "channel", "{body}");
        }
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 0);
    }

    async fn a_site_that_may_use_no_method_a_neutral_order_offers_cannot_create_one(app: TestApp) {
        // WeChat App and Alipay page payments are fine for fixed orders, but no checkout link can
        // send a payer to them.
        let app_only = site_with(&app, "app_only", &[
            PayMethod::new(Channel::Wechat, Method::App).unwrap(),
            PayMethod::new(Channel::Alipay, Method::Page).unwrap(),
        ]).await;
        let r = app.create_order_as(&app_only, &any_body("order_any_unusable")).await;
        r.assert_error(400, "payment_not_configured");
        app.get_order_as(&app_only, "order_any_unusable").await.assert_error(404, "order_not_found");

        // One usable method is enough.
        let qr_only = site_with(&app, "qr_only", &[PayMethod::new(Channel::Alipay, Method::Qr).unwrap()]).await;
        let r = app.create_order_as(&qr_only, &any_body("order_any_qr_only")).await;
        assert_eq!(r.assert_ok()["method"], "any");
    }

    async fn a_description_alipay_cannot_sign_is_refused_since_the_payer_may_use_alipay(app: TestApp) {
        for description in ["VIP&月卡", "VIP=月卡"] {
            let mut body = any_body("order_any_unsignable");
            body["description"] = json!(description);
            app.create_order(&body).await.assert_error(400, "alipay_invalid_characters");
        }
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 0);
        // WeChat Pay alone would carry it.
        let wechat = json!({"out_trade_no": "order_wx_ampersand", "channel": "wechat", "method": "native",
            "description": "VIP&月卡", "amount_total": 2990});
        app.create_order(&wechat).await.assert_ok();
    }
}
