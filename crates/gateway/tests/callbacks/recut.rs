//! Alipay signs a notification as the text `k=v&k=v…` over raw values, so a value holding `&` and
//! `=` (an order's description, sent as `subject`) can be re-split into other fields under the
//! same signature. paygate refuses such descriptions for Alipay, checks what a notification names
//! (app, merchant account, sign type), and confirms with `alipay.trade.query` before it believes
//! a notification that would change an order.

use channel_core::Fen;
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, JobSubject, Method, NewOrder,
    OrderRequest, OrderStatus, OutTradeNo, PayMethod, Payer, Timestamp,
};
use gateway::store::InsertOutcome;
use serde_json::json;

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{TestApp, sandbox_keys};

/// A description that re-splits Alipay's signed text into a payment of 29.90 by trade `FAKE`.
const INJECTED: &str = "x&total_amount=29.90&trade_no=FAKE&trade_status=TRADE_SUCCESS&zzz=";

/// An Alipay QR order stored with `description` as it could be before descriptions were
/// checked, and its trade created at the simulator with that raw subject (as paygate used to
/// send it), notifying paygate.
async fn legacy_alipay_order(app: &TestApp, no: &str, description: &str) -> gateway::domain::Order {
    let request = OrderRequest {
        out_trade_no: OutTradeNo::parse(no).unwrap(),
        pay_method: PayMethod::new(Channel::Alipay, Method::Qr).unwrap().into(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse(description).unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
    };
    let new = NewOrder::prepare(app.site.id.clone(), request, Timestamp::now());
    let InsertOutcome::Inserted(order) = app.db.store.insert_order_if_absent(&new).await.unwrap()
    else {
        panic!("{no} existed");
    };
    let ours = &app.alipay;
    let mut trade = alipay::Order::new(order.upstream_order_no.as_str(), Fen(2990), description);
    trade.notify_url = Some(ours.notify_url.clone());
    ours.client.precreate(&trade).await.unwrap();
    order
}

/// The fields of the first notification the simulator sent (or dropped) about `order`.
async fn first_notification(
    app: &TestApp,
    order: &gateway::domain::Order,
) -> Vec<(String, String)> {
    form_fields(
        captured(app, "alipay", order).await["body"]
            .as_str()
            .unwrap(),
    )
}

api_tests! {
    async fn a_re_split_trade_closed_notification_does_not_pay_the_order(app: TestApp) {
        let order = legacy_alipay_order(&app, "recut_closed", INJECTED).await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "fail").await;
        let genuine = first_notification(&app, &order).await;
        assert_eq!(field(&genuine, "trade_status"), Some("TRADE_CLOSED"));
        assert_eq!(field(&genuine, "subject"), Some(INJECTED));

        // The attack: the same signed text, split into other fields.
        let forged = recut(&genuine);
        assert_eq!(alipay_sign_content(&forged), alipay_sign_content(&genuine));
        assert_eq!(field(&forged, "trade_status"), Some("TRADE_SUCCESS"));
        assert_eq!(field(&forged, "trade_no"), Some("FAKE"));
        assert_eq!(field(&forged, "total_amount"), Some("29.90"));
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, &form_body(&forged)).await;

        assert_ne!(r.text, "success");
        let after = app.stored(&app.site, "recut_closed").await;
        assert_ne!(after.status, OrderStatus::Paid);
        assert_ne!(after.upstream.trade_no.as_deref(), Some("FAKE"));
        assert_eq!(success_events(&app, &order).await, 0);
        // Alipay, asked, says closed: that is what is recorded, and the lie is kept for a human.
        assert_eq!(after.status, OrderStatus::Closed);
        let recorded = anomalies(&app, "unconfirmed_payment").await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].order_id, Some(order.id));
        assert!(recorded[0].detail.contains("FAKE"), "{}", recorded[0].detail);
    }

    async fn descriptions_with_delimiters_are_refused_for_every_alipay_method(app: TestApp) {
        for (i, method) in ["qr", "jsapi", "miniapp", "wap", "page", "app"].into_iter().enumerate() {
            for description in [INJECTED, "Tom & Jerry", "a=b"] {
                let no = format!("recut_api_{i}_{}", description.len());
                let body = json!({"out_trade_no": no, "channel": "alipay", "method": method,
                    "description": description, "amount_total": 2990,
                    "payer": {"buyer_id": "2088102146225135"}});
                let r = app.create_order(&body).await;
                r.assert_error(400, "alipay_invalid_characters");
                assert_eq!(r.json["field"], "description", "{}", r.text);
                app.get_order(&no).await.assert_error(404, "order_not_found");
            }
        }
        // attach reaches Alipay form-encoded, so it may hold them; WeChat Pay's JSON may too.
        let attach = json!({"out_trade_no": "recut_attach", "channel": "alipay", "method": "qr",
            "description": "VIP月卡", "attach": "a=1&b=2", "amount_total": 2990});
        app.create_order(&attach).await.assert_ok();
        let wechat = json!({"out_trade_no": "recut_wechat", "description": "Tom & Jerry=1", "amount_total": 2990});
        app.create_native(&wechat).await.assert_ok();
        // Nothing with a delimiter ever reached Alipay's subject.
        let subjects: Vec<String> = test_support::sim::alipay_trades(app.sim_dir.path()).values()
            .map(|t| t["subject"].as_str().unwrap().to_owned()).collect();
        assert!(!subjects.is_empty());
        assert!(subjects.iter().all(|s| !s.contains(['&', '='])), "{subjects:?}");
    }

    async fn a_legacy_description_reaches_alipay_without_delimiters(app: TestApp) {
        // Stored before the rule (bypassing the API), then sent upstream by paygate.
        let request = OrderRequest {
            out_trade_no: OutTradeNo::parse("recut_legacy").unwrap(),
            pay_method: PayMethod::new(Channel::Alipay, Method::Qr).unwrap().into(),
            amount: Amount::parse(2990).unwrap(),
            currency: Currency::Cny,
            description: Description::parse(INJECTED).unwrap(),
            attach: None,
            notify_url: None,
            return_url: None,
            payer: Payer::default(),
            expire_minutes: ExpireMinutes::default(),
            profit_sharing: false,
        };
        let new = NewOrder::prepare(app.site.id.clone(), request, Timestamp::now());
        let InsertOutcome::Inserted(order) = app.db.store.insert_order_if_absent(&new).await.unwrap() else { panic!() };
        // Reading a `created` order sends it upstream first.
        assert_eq!(app.get_order("recut_legacy").await.assert_ok()["status"], "pending");
        let trade: serde_json::Value = app.http.get(format!("{}/sim/alipay/trades/{}?app_id={}",
            app.sim.base_url, order.upstream_order_no.as_str(), sandbox_keys().alipay_app_id))
            .send().await.unwrap().json().await.unwrap();
        let subject = trade["subject"].as_str().unwrap();
        assert!(!subject.contains(['&', '=']), "{subject}");
        assert_eq!(subject, "x＆total_amount＝29.90＆trade_no＝FAKE＆trade_status＝TRADE_SUCCESS＆zzz＝");
    }

    async fn a_notification_for_another_app_seller_or_sign_type_is_refused(app: TestApp) {
        let order = alipay_order(&app, "recut_names").await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let genuine = first_notification(&app, &order).await;
        assert_eq!(field(&genuine, "sign_type"), Some("RSA2"));
        let app_id = &sandbox_keys().alipay_app_id;

        // Signed by Alipay's key, as its notifications to another merchant or app are.
        let other_seller = signed_alipay_body(&app, &with_field(&genuine, "seller_id", "2088000000000009"));
        let other_app = signed_alipay_body(&app, &with_field(&genuine, "app_id", "2021000000000009"));
        let no_seller: Vec<_> = genuine.iter().filter(|(k, _)| k != "seller_id").cloned().collect();
        let no_seller = signed_alipay_body(&app, &no_seller);
        // sign_type is outside the signed text: changed without touching the signature.
        let rsa1 = form_body(&with_field(&genuine, "sign_type", "RSA"));
        for body in [other_app, rsa1] {
            let r = post_alipay(&app, app_id, &body).await;
            assert_eq!((r.status, r.text.as_str()), (401, "fail"));
        }
        // Alipay's own notification for this app, but naming another merchant account than the
        // order's (or none): refused as not the order's merchant, as WeChat Pay's are.
        for body in [other_seller, no_seller] {
            let r = post_alipay(&app, app_id, &body).await;
            assert_eq!((r.status, r.text.as_str()), (400, "fail"));
        }
        assert_eq!(app.stored_status(&app.site, "recut_names").await, OrderStatus::Pending);
        let recorded = anomalies(&app, "callback_unverified").await;
        assert_eq!(recorded.iter().map(|a| a.occurrences).sum::<i64>(), 2, "{recorded:?}");
        let mismatched = anomalies(&app, "merchant_mismatch").await;
        assert_eq!(mismatched.len(), 2, "{mismatched:?}");
        assert!(mismatched.iter().all(|a| a.order_id == Some(order.id)), "{mismatched:?}");

        // The genuine notification pays it.
        let r = post_alipay(&app, app_id, &form_body(&genuine)).await;
        assert_eq!((r.status, r.text.as_str()), (200, "success"));
        assert_eq!(app.stored_status(&app.site, "recut_names").await, OrderStatus::Paid);
    }

    async fn a_trade_success_that_the_query_does_not_confirm_does_not_pay(app: TestApp) {
        let order = alipay_order(&app, "recut_unpaid").await;
        // A validly signed TRADE_SUCCESS for a trade the payer never paid.
        let fields: Vec<(String, String)> = [
            ("notify_type", "trade_status_sync"), ("notify_id", "n-unpaid-1"),
            ("notify_time", "2024-01-30 16:00:01"), ("charset", "utf-8"), ("version", "1.0"),
            ("sign_type", "RSA2"), ("app_id", sandbox_keys().alipay_app_id.as_str()),
            ("seller_id", "2088621955000001"), ("trade_no", "2024013022001400009999999999"),
            ("out_trade_no", order.upstream_order_no.as_str()), ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", "29.90"), ("gmt_payment", "2024-01-30 16:00:00"),
        ].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, &signed_alipay_body(&app, &fields)).await;
        assert_eq!((r.status, r.text.as_str()), (400, "fail"));
        let after = app.stored(&app.site, "recut_unpaid").await;
        assert_eq!(after.status, OrderStatus::Pending);
        assert_eq!(after.upstream.trade_no, None);
        assert_eq!(success_events(&app, &order).await, 0);
        assert_eq!(anomalies(&app, "unconfirmed_payment").await.len(), 1);
    }

    async fn with_alipay_unreachable_a_paid_notification_leaves_the_order_to_its_check(app: TestApp) {
        let order = alipay_order(&app, "recut_offline").await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let genuine = form_body(&first_notification(&app, &order).await);
        // Nothing listens on port 9: every query fails.
        let offline = CallbackServer::spawn(&app, "http://127.0.0.1:9/gateway.do").await;
        let r = offline.post_alipay(&app, &genuine).await;
        assert_eq!((r.status, r.text.as_str()), (503, "fail"));
        assert_eq!(app.stored_status(&app.site, "recut_offline").await, OrderStatus::Pending);
        assert_eq!(success_events(&app, &order).await, 0);

        // The order's check job is still there, and finds the payment.
        let job = app.db.store.find_job(&JobSubject::Order(order.id)).await.unwrap().expect("check job kept");
        let checker = gateway::compensation::OrderChecker::new(
            offline.service.clone(), gateway::compensation::CompensationSettings::default());
        let online = CallbackServer::spawn(&app, &format!("{}/gateway.do", app.sim.base_url)).await;
        let checker_online = gateway::compensation::OrderChecker::new(
            online.service.clone(), gateway::compensation::CompensationSettings::default());
        let later = Timestamp::from_millis(order.created_at.as_millis() + 61_000);
        checker.check(&job, later).await;
        assert_eq!(app.stored_status(&app.site, "recut_offline").await, OrderStatus::Pending);
        checker_online.check(&job, later).await;
        assert_eq!(app.stored_status(&app.site, "recut_offline").await, OrderStatus::Paid);
        assert_eq!(success_events(&app, &order).await, 1);
    }

    async fn a_payment_costs_one_query_however_often_its_notification_comes(app: TestApp) {
        let order = alipay_order(&app, "recut_once").await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let genuine = form_body(&first_notification(&app, &order).await);
        let gateway = CountingGateway::spawn(&app).await;
        let server = CallbackServer::spawn(&app, &gateway.url).await;
        for _ in 0..5 {
            let r = server.post_alipay(&app, &genuine).await;
            assert_eq!((r.status, r.text.as_str()), (200, "success"));
        }
        assert_eq!(gateway.queries(), 1);
        assert_eq!(app.stored_status(&app.site, "recut_once").await, OrderStatus::Paid);
        assert_eq!(success_events(&app, &order).await, 1);

        // A re-cut notification replayed many times costs one query too.
        let legacy = legacy_alipay_order(&app, "recut_replayed", INJECTED).await;
        sim_alipay(&app, &legacy, "fail").await;
        let forged = form_body(&recut(&first_notification(&app, &legacy).await));
        for _ in 0..50 {
            assert_ne!(server.post_alipay(&app, &forged).await.text, "success");
        }
        assert_eq!(gateway.queries(), 2);
        assert_ne!(app.stored_status(&app.site, "recut_replayed").await, OrderStatus::Paid);
    }
}
