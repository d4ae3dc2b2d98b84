//! Acceptance 1: a paid order → the site's receiver gets one notification, correctly signed with the
//! site's SK (checked in Rust and with the README's Node.js and Python snippets), with seed 000's
//! payload plus event id, paid_at, attach, channel and method.

use std::time::Duration;

use gateway::domain::Mode;
use gateway::domain::NotificationStatus;
use gateway::domain::{
    Amount, NewRefund, NotifyUrl, OutRefundNo, OutTradeNo, RefundRequest, RefundStatus, Timestamp,
};
use gateway::notify::{Payload, RefundPayload, verify_notification};
use gateway::store::{FinishOutcome, RefundFinish, ReserveOutcome};
use test_support::receiver::Receiver;

use super::harness::{NODE, Workers, paid_order, script_accepts, settings, settled, site};
use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn a_paid_order_is_notified_once_and_correctly_signed(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let shop = site(store, "shop", Some(&receiver.url("/paid"))).await;
        let workers = Workers::start(store, settings(&[50, 50], true));

        let event_id = paid_order(store, &shop, "order_20240101_001", None).await;
        let got = receiver.next(Duration::from_secs(10)).await;
        let event = settled(store, &event_id).await;
        workers.stop().await;

        assert_eq!(event.status, NotificationStatus::Delivered);
        assert!(event.delivered_at.is_some());
        assert_eq!(receiver.seen().len(), 1, "exactly one request");
        assert_eq!(got.path, "/paid");
        assert_eq!(got.header("content-type"), "application/json");
        assert_eq!(got.header("x-1pass-event-id"), event_id);

        // The signature, three ways: Rust, and the README's Node.js and Python snippets.
        let sk = shop.secret_key.expose();
        let (ts, nonce, sign) = (got.header("x-1pass-ts"), got.header("x-1pass-nonce"), got.header("x-1pass-sign"));
        assert!(verify_notification(&shop.secret_key, ts, nonce, sign, &got.body));
        assert!(script_accepts("verify_notification.mjs", sk, &got, &got.body));
        assert!(script_accepts("verify_notification.py", sk, &got, &got.body));
        // …and they do refuse: another body, another key.
        let tampered = String::from_utf8(got.body.to_vec()).unwrap().replace("2990", "1");
        assert!(!script_accepts("verify_notification.mjs", sk, &got, tampered.as_bytes()));
        assert!(!script_accepts("verify_notification.py", sk, &got, tampered.as_bytes()));
        assert!(!script_accepts("verify_notification.py", app.site.secret_key.expose(), &got, &got.body));

        let body = got.json();
        assert_eq!(body["event_id"], event_id.as_str());
        assert_eq!(body["event_type"], "TRANSACTION.SUCCESS");
        assert_eq!(body["site_id"], shop.id.as_str());
        assert_eq!(body["out_trade_no"], "order_20240101_001");
        assert_eq!(body["transaction_id"], "4200000000000000000001");
        assert_eq!(body["trade_state"], "SUCCESS");
        assert_eq!(body["amount"], serde_json::json!({"total": 2990, "currency": "CNY"}));
        assert_eq!(body["channel"], "wechat");
        assert_eq!(body["method"], "native");
        assert!(body["attach"].is_null());
        assert_eq!(body["livemode"], false, "a sandbox database says no real money moved");
        let paid_at = body["paid_at"].as_str().unwrap();
        assert!(time::OffsetDateTime::parse(paid_at, &time::format_description::well_known::Rfc3339).is_ok(), "{paid_at}");

        // The body is a function of the stored event: a resend sends the same bytes.
        assert_eq!(Payload::for_event(&event, Mode::Sandbox).to_body(), got.body.to_vec());

        let attempts = store.attempts(&event_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!((attempts[0].attempt_no, attempts[0].http_status), (1, Some(200)));
        assert_eq!(attempts[0].response_excerpt.as_deref(), Some("SUCCESS"));
        assert_eq!(attempts[0].node, NODE);
    }

    async fn the_orders_notify_url_overrides_the_sites(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let shop = site(store, "shop", Some(&receiver.url("/site-url"))).await;
        let workers = Workers::start(store, settings(&[], true));
        let event_id = paid_order(store, &shop, "order_override_1", Some(&receiver.url("/order-url"))).await;
        assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Delivered);
        workers.stop().await;
        let paths: Vec<_> = receiver.seen().into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/order-url"]);
    }

    async fn without_a_notify_url_the_event_fails_at_once(app: TestApp) {
        let store = &app.db.store;
        let shop = site(store, "shop", None).await;
        let workers = Workers::start(store, settings(&[10, 10, 10], true));
        let event_id = paid_order(store, &shop, "order_no_url_1", None).await;
        let event = settled(store, &event_id).await;
        workers.stop().await;
        assert_eq!(event.status, NotificationStatus::Failed);
        let attempts = store.attempts(&event_id).await.unwrap();
        assert_eq!(attempts.len(), 1, "no retry without a URL");
        assert_eq!(attempts[0].error.as_deref(), Some("no notify_url"));
        assert_eq!(attempts[0].http_status, None);
    }

    async fn a_refund_is_notified_at_its_own_url_else_at_the_orders(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let shop = site(store, "shop", Some(&receiver.url("/site-url"))).await;
        let workers = Workers::start(store, settings(&[], true));
        let paid = paid_order(store, &shop, "order_refund_url_1", Some(&receiver.url("/order-url"))).await;
        assert_eq!(settled(store, &paid).await.status, NotificationStatus::Delivered);
        let order = store
            .find_order(&shop.id, &OutTradeNo::parse("order_refund_url_1").unwrap())
            .await
            .unwrap()
            .unwrap();
        let mut events = Vec::new();
        for (no, url) in [("r_own_url", Some(receiver.url("/refund-url"))), ("r_no_url", None)] {
            let request = RefundRequest {
                out_refund_no: OutRefundNo::parse(no).unwrap(),
                amount: Amount::parse(100).unwrap(),
                reason: None,
                notify_url: url.map(|u| NotifyUrl::parse(&u).unwrap()),
            };
            let later = Timestamp::now().plus(Duration::from_secs(3600));
            let new = NewRefund::prepare(&order, request, Timestamp::now());
            let ReserveOutcome::Reserved(refund) = store.reserve_refund(&new, later).await.unwrap() else {
                panic!("not reserved");
            };
            let finish = RefundFinish {
                refund_id: refund.id,
                to: RefundStatus::Succeeded,
                channel_refund_id: Some("50300000000000000001".to_owned()),
                error: None,
                at: Timestamp::now(),
            };
            let FinishOutcome::Applied { event_id, .. } = store.finish_refund(&finish).await.unwrap() else {
                panic!("not applied");
            };
            let event = settled(store, &event_id).await;
            assert_eq!(event.status, NotificationStatus::Delivered);
            events.push(event);
        }
        workers.stop().await;
        let seen = receiver.seen();
        let paths: Vec<_> = seen.iter().map(|c| c.path.clone()).collect();
        assert_eq!(paths, ["/order-url", "/refund-url", "/order-url"]);
        // The refund's body is the refund payload, signed like every notification.
        let refund_body = &seen[1].body;
        let event = &events[0];
        let refund = event.refund.as_ref().unwrap();
        assert_eq!(RefundPayload::new(event, refund, Mode::Sandbox).to_body(), refund_body.to_vec());
        let body: serde_json::Value = serde_json::from_slice(refund_body).unwrap();
        assert_eq!(body["event_type"], "REFUND.SUCCESS");
        assert_eq!(body["out_refund_no"], "r_own_url");
        assert_eq!(body["refund_status"], "succeeded");
        assert_eq!(body["amount"]["refund"], 100);
    }
}
