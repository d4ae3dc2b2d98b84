//! What a site sees of its notifications through the API, and that it sees only its own.

use std::time::Duration;

use test_support::receiver::{Answer, Receiver};

use super::harness::{Workers, paid_order, settings, settled, site};
use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn a_site_lists_an_orders_notifications_with_their_attempts(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![Answer::status(503)]);
        let shop = site(store, "shop", Some(&receiver.url("/n"))).await;
        let workers = Workers::start(store, settings(&[20], true));
        let event_id = paid_order(store, &shop, "order_listed_01", None).await;
        receiver.next(Duration::from_secs(10)).await;
        receiver.next(Duration::from_secs(10)).await;
        settled(store, &event_id).await;
        workers.stop().await;

        let path = "/v1/orders/order_listed_01/notifications";
        let reply = app.signed_as(&shop, "GET", path, "", Default::default()).await;
        let json = reply.assert_ok();
        assert_eq!(json["out_trade_no"], "order_listed_01");
        let n = &json["notifications"][0];
        assert_eq!(n["event_id"], event_id.as_str());
        assert_eq!(n["event_type"], "TRANSACTION.SUCCESS");
        assert_eq!(n["status"], "delivered");
        assert!(n["delivered_at"].is_string());
        let attempts = n["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0]["http_status"], 503);
        assert_eq!(attempts[0]["error"], "HTTP 503");
        assert_eq!(attempts[1]["http_status"], 200);
        assert!(attempts[1]["latency_ms"].is_i64());
        assert!(attempts[0].get("node").is_none(), "node names are the operator's business");

        // Another site sees neither the order's notifications nor the event.
        app.signed_as(&app.site, "GET", path, "", Default::default())
            .await
            .assert_error(404, "order_not_found");
        let resend = format!("/v1/notifications/{event_id}/resend");
        app.signed_as(&app.site, "POST", &resend, "", Default::default())
            .await
            .assert_error(404, "notification_not_found");
        // Nothing a client puts in the path is an error of paygate's (a NUL byte included, which
        // PostgreSQL refuses to compare).
        for unknown in ["evt_nope", "evt_%00", "evt%20x", "%E2%80%AE"] {
            app.signed_as(&shop, "POST", &format!("/v1/notifications/{unknown}/resend"), "", Default::default())
                .await
                .assert_error(404, "notification_not_found");
        }
        // Unsigned: refused.
        assert_eq!(app.get(path).await.status, 401);
    }
}
