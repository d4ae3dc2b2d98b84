//! The same create twice is one order; fifty at once are one order and one upstream order; a node
//! that dies between the channel's answer and recording it leaves an order the next request
//! completes without a second upstream order.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::TestApp;

fn seed_order(no: &str) -> Value {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990})
}

api_tests! {
    async fn the_same_request_again_is_the_same_order(app: TestApp) {
        let first = app.create_native(&seed_order("order_idem_1")).await;
        let first = first.assert_ok().clone();
        // Omitting the default currency, or spelling it out, is the same content.
        let mut same = seed_order("order_idem_1");
        same["currency"] = json!("CNY");
        same["expire_minutes"] = json!(15);
        let again = app.create_native(&same).await;
        assert_eq!(again.assert_ok(), &first);

        let mut different = seed_order("order_idem_1");
        different["description"] = json!("VIP年卡");
        app.create_native(&different).await.assert_error(409, "out_trade_no_conflict");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(app.sim_wechat_orders(), 1);
    }

    async fn fifty_concurrent_creates_make_one_order_and_one_upstream_order(app: TestApp) {
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move { app.create_native(&seed_order("order_race_1")).await }));
        }
        let mut code_urls = std::collections::BTreeSet::new();
        for t in tasks {
            let r = t.await.unwrap();
            let v = r.assert_ok();
            assert_eq!(v["status"], "pending");
            code_urls.insert(v["code_url"].as_str().unwrap().to_owned());
        }
        assert_eq!(code_urls.len(), 1, "{code_urls:?}");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(app.db.count("SELECT COUNT(*) FROM order_events").await, 1, "one created→pending");
        assert_eq!(app.sim_wechat_orders(), 1);
    }

    async fn a_node_killed_after_the_upstream_call_loses_nothing(app: TestApp) {
        // Node 1 hangs where a crash would hit: the channel accepted the order, paygate has not
        // recorded it. Its request never answers.
        let node = app.kill();
        let node1 = TestApp::spawn_with(node, Some(gateway::service::Failpoint::HangAfterUpstreamCreate)).await;
        let hung = tokio::time::timeout(std::time::Duration::from_secs(3), node1.create_native(&seed_order("order_crash_1"))).await;
        assert!(hung.is_err(), "the failpoint should hang the request");
        assert_eq!(node1.sim_wechat_orders(), 1, "the channel has the order");
        assert_eq!(node1.stored_status(&node1.site, "order_crash_1").await, gateway::domain::OrderStatus::Created);
        let site = node1.site.clone();

        // Node 2 (or node 1 restarted) on the same database and channel.
        let node = node1.kill();
        let node2 = TestApp::spawn_with(node, None).await;
        let no_sign = node2.get_order_as(&site, "order_crash_1").await;
        let v = no_sign.assert_ok();
        assert_eq!(v["status"], "pending", "{v}");
        let code_url = v["pay_params"]["code_url"].as_str().unwrap().to_owned();

        // A retried create answers the same order.
        let again = node2.signed_as(&site, "POST", "/pay/wechat/native", &seed_order("order_crash_1").to_string(), Default::default()).await;
        assert_eq!(again.assert_ok()["code_url"], code_url.as_str());
        assert_eq!(node2.sim_wechat_orders(), 1, "no second upstream order");
    }

    async fn a_retried_create_completes_a_crashed_order(app: TestApp) {
        let node = app.kill();
        let node1 = TestApp::spawn_with(node, Some(gateway::service::Failpoint::HangAfterUpstreamCreate)).await;
        let hung = tokio::time::timeout(std::time::Duration::from_secs(3), node1.create_native(&seed_order("order_crash_2"))).await;
        assert!(hung.is_err());
        let site = node1.site.clone();
        let node = node1.kill();
        let node2 = TestApp::spawn_with(node, None).await;
        let r = node2.signed_as(&site, "POST", "/pay/wechat/native", &seed_order("order_crash_2").to_string(), Default::default()).await;
        let v = r.assert_ok();
        assert_eq!(v["status"], "pending");
        assert!(v["code_url"].as_str().unwrap().starts_with("weixin://"));
        assert_eq!(node2.sim_wechat_orders(), 1);
    }
}
