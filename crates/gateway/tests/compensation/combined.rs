//! A combined order's sub-orders past their expiry: closed upstream through the combined order and
//! here, each in its own check — unless the combined order was paid, which its query says.

use gateway::domain::{
    Actor, AuditAction, AuditEntry, EventType, Order, OrderStatus, Site, Timestamp,
};
use serde_json::json;

use crate::api_tests;
use crate::harness::{Workers, eventually, expire_now};
use crate::support::app::{Signing, TestApp, sandbox_keys};

/// A Native combined order `no` of the demo site's `{no}_0` and a member's `{no}_1`; answers both
/// sub-orders as stored, with their sites.
async fn combined_of_two(app: &TestApp, no: &str) -> Vec<(Order, Site)> {
    let member = app.another_site("member").await;
    let audit = AuditEntry::new(Timestamp::now(), Actor::Cli, AuditAction::SiteCombineAllow);
    app.db
        .store
        .allow_combine(&app.site.id, &member.id, Timestamp::now(), &audit)
        .await
        .unwrap();
    let body = json!({
        "combine_out_trade_no": no, "method": "native",
        "sub_orders": [
            {"site_id": app.site.id.as_str(), "out_trade_no": format!("{no}_0"), "amount_total": 1000, "description": "平台"},
            {"site_id": member.id.as_str(), "out_trade_no": format!("{no}_1"), "amount_total": 2500, "description": "会员店"},
        ]
    });
    app.signed_as(
        &app.site,
        "POST",
        "/v1/combined-orders",
        &body.to_string(),
        Signing::default(),
    )
    .await
    .assert_ok();
    let mut subs = Vec::new();
    for (i, site) in [app.site.clone(), member].into_iter().enumerate() {
        subs.push((app.stored(&site, &format!("{no}_{i}")).await, site));
    }
    subs
}

async fn status_of(app: &TestApp, order: &Order, site: &Site) -> OrderStatus {
    app.stored(site, order.out_trade_no.as_str()).await.status
}

async fn events_of(app: &TestApp, order: &Order, site: &Site) -> Vec<EventType> {
    app.db
        .store
        .notifications_for_order(&site.id, order.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.event_type)
        .collect()
}

api_tests! {
    async fn unpaid_sub_orders_past_expiry_are_closed_upstream_then_here(app: TestApp) {
        let subs = combined_of_two(&app, "cmb_exp_01").await;
        for (order, _) in &subs {
            expire_now(&app, order).await;
        }
        let workers = Workers::start(&app);
        for (order, site) in &subs {
            eventually("the sub-order closed", || async { status_of(&app, order, site).await == OrderStatus::Closed }).await;
        }
        workers.stop().await;
        for (order, site) in &subs {
            assert_eq!(app.channels.query(order).await.unwrap(), gateway::channels::UpstreamStatus::Closed);
            assert_eq!(events_of(&app, order, site).await, [EventType::TransactionClosed]);
        }
    }

    async fn sub_orders_paid_just_before_expiry_are_paid_not_closed(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let subs = combined_of_two(&app, "cmb_exp_02").await;
        let combine_no = subs[0].0.combine_no.clone().unwrap();
        let url = format!(
            "{}/sim/wechat/combine/{}/pay?mchid={}",
            app.sim.base_url,
            combine_no.as_str(),
            sandbox_keys().wechat_mchid
        );
        assert!(app.http.post(url).send().await.unwrap().status().is_success());
        for (order, _) in &subs {
            expire_now(&app, order).await;
        }
        let workers = Workers::start(&app);
        for (order, site) in &subs {
            eventually("the sub-order settled", || async { status_of(&app, order, site).await != OrderStatus::Pending }).await;
        }
        workers.stop().await;
        for (order, site) in &subs {
            assert_eq!(status_of(&app, order, site).await, OrderStatus::Paid);
            assert_eq!(events_of(&app, order, site).await, [EventType::TransactionSuccess]);
        }
    }
}
