//! A site sees and closes only its own orders, even when another site used the same number.

use serde_json::json;

use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn another_site_can_neither_read_nor_close_an_order(app: TestApp) {
        let b = app.another_site("site b").await;
        let body = json!({"out_trade_no": "shared_no_001", "channel": "wechat", "method": "native",
            "description": "A's order", "amount_total": 2990});
        app.create_order(&body).await.assert_ok();

        app.get_order_as(&b, "shared_no_001").await.assert_error(404, "order_not_found");
        app.close_order_as(&b, "shared_no_001").await.assert_error(404, "order_not_found");
        assert_eq!(app.stored_status(&app.site, "shared_no_001").await, gateway::domain::OrderStatus::Pending);

        // B may use the same number for its own order, which is a different order with its own
        // upstream number; closing B's leaves A's open.
        let mut b_body = body.clone();
        b_body["description"] = json!("B's order");
        b_body["amount_total"] = json!(100);
        let b_order = app.create_order_as(&b, &b_body).await;
        assert_eq!(b_order.assert_ok()["amount_total"], 100);
        assert_eq!(app.close_order_as(&b, "shared_no_001").await.assert_ok()["status"], "closed");
        let a = app.get_order("shared_no_001").await;
        let a = a.assert_ok();
        assert_eq!((a["status"].as_str(), a["amount_total"].as_i64()), (Some("pending"), Some(2990)));
        assert_eq!(app.sim_wechat_orders(), 2);
    }
}
