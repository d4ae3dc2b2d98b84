//! Combined orders (合单) paid: one payment in the simulator pays every sub-order, each as its own
//! site's order (notified to that site alone, refunded by it alone); a forged combined callback
//! pays nothing. Sites served as sub-merchants are combined through the service provider, each
//! sub-order held by WeChat Pay as its own sub-merchant's.

use std::time::Duration;

use gateway::compensation::{CompensationSettings, PlannedSplitter, SplitChecker};
use gateway::domain::{
    ActedBy, Actor, AuditAction, AuditEntry, FeeSchedule, Job, JobSubject, Order, OrderStatus,
    Site, SplitPurpose, SplitStatus, Timestamp,
};
use gateway::service::{OrderService, ServiceSettings, SiteService};
use serde_json::{Value, json};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{Reply, Signing, TestApp, sandbox_keys};

/// The demo site signs `body` to `POST /v1/combined-orders`.
async fn post(app: &TestApp, body: Value) -> Reply {
    app.signed_as(
        &app.site,
        "POST",
        "/v1/combined-orders",
        &body.to_string(),
        Signing::default(),
    )
    .await
}

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

/// The sub-merchants the sandbox binds to its service provider.
const SUB_MCHIDS: [&str; 3] = ["1900000109", "1900000110", "1900000111"];

