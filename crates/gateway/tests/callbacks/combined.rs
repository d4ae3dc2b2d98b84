//! Combined orders (合单) paid: one payment in the simulator pays every sub-order, each as its own
//! site's order (notified to that site alone, refunded by it alone); a forged combined callback
//! pays nothing.

use std::time::Duration;

use gateway::domain::{Actor, AuditAction, AuditEntry, Order, OrderStatus, Site, Timestamp};
use serde_json::{Value, json};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{Signing, TestApp, sandbox_keys};

/// Lets the demo site combine for `member`, as `paygate site combine allow` does.
async fn allow(app: &TestApp, member: &Site) {
    let audit = AuditEntry::new(Timestamp::now(), Actor::Cli, AuditAction::SiteCombineAllow)
        .on("site", app.site.id.as_str());
    let added = app
        .db
        .store
        .allow_combine(&app.site.id, &member.id, Timestamp::now(), &audit)
        .await
        .unwrap();
    assert!(added);
}

/// A Native combined order `no` of the demo site for sub-orders `{no}_0` (its own, 10.00), `{no}_1`
/// (member a, 20.00) and `{no}_2` (member b, 30.00); answers the members and the answer.
async fn combined_of_three(app: &TestApp, no: &str) -> (Site, Site, Value) {
    let (a, b) = (
        app.another_site("member a").await,
        app.another_site("member b").await,
    );
    allow(app, &a).await;
    allow(app, &b).await;
    let body = json!({
        "combine_out_trade_no": no, "method": "native",
        "sub_orders": [
            {"site_id": app.site.id.as_str(), "out_trade_no": format!("{no}_0"), "amount_total": 1000, "description": "平台运费"},
            {"site_id": a.id.as_str(), "out_trade_no": format!("{no}_1"), "amount_total": 2000, "description": "A店商品", "attach": "a-attach"},
            {"site_id": b.id.as_str(), "out_trade_no": format!("{no}_2"), "amount_total": 3000, "description": "B店商品"},
        ]
    });
    let r = app
        .signed_as(
            &app.site,
            "POST",
            "/v1/combined-orders",
            &body.to_string(),
            Signing::default(),
        )
        .await;
    let answer = r.assert_ok().clone();
    (a, b, answer)
}

/// Polls until the site's order `no` has `status`.
async fn wait_for(app: &TestApp, site: &Site, no: &str, status: OrderStatus) -> Order {
    for _ in 0..200 {
        let order = app.stored(site, no).await;
        if order.status == status {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} never became {status:?}");
}

/// `TRANSACTION.SUCCESS` notification events written for the site's orders.
async fn site_success_events(app: &TestApp, site: &Site) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM notification_events WHERE site_id = '{}' AND event_type = 'TRANSACTION.SUCCESS'",
            site.id.as_str()
        ))
        .await
}

