//! When the channel says no, and when it does not answer clearly.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::TestApp;

fn seed_order(no: &str) -> Value {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990})
}

api_tests! {
    async fn a_refusal_is_502_with_the_channels_code_and_the_order_stays_created(app: TestApp) {
        app.create_native(&seed_order("order_refused_1")).await.assert_ok();
        // Keep the payment from reaching paygate, so the order can be staged as if its answer was lost.
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        app.sim_wechat_pay(&app.site, "order_refused_1").await;
        // Stage an order whose upstream answer paygate lost: `created`, no code_url. The channel
        // has it, paid, so creating it again is refused with WeChat Pay's ORDERPAID.
        app.db.execute("UPDATE orders SET status = 'created', code_url = NULL WHERE out_trade_no = 'order_refused_1'").await;
        let r = app.create_native(&seed_order("order_refused_1")).await;
        r.assert_error(502, "wechat_create_failed");
        assert_eq!(r.json["upstream"]["code"], "ORDERPAID", "{}", r.text);
        assert_eq!(r.json["upstream"]["channel"], "wechat");
        let stored = app.stored(&app.site, "order_refused_1").await;
        assert_eq!(stored.status, gateway::domain::OrderStatus::Created);
        assert!(stored.upstream.error.as_deref().unwrap().starts_with("ORDERPAID"), "{:?}", stored.upstream);
    }

    async fn an_unknown_outcome_is_503_and_a_retry_completes_the_same_order(app: TestApp) {
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;
        let r = app.create_native(&seed_order("order_fault_1")).await;
        r.assert_error(503, "upstream_unavailable");
        assert!(r.json["message"].as_str().unwrap().contains("same request"), "{}", r.text);
        assert_eq!(app.stored_status(&app.site, "order_fault_1").await, gateway::domain::OrderStatus::Created);

        app.sim_faults(None).await;
        let first = app.create_native(&seed_order("order_fault_1")).await;
        let first = first.assert_ok().clone();
        assert_eq!(first["status"], "pending");
        let again = app.create_native(&seed_order("order_fault_1")).await;
        assert_eq!(again.assert_ok()["code_url"], first["code_url"]);
        assert_eq!(app.sim_wechat_orders(), 1);
    }

    async fn an_unknown_outcome_is_resolved_by_a_get(app: TestApp) {
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;
        app.create_order(&json!({"out_trade_no": "order_fault_2", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 100})).await.assert_error(503, "upstream_unavailable");
        // While the channel is still down, a GET answers what paygate knows.
        let r = app.get_order("order_fault_2").await;
        assert_eq!(r.assert_ok()["status"], "created");
        app.sim_faults(None).await;
        let r = app.get_order("order_fault_2").await;
        let v = r.assert_ok();
        assert_eq!(v["status"], "pending", "{v}");
        assert!(v["pay_params"]["code_url"].as_str().unwrap().starts_with("weixin://"));
        assert_eq!(app.sim_wechat_orders(), 1);
    }
}
