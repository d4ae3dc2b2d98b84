//! Closing orders.

use serde_json::json;

use crate::api_tests;
use crate::support::app::TestApp;

fn native(no: &str) -> serde_json::Value {
    json!({"out_trade_no": no, "channel": "wechat", "method": "native", "description": "x", "amount_total": 100})
}

api_tests! {
    async fn a_pending_order_closes_upstream_and_here(app: TestApp) {
        app.create_order(&native("order_close_1")).await.assert_ok();
        let r = app.close_order("order_close_1").await;
        let v = r.assert_ok();
        assert_eq!(v["status"], "closed");
        assert!(v["closed_at"].is_string());
        assert_eq!(v["pay_params"], serde_json::Value::Null);
        // Again: the same answer, not an error.
        assert_eq!(app.close_order("order_close_1").await.assert_ok()["status"], "closed");
        // The status page agrees.
        let token = v["checkout_url"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned();
        assert_eq!(app.status(&token).await.assert_ok()["status"], "closed");
    }

    async fn a_paid_order_cannot_be_closed(app: TestApp) {
        app.create_order(&native("order_close_2")).await.assert_ok();
        app.sim_wechat_pay(&app.site, "order_close_2").await;
        let r = app.close_order("order_close_2").await;
        r.assert_error(409, "order_paid");
        // Finding out recorded the payment.
        let v = app.get_order("order_close_2").await;
        assert_eq!(v.assert_ok()["status"], "paid");
        assert!(v.json["transaction_id"].is_string(), "{}", v.text);
    }

    async fn a_created_order_the_channel_never_saw_closes(app: TestApp) {
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;
        app.create_order(&native("order_close_3")).await.assert_error(503, "upstream_unavailable");
        app.sim_faults(None).await;
        let r = app.close_order("order_close_3").await;
        assert_eq!(r.assert_ok()["status"], "closed");
        assert_eq!(app.sim_wechat_orders(), 0);
    }

    async fn unknown_orders_are_404(app: TestApp) {
        app.close_order("order_nowhere").await.assert_error(404, "order_not_found");
        app.close_order("bad").await.assert_error(404, "order_not_found");
    }
}
