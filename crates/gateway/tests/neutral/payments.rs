//! After a neutral order is paid: a payment through another of its attempts is an anomaly, never a
//! second payment of the order; refunds go to the channel and upstream order that were paid.

use gateway::domain::{Channel, Method, Openid, OrderStatus, PayMethod, Payer};
use serde_json::json;

use crate::api_tests;
use crate::harness::*;
use crate::helpers::{
    anomalies, captured, drop_callbacks, headers_of, post_alipay, post_wechat, success_events,
};
use crate::support::app::{TestApp, sandbox_keys};

api_tests! {
    async fn a_payment_in_a_second_app_is_an_anomaly_and_never_applied(app: TestApp) {
        // The payer pays in WeChat and, before the Alipay code is closed, in Alipay too. The
        // callbacks are held back so that they arrive in that order, after both payments.
        drop_callbacks(&app, true).await;
        let order = neutral_order(&app, "order_any_twice").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        paid_in_sim(&app, &wechat).await;
        paid_in_sim(&app, &alipay).await;
        let wechat_news = captured(&app, "wechat", &wechat).await;
        let alipay_news = captured(&app, "alipay", &alipay).await;

        let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &headers_of(&wechat_news), wechat_news["body"].as_str().unwrap()).await;
        assert_eq!(r.status, 204, "{}", r.text);
        let paid = stored(&app, &order).await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);

        // Alipay reports its payment, twice (it retries until answered).
        for _ in 0..2 {
            post_alipay(&app, &sandbox_keys().alipay_app_id, alipay_news["body"].as_str().unwrap()).await;
        }
        let recorded = anomalies(&app, "second_payment").await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!((recorded[0].order_id, recorded[0].channel, recorded[0].occurrences), (Some(order.id), Channel::Alipay, 2));
        assert!(recorded[0].detail.contains(alipay.upstream_order_no.as_str()), "{}", recorded[0].detail);
        assert!(recorded[0].detail.contains(wechat.upstream_order_no.as_str()), "{}", recorded[0].detail);
        // The order stays paid through WeChat; the site heard of one payment.
        assert_eq!(stored(&app, &order).await, paid);
        assert_eq!(paid.upstream.trade_no, None);
        assert_eq!(success_events(&app, &order).await, 1);
        assert!(anomalies(&app, "transaction_mismatch").await.is_empty());

        // Refunding the WeChat payment does not make the Alipay one the order's.
        drop_callbacks(&app, false).await;
        let body = json!({"out_refund_no": "refund_any_twice", "amount": 2990}).to_string();
        app.signed("POST", "/v1/orders/order_any_twice/refunds", &body).await.assert_ok();
        let refunded = wait_status(&app, &order, OrderStatus::Refunded).await;
        post_alipay(&app, &sandbox_keys().alipay_app_id, alipay_news["body"].as_str().unwrap()).await;
        let recorded = anomalies(&app, "second_payment").await;
        assert_eq!((recorded.len(), recorded[0].occurrences), (1, 3), "{recorded:?}");
        assert_eq!(stored(&app, &order).await, refunded);
        assert_eq!(success_events(&app, &order).await, 1);
    }

    async fn a_second_payment_on_the_same_channel_is_an_anomaly_too(app: TestApp) {
        // A desktop WeChat code and the payer's WeChat JSAPI page: two WeChat Pay orders.
        drop_callbacks(&app, true).await;
        let order = neutral_order(&app, "order_any_twice_wx").await;
        let native = attempt(&app, &order, wechat_native()).await;
        let jsapi = PayMethod::new(Channel::Wechat, Method::Jsapi).unwrap();
        let payer = Payer { openid: Some(Openid::parse("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap()), ..Payer::default() };
        let in_wechat = service(&app).attempt(&order, jsapi, payer).await.unwrap();
        paid_in_sim(&app, &native).await;
        paid_in_sim(&app, &in_wechat).await;
        let mchid = &sandbox_keys().wechat_mchid;
        for view in [&native, &in_wechat] {
            let news = captured(&app, "wechat", view).await;
            let r = post_wechat(&app, mchid, &headers_of(&news), news["body"].as_str().unwrap()).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        let paid = stored(&app, &order).await;
        assert_eq!((paid.status, &paid.upstream_order_no), (OrderStatus::Paid, &native.upstream_order_no));
        let recorded = anomalies(&app, "second_payment").await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert!(recorded[0].detail.contains(in_wechat.upstream_order_no.as_str()), "{}", recorded[0].detail);
        assert!(anomalies(&app, "transaction_mismatch").await.is_empty());
        assert_eq!(success_events(&app, &order).await, 1);
    }

    async fn a_refund_of_an_order_paid_in_alipay_goes_to_that_alipay_trade(app: TestApp) {
        let order = neutral_order(&app, "order_any_refund").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        paid_in_sim(&app, &alipay).await;
        let paid = wait_status(&app, &order, OrderStatus::Paid).await;
        let trade = sim_alipay_trade(&app, &alipay).await.unwrap();
        assert_eq!(paid.upstream.trade_no.as_deref(), trade["trade_no"].as_str());
        let v = app.get_order("order_any_refund").await;
        assert_eq!((v.json["channel"].as_str(), v.json["method"].as_str()), (Some("alipay"), Some("qr")), "{}", v.text);

        let body = json!({"out_refund_no": "refund_any_1", "amount": 1000}).to_string();
        let r = app.signed("POST", "/v1/orders/order_any_refund/refunds", &body).await;
        assert_eq!(r.assert_ok()["status"], "succeeded", "{}", r.text);
        let trade = sim_alipay_trade(&app, &alipay).await.unwrap();
        assert_eq!(trade["refunds"].as_array().map(Vec::len), Some(1), "{trade}");
        assert_eq!(trade["refunded_fen"], 1000);
        assert!(test_support::sim::wechat_refunds(app.sim_dir.path()).is_empty());
        // The WeChat code, closed when Alipay was paid, was never part of it.
        wait_attempt_closed(&app, &wechat).await;
        assert_eq!(success_events(&app, &order).await, 1);
    }
}