/// The payer pays the combined order in the simulator (its one combined callback follows).
async fn sim_pay_combined(app: &TestApp, combine_no: &str) {
    let url = format!(
        "{}/sim/wechat/combine/{combine_no}/pay?mchid={}",
        app.sim.base_url,
        sandbox_keys().wechat_mchid
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

api_tests! {
    async fn one_payment_pays_every_sub_order_and_each_site_hears_of_its_own(app: TestApp) {
        let (a, b, answer) = combined_of_three(&app, "cmb_pay_01").await;
        assert_eq!(answer["amount_total"], 6000);
        assert_eq!(answer["pay_params"]["type"], "wechat_native");
        let sites = [&app.site, &a, &b];
        for (i, site) in sites.iter().enumerate() {
            let order = app.stored(site, &format!("cmb_pay_01_{i}")).await;
            assert_eq!(order.status, OrderStatus::Pending);
            assert_eq!(order.site_id, site.id);
        }
        let combine_no = app.stored(&a, "cmb_pay_01_1").await.combine_no.unwrap();

        sim_pay_combined(&app, combine_no.as_str()).await;
        let mut transactions = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            let paid = wait_for(&app, site, &format!("cmb_pay_01_{i}"), OrderStatus::Paid).await;
            transactions.push(paid.upstream.transaction_id.clone().unwrap());
            assert_eq!(site_success_events(&app, site).await, 1, "site {i} notified once, of its own order");
        }
        transactions.dedup();
        assert_eq!(transactions.len(), 3, "each sub-order has its own transaction");

        // Each member reads its own order; the platform reads the combined order.
        let own = app.get_order_as(&a, "cmb_pay_01_1").await;
        assert_eq!(own.assert_ok()["status"], "paid");
        assert_eq!(own.json["attach"], "a-attach");
        assert_eq!(app.get_order_as(&a, "cmb_pay_01_2").await.status, 404, "not another member's");
        let combined = app
            .signed_as(&app.site, "GET", "/v1/combined-orders/cmb_pay_01", "", Signing::default())
            .await;
        let combined = combined.assert_ok();
        let statuses: Vec<&str> = combined["sub_orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["paid", "paid", "paid"]);
        assert!(combined["pay_params"].is_null(), "nothing left to pay");

        // Member b refunds its sub-order alone: the others stay paid, untouched, in paygate and in
        // the simulator.
        let refund = app
            .signed_as(
                &b,
                "POST",
                "/v1/orders/cmb_pay_01_2/refunds",
                &json!({"out_refund_no": "cmb_refund_01", "amount": 3000}).to_string(),
                Signing::default(),
            )
            .await;
        refund.assert_ok();
        wait_for(&app, &b, "cmb_pay_01_2", OrderStatus::Refunded).await;
        for (i, site) in sites.iter().enumerate().take(2) {
            let order = app.stored(site, &format!("cmb_pay_01_{i}")).await;
            assert_eq!(order.status, OrderStatus::Paid, "sub-order {i}");
        }
        let sim_orders = test_support::sim::wechat_orders(app.sim_dir.path());
        let refunded_in_sim = |no: &str| {
            let upstream = no.to_owned();
            sim_orders
                .values()
                .find(|o| o["out_trade_no"] == upstream.as_str())
                .map(|o| o["refunded"].as_i64().unwrap())
                .unwrap()
        };
        for (i, site) in sites.iter().enumerate() {
            let order = app.stored(site, &format!("cmb_pay_01_{i}")).await;
            let expected = if i == 2 { 3000 } else { 0 };
            assert_eq!(refunded_in_sim(order.upstream_order_no.as_str()), expected, "sub-order {i}");
        }
    }

    async fn a_forged_combined_callback_with_another_amount_pays_nothing(app: TestApp) {
        let (a, b, _) = combined_of_three(&app, "cmb_forge_01").await;
        let orders = [
            app.stored(&app.site, "cmb_forge_01_0").await,
            app.stored(&a, "cmb_forge_01_1").await,
            app.stored(&b, "cmb_forge_01_2").await,
        ];
        let combine_no = orders[0].combine_no.clone().unwrap();
        let sub = |o: &Order, total: i64, tx: &str| json!({
            "mchid": sandbox_keys().wechat_mchid, "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "attach": "x", "out_trade_no": o.upstream_order_no.as_str(), "transaction_id": tx,
            "bank_type": "OTHERS", "success_time": "2024-01-30T16:00:00+08:00",
            "amount": {"total_amount": total, "payer_amount": total, "currency": "CNY", "payer_currency": "CNY"},
        });
        // Signed as WeChat Pay signs, for the right merchant and app: only one amount is wrong.
        let resource = json!({
            "combine_appid": sandbox_keys().wechat_appids.mp,
            "combine_mchid": sandbox_keys().wechat_mchid,
            "combine_out_trade_no": combine_no.as_str(),
            "sub_orders": [
                sub(&orders[0], 1000, "4200000000202401300000000101"),
                sub(&orders[1], 1, "4200000000202401300000000102"),
                sub(&orders[2], 3000, "4200000000202401300000000103"),
            ],
            "combine_payer_info": {"openid": "oForged"},
        });
        let body = envelope("TRANSACTION.SUCCESS", "支付成功", "transaction", &resource);
        let mchid = &sandbox_keys().wechat_mchid;
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body)
            .await
            .assert_wechat_fail(400);

        let recorded = anomalies(&app, "amount_mismatch").await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].order_id, Some(orders[1].id));
        for (order, site) in orders.iter().zip([&app.site, &a, &b]) {
            let now = app.stored(site, order.out_trade_no.as_str()).await;
            assert_eq!(now.status, OrderStatus::Pending, "order {} paid by a forged callback", order.id.as_i64());
            assert_eq!(success_events(&app, order).await, 0);
        }

        // Right amounts, but another combined order's number: not these orders' payment.
        let mut elsewhere = resource.clone();
        elsewhere["combine_out_trade_no"] = json!("pg_other_combined_order_0001");
        elsewhere["sub_orders"][1]["amount"] = json!({"total_amount": 2000, "payer_amount": 2000, "currency": "CNY", "payer_currency": "CNY"});
        let body = envelope("TRANSACTION.SUCCESS", "支付成功", "transaction", &elsewhere);
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body)
            .await
            .assert_wechat_fail(400);
        assert_eq!(anomalies(&app, "merchant_mismatch").await.len(), 1);
        for (order, site) in orders.iter().zip([&app.site, &a, &b]) {
            assert_eq!(app.stored(site, order.out_trade_no.as_str()).await.status, OrderStatus::Pending);
        }

        // The genuine payment afterwards pays all three.
        sim_pay_combined(&app, combine_no.as_str()).await;
        wait_for(&app, &b, "cmb_forge_01_2", OrderStatus::Paid).await;
        wait_for(&app, &a, "cmb_forge_01_1", OrderStatus::Paid).await;
    }

    async fn a_sub_orders_check_asks_the_combined_order(app: TestApp) {
        let (a, _, _) = combined_of_three(&app, "cmb_query_01").await;
        let order = app.stored(&a, "cmb_query_01_1").await;
        drop_callbacks(&app, true).await;
        let combine_no = order.combine_no.clone().unwrap();
        sim_pay_combined(&app, combine_no.as_str()).await;
        // The callback is lost: the order's own query goes through the combined order, and finds
        // the sub-order's own payment of its own amount.
        let status = app.channels.query(&order).await.unwrap();
        let gateway::channels::UpstreamStatus::Paid { amount, .. } = status else {
            panic!("{status:?}");
        };
        assert_eq!(amount.0, 2000);
    }
}