/// Three member sites served as the sandbox's sub-merchants, each allowed to the demo site, and
/// the answer to the demo site's Native combined order `no` of their sub-orders `{no}_{i}`
/// (10.00, 20.00, 30.00).
async fn combined_of_sub_merchants(app: &TestApp, no: &str) -> (Vec<Site>, Value) {
    let mut sites = Vec::new();
    for (i, sub_mchid) in SUB_MCHIDS.iter().enumerate() {
        let site = sub_merchant_site(app, &format!("served {i}"), sub_mchid).await;
        allow(app, &site).await;
        sites.push(site);
    }
    let sub_orders: Vec<Value> = sites
        .iter()
        .enumerate()
        .map(|(i, site)| {
            json!({"site_id": site.id.as_str(), "out_trade_no": format!("{no}_{i}"),
            "amount_total": 1000 * (i as i64 + 1), "description": format!("店{i}商品")})
        })
        .collect();
    let body = json!({"combine_out_trade_no": no, "method": "native", "sub_orders": sub_orders});
    let answer = post(app, body).await.assert_ok().clone();
    (sites, answer)
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

    async fn sub_merchants_combined_by_the_service_provider_are_paid_at_once_and_refunded_alone(app: TestApp) {
        let (sites, answer) = combined_of_sub_merchants(&app, "cmb_sp_01").await;
        assert_eq!(answer["amount_total"], 6000);
        assert!(answer["pay_params"]["code_url"].as_str().unwrap().starts_with("weixin://"), "{answer}");
        let mut orders = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            let order = app.stored(site, &format!("cmb_sp_01_{i}")).await;
            assert_eq!(order.status, OrderStatus::Pending);
            assert_eq!(order.sub_merchant.as_ref().map(|m| m.sub_mchid.as_str()), Some(SUB_MCHIDS[i]));
            orders.push(order);
        }
        let combine_no = orders[0].combine_no.clone().unwrap();

        // WeChat Pay holds one combined order of the service provider, each sub-order as its own
        // sub-merchant's.
        let sp_mchid = sandbox_keys().wechat_mchid.clone();
        let upstream = app.wechat.client.query_combine_order(combine_no.as_str()).await.unwrap();
        assert_eq!(upstream.combine_mchid, sp_mchid);
        assert_eq!(upstream.combine_appid, sandbox_keys().wechat_appids.mp);
        let sim_orders = test_support::sim::wechat_orders(app.sim_dir.path());
        assert_eq!(sim_orders.len(), 3);
        for (order, sub_mchid) in orders.iter().zip(SUB_MCHIDS) {
            let held = sim_orders
                .values()
                .find(|o| o["out_trade_no"] == order.upstream_order_no.as_str())
                .unwrap();
            assert_eq!((held["mchid"].as_str(), held["sub_mchid"].as_str()), (Some(sp_mchid.as_str()), Some(sub_mchid)), "{held}");
            let listed = upstream.sub_orders.iter().find(|s| s.out_trade_no == order.upstream_order_no.as_str()).unwrap();
            assert_eq!((listed.mchid.as_str(), listed.sub_mchid.as_deref()), (sp_mchid.as_str(), Some(sub_mchid)));
        }

        // One payment; the simulator's own combined callback pays all three, each site told once.
        sim_pay_combined(&app, combine_no.as_str()).await;
        for (i, site) in sites.iter().enumerate() {
            wait_for(&app, site, &format!("cmb_sp_01_{i}"), OrderStatus::Paid).await;
            assert_eq!(site_success_events(&app, site).await, 1, "site {i} notified once");
        }
        assert!(anomalies(&app, "merchant_mismatch").await.is_empty());
        // A sub-order's check asks the service provider's combined order.
        let asked = app.channels.query(&orders[0]).await.unwrap();
        assert!(matches!(asked, gateway::channels::UpstreamStatus::Paid { .. }), "{asked:?}");

        // The second site refunds its sub-order alone, through the partner refund with its own
        // sub-merchant.
        let refund = app
            .signed_as(&sites[1], "POST", "/v1/orders/cmb_sp_01_1/refunds",
                &json!({"out_refund_no": "cmb_sp_refund_01", "amount": 2000}).to_string(), Signing::default())
            .await;
        refund.assert_ok();
        wait_for(&app, &sites[1], "cmb_sp_01_1", OrderStatus::Refunded).await;
        let stored = app.db.store.refunds_for_order(&sites[1].id, orders[1].id).await.unwrap();
        let upstream_refund = app
            .wechat
            .client
            .query_refund(stored[0].upstream_refund_no.as_str(), Some(SUB_MCHIDS[1]))
            .await
            .unwrap();
        assert_eq!(upstream_refund.amount.refund, 2000);
        let sim_orders = test_support::sim::wechat_orders(app.sim_dir.path());
        for (i, (order, site)) in orders.iter().zip(&sites).enumerate() {
            let held = sim_orders.values().find(|o| o["out_trade_no"] == order.upstream_order_no.as_str()).unwrap();
            let (expected, status) = if i == 1 { (2000, OrderStatus::Refunded) } else { (0, OrderStatus::Paid) };
            assert_eq!(held["refunded"].as_i64(), Some(expected), "sub-order {i}");
            assert_eq!(app.stored(site, order.out_trade_no.as_str()).await.status, status, "sub-order {i}");
        }
    }

    async fn a_combined_callback_naming_another_sub_merchant_applies_nothing(app: TestApp) {
        let (sites, _) = combined_of_sub_merchants(&app, "cmb_sp_02").await;
        let mut orders = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            orders.push(app.stored(site, &format!("cmb_sp_02_{i}")).await);
        }
        let combine_no = orders[0].combine_no.clone().unwrap();
        let mchid = sandbox_keys().wechat_mchid.clone();
        let sub = |o: &Order, sub_mchid: Option<&str>, tx: &str| {
            let mut v = json!({
                "mchid": mchid, "trade_type": "NATIVE", "trade_state": "SUCCESS",
                "attach": "x", "out_trade_no": o.upstream_order_no.as_str(), "transaction_id": tx,
                "bank_type": "OTHERS", "success_time": "2024-01-30T16:00:00+08:00",
                "amount": {"total_amount": o.amount.as_i64(), "payer_amount": o.amount.as_i64(), "currency": "CNY", "payer_currency": "CNY"},
            });
            if let Some(s) = sub_mchid {
                v["sub_mchid"] = json!(s);
            }
            v
        };
        let resource = |second: Option<&str>| json!({
            "combine_appid": sandbox_keys().wechat_appids.mp,
            "combine_mchid": mchid,
            "combine_out_trade_no": combine_no.as_str(),
            "sub_orders": [
                sub(&orders[0], Some(SUB_MCHIDS[0]), "4200000000202401300000000201"),
                sub(&orders[1], second, "4200000000202401300000000202"),
                sub(&orders[2], Some(SUB_MCHIDS[2]), "4200000000202401300000000203"),
            ],
            "combine_payer_info": {"openid": "oForged"},
        });
        // Validly signed, right amounts, but the second sub-order names the third's sub-merchant;
        // then none at all, as the direct merchant's own sub-order.
        for second in [Some(SUB_MCHIDS[2]), None] {
            let body = envelope("TRANSACTION.SUCCESS", "支付成功", "transaction", &resource(second));
            post_wechat(&app, &mchid, &sign_wechat(&app, &body, now_ts()), &body)
                .await
                .assert_wechat_fail(400);
        }
        let recorded = anomalies(&app, "merchant_mismatch").await;
        assert_eq!(recorded.len(), 2, "{recorded:?}");
        assert!(recorded.iter().all(|a| a.order_id == Some(orders[1].id)), "{recorded:?}");
        assert!(recorded.iter().any(|a| a.detail.contains(SUB_MCHIDS[2])), "{recorded:?}");
        for (order, site) in orders.iter().zip(&sites) {
            assert_eq!(app.stored(site, order.out_trade_no.as_str()).await.status, OrderStatus::Pending);
            assert_eq!(success_events(&app, order).await, 0);
        }

        // The genuine one, each sub-order naming its own sub-merchant, pays all three.
        let body = envelope("TRANSACTION.SUCCESS", "支付成功", "transaction", &resource(Some(SUB_MCHIDS[1])));
        let answer = post_wechat(&app, &mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
        assert!((200..300).contains(&answer.status), "{}", answer.text);
        for (i, site) in sites.iter().enumerate() {
            wait_for(&app, site, &format!("cmb_sp_02_{i}"), OrderStatus::Paid).await;
        }
    }

    async fn sub_merchants_beside_the_direct_merchant_or_unbound_are_refused(app: TestApp) {
        let served = [
            sub_merchant_site(&app, "served a", SUB_MCHIDS[0]).await,
            sub_merchant_site(&app, "served b", SUB_MCHIDS[1]).await,
        ];
        for site in &served {
            allow(&app, site).await;
        }
        let sub = |site: &Site, no: &str| json!({"site_id": site.id.as_str(), "out_trade_no": no, "amount_total": 1000, "description": "商品"});

        // The demo site is paid to the operator's own merchant: WeChat Pay does not combine it
        // with the service provider's sub-merchants.
        let mixed = json!({"combine_out_trade_no": "cmb_sp_03", "method": "native", "sub_orders": [
            sub(&app.site, "cmb_sp_03_0"), sub(&served[0], "cmb_sp_03_1"), sub(&served[1], "cmb_sp_03_2")]});
        post(&app, mixed).await.assert_error(400, "combine_merchants_mixed");
        let after_direct = json!({"combine_out_trade_no": "cmb_sp_04", "method": "native", "sub_orders": [
            sub(&served[0], "cmb_sp_04_0"), sub(&app.site, "cmb_sp_04_1")]});
        post(&app, after_direct).await.assert_error(400, "combine_merchants_mixed");
        // Sub-merchants' payers have no App to pay under.
        let app_paid = json!({"combine_out_trade_no": "cmb_sp_05", "method": "app", "sub_orders": [
            sub(&served[0], "cmb_sp_05_0"), sub(&served[1], "cmb_sp_05_1")]});
        post(&app, app_paid).await.assert_error(400, "payment_not_configured");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 0, "nothing stored");
        assert_eq!(app.sim_wechat_orders(), 0);

        // A sub-merchant the service provider is not bound to: WeChat Pay refuses the whole
        // combined order, and the platform hears the channel's code.
        let unbound = sub_merchant_site(&app, "another provider's", "1900000199").await;
        allow(&app, &unbound).await;
        let body = json!({"combine_out_trade_no": "cmb_sp_06", "method": "native", "sub_orders": [
            sub(&served[0], "cmb_sp_06_0"), sub(&unbound, "cmb_sp_06_1")]});
        let refused = post(&app, body).await;
        let answer: Value = serde_json::from_str(&refused.text).unwrap();
        assert_eq!((refused.status, answer["error"].as_str()), (502, Some("wechat_create_failed")), "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("NO_AUTH"), "{answer}");
        assert_eq!(app.sim_wechat_orders(), 0, "no sub-order of it held upstream");
        assert_eq!(app.stored(&served[0], "cmb_sp_06_0").await.status, OrderStatus::Created);
    }

    async fn a_sub_merchants_combined_sub_order_pays_the_operators_fee_by_profit_sharing(app: TestApp) {
        let charged = sub_merchant_site(&app, "served with a fee", SUB_MCHIDS[0]).await;
        let free = sub_merchant_site(&app, "served without", SUB_MCHIDS[1]).await;
        let fee = FeeSchedule::parse(60, 0).unwrap();
        SiteService::new(app.db.store.clone()).set_fee(&charged.id, fee, &ActedBy::from(Actor::Cli)).await.unwrap();
        allow(&app, &charged).await;
        allow(&app, &free).await;
        let body = json!({"combine_out_trade_no": "cmb_sp_fee", "method": "native", "sub_orders": [
            {"site_id": charged.id.as_str(), "out_trade_no": "cmb_sp_fee_0", "amount_total": 10_000, "description": "商品"},
            {"site_id": free.id.as_str(), "out_trade_no": "cmb_sp_fee_1", "amount_total": 2000, "description": "商品"}]});
        post(&app, body).await.assert_ok();
        let order = app.stored(&charged, "cmb_sp_fee_0").await;
        assert!(order.profit_sharing, "the channel must keep the money for the fee split");
        let plan = order.split_plan.clone().unwrap();
        assert_eq!(plan.fee.as_ref().unwrap().account.as_str(), sandbox_keys().wechat_mchid);
        assert!(!app.stored(&free, "cmb_sp_fee_1").await.profit_sharing, "no fee, nothing frozen");

        sim_pay_combined(&app, order.combine_no.clone().unwrap().as_str()).await;
        let order = wait_for(&app, &charged, "cmb_sp_fee_0", OrderStatus::Paid).await;
        wait_for(&app, &free, "cmb_sp_fee_1", OrderStatus::Paid).await;

        // The payment's split job, run as the worker runs it, then the fee split's checks.
        let service = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let job = Job { id: 0, subject: JobSubject::PaidOrder(order.id), due_at: Timestamp::now(), attempt: 0 };
        PlannedSplitter::new(service.clone(), Duration::ZERO).run(&job, Timestamp::now()).await;
        let checker = SplitChecker::new(service, &CompensationSettings::default());
        let no = SplitPurpose::Fee.split_no(order.id);
        let mut status = None;
        for _ in 0..200 {
            let split = app.db.store.find_split(&charged.id, &no).await.unwrap().unwrap();
            status = Some(split.status);
            if split.status != SplitStatus::Processing {
                break;
            }
            let check = Job { id: 0, subject: JobSubject::Split(split.id), due_at: Timestamp::now(), attempt: 0 };
            checker.check(&check, Timestamp::now()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, Some(SplitStatus::Succeeded));
        let b = app.signed_as(&charged, "GET", "/v1/balance", "", Signing::default()).await;
        let b = b.assert_ok();
        assert_eq!((b["paid"].as_i64(), b["fees"].as_i64()), (Some(10_000), Some(60)), "{b}");
    }

    async fn closing_a_sub_merchants_sub_order_closes_the_service_providers_combined_order(app: TestApp) {
        let (sites, _) = combined_of_sub_merchants(&app, "cmb_sp_close").await;
        let closed = app.close_order_as(&sites[2], "cmb_sp_close_2").await;
        assert_eq!(closed.assert_ok()["status"], "closed");
        let states: Vec<String> = test_support::sim::wechat_orders(app.sim_dir.path())
            .values()
            .map(|o| o["state"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(states, ["CLOSED", "CLOSED", "CLOSED"]);
        let sibling = app.stored(&sites[0], "cmb_sp_close_0").await;
        assert_eq!(app.channels.query(&sibling).await.unwrap(), gateway::channels::UpstreamStatus::Closed);
    }

    async fn a_jsapi_combined_order_of_sub_merchants_is_paid_under_the_service_providers_app(app: TestApp) {
        let served = [
            sub_merchant_site(&app, "served a", SUB_MCHIDS[0]).await,
            sub_merchant_site(&app, "served b", SUB_MCHIDS[1]).await,
        ];
        for site in &served {
            allow(&app, site).await;
        }
        let body = json!({"combine_out_trade_no": "cmb_sp_jsapi", "method": "jsapi",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "sub_orders": [
            {"site_id": served[0].id.as_str(), "out_trade_no": "cmb_sp_jsapi_0", "amount_total": 1000, "description": "商品"},
            {"site_id": served[1].id.as_str(), "out_trade_no": "cmb_sp_jsapi_1", "amount_total": 2000, "description": "商品"}]});
        let answer = post(&app, body).await.assert_ok().clone();
        let params = &answer["pay_params"];
        assert_eq!(params["type"], "wechat_jsapi", "{params}");
        assert_eq!(params["appId"], sandbox_keys().wechat_appids.mp.as_str(), "{params}");
        assert!(params["package"].as_str().unwrap().starts_with("prepay_id="), "{params}");
        let sim_orders = test_support::sim::wechat_orders(app.sim_dir.path());
        assert!(sim_orders.values().all(|o| o["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), "{sim_orders:?}");
    }
}
