//! A site served as a WeChat Pay sub-merchant: its orders are made, paid, called back and refunded
//! through the service provider's partner endpoints, with the sub-merchant stored on each order;
//! a verified callback naming another sub-merchant (or the direct merchant) is refused.

use std::time::Duration;

use gateway::compensation::PlannedSplitter;
use gateway::domain::{
    ActedBy, Actor, FeeSchedule, Job, JobSubject, Order, OrderStatus, RefundStatus, Site,
    SplitPurpose, SplitStatus, Timestamp,
};
use gateway::service::{OrderService, ServiceSettings, SiteService};
use serde_json::{Value, json};
use wechatpay::TradeRef;

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{Signing, TestApp, sandbox_keys};

const SUB_MCHID: &str = "1900000109";

async fn native_order(app: &TestApp, site: &Site, no: &str) -> Order {
    let body = json!({"out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "VIP年卡", "amount_total": 10000});
    app.create_order_as(site, &body).await.assert_ok();
    app.stored(site, no).await
}

/// The payer pays the sub-merchant's order in the simulator.
async fn sim_pay_partner(app: &TestApp, order: &Order, sub_mchid: &str) {
    let url = format!(
        "{}/sim/wechat/orders/{}/pay?mchid={}&sub_mchid={sub_mchid}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        sandbox_keys().wechat_mchid,
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

async fn wait_paid(app: &TestApp, site: &Site, no: &str) -> Order {
    for _ in 0..200 {
        let order = app.stored(site, no).await;
        if order.status == OrderStatus::Paid {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

/// The paid transaction of a sub-merchant's `order` as the service provider's callback carries it.
fn partner_transaction(order: &Order, sub_mchid: &str) -> Value {
    let mut t = transaction(order, order.amount.as_i64());
    let t = t.as_object_mut().unwrap();
    t.remove("appid");
    t.remove("mchid");
    t.remove("payer");
    let mut t = Value::Object(t.clone());
    t["sp_appid"] = sandbox_keys().wechat_appids.mp.clone().into();
    t["sp_mchid"] = sandbox_keys().wechat_mchid.clone().into();
    t["sub_mchid"] = sub_mchid.into();
    t["payer"] = json!({"sp_openid": "oTest"});
    t
}

api_tests! {
    async fn a_sub_merchants_order_is_paid_and_refunded_through_the_partner_endpoints(app: TestApp) {
        let site = sub_merchant_site(&app, "shop under the provider", SUB_MCHID).await;
        let order = native_order(&app, &site, "sp_paid_refunded").await;
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.sub_merchant.as_ref().map(|m| m.sub_mchid.as_str()), Some(SUB_MCHID));
        // The simulator holds it as the sub-merchant's order: found through the partner query,
        // not through the direct merchant's.
        let trade = TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned());
        let upstream = app.wechat.client.query_partner_order(&trade, SUB_MCHID).await.unwrap();
        assert_eq!(upstream.merchant.sub_mchid, SUB_MCHID);
        assert_eq!(upstream.merchant.sp_appid, sandbox_keys().wechat_appids.mp);
        let direct = app.wechat.client.query_order(&trade).await.unwrap_err();
        assert_eq!(direct.upstream_code(), Some("ORDER_NOT_EXIST"), "{direct}");

        // The simulator's real partner callback pays it.
        sim_pay_partner(&app, &order, SUB_MCHID).await;
        let paid = wait_paid(&app, &site, "sp_paid_refunded").await;
        assert_eq!(success_events(&app, &paid).await, 1);
        assert!(anomalies(&app, "merchant_mismatch").await.is_empty());

        // A refund goes to the sub-merchant's account of the order.
        let refund = app
            .signed_as(&site, "POST", "/v1/orders/sp_paid_refunded/refunds",
                &json!({"out_refund_no": "sp_refund_1", "amount": 3000}).to_string(), Signing::default())
            .await;
        refund.assert_ok();
        let mut status = None;
        for _ in 0..200 {
            let r = app.signed_as(&site, "GET", "/v1/refunds/sp_refund_1", "", Signing::default()).await;
            status = r.assert_ok()["status"].as_str().map(str::to_owned);
            if status.as_deref() == Some(RefundStatus::Succeeded.as_str()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status.as_deref(), Some("succeeded"));
        let stored = app.db.store.refunds_for_order(&site.id, paid.id).await.unwrap();
        let upstream_refund = app
            .wechat
            .client
            .query_refund(stored[0].upstream_refund_no.as_str(), Some(SUB_MCHID))
            .await
            .unwrap();
        assert_eq!(upstream_refund.amount.refund, 3000);
        // Asked without the sub-merchant, the service provider has no such refund of its own.
        let unscoped = app.wechat.client.query_refund(stored[0].upstream_refund_no.as_str(), None).await;
        assert!(unscoped.is_err(), "{unscoped:?}");

        // The sandbox's own site is still paid to the direct merchant.
        let direct_order = wechat_order(&app, "sp_direct_beside").await;
        assert!(direct_order.sub_merchant.is_none());
        app.wechat.client.query_order(&TradeRef::OutTradeNo(direct_order.upstream_order_no.as_str().to_owned())).await.unwrap();
    }

    async fn the_operators_fee_split_ends_when_wechat_pay_tells_the_operator_it_was_paid(app: TestApp) {
        let site = sub_merchant_site(&app, "sub with a fee", SUB_MCHID).await;
        SiteService::new(app.db.store.clone())
            .set_fee(&site.id, FeeSchedule::parse(60, 0).unwrap(), &ActedBy::from(Actor::Cli))
            .await
            .unwrap();
        let order = native_order(&app, &site, "sub_fee_notified").await;
        sim_pay_partner(&app, &order, SUB_MCHID).await;
        let paid = wait_paid(&app, &site, "sub_fee_notified").await;
        let service = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let job = Job { id: 0, subject: JobSubject::PaidOrder(paid.id), due_at: Timestamp::now(), attempt: 0 };
        PlannedSplitter::new(service, Duration::ZERO).run(&job, Timestamp::now()).await;
        // No check job runs here: only WeChat Pay's PROFITSHARING.SUCCESS to the service provider,
        // the fee's receiver, can end the split.
        let no = SplitPurpose::Fee.split_no(paid.id);
        let mut split = None;
        for _ in 0..400 {
            let found = app.db.store.find_split(&site.id, &no).await.unwrap().unwrap();
            if found.status != SplitStatus::Processing {
                split = Some(found);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let split = split.expect("the fee split never ended");
        assert_eq!(split.status, SplitStatus::Succeeded, "{split:?}");
        let balance = app.signed_as(&site, "GET", "/v1/balance", "", Signing::default()).await;
        assert_eq!(balance.assert_ok()["fees"], 60);
    }

    async fn a_sub_merchant_not_bound_to_the_service_provider_is_refused_by_the_channel(app: TestApp) {
        let site = sub_merchant_site(&app, "shop of another provider", "1900000199").await;
        let body = json!({"out_trade_no": "sp_unbound", "channel": "wechat", "method": "native",
            "description": "VIP年卡", "amount_total": 10000});
        let refused = app.create_order_as(&site, &body).await;
        let answer: Value = serde_json::from_str(&refused.text).unwrap();
        assert_eq!((refused.status, answer["error"].as_str()), (502, Some("wechat_create_failed")), "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("NO_AUTH"), "{answer}");
        let trade = TradeRef::OutTradeNo(app.stored(&site, "sp_unbound").await.upstream_order_no.as_str().to_owned());
        assert!(app.wechat.client.query_partner_order(&trade, "1900000199").await.is_err());
    }

    async fn a_verified_callback_naming_another_sub_merchant_or_the_direct_merchant_is_refused(app: TestApp) {
        let site = sub_merchant_site(&app, "shop under the provider", SUB_MCHID).await;
        let order = native_order(&app, &site, "sp_callback_refused").await;
        let mchid = &sandbox_keys().wechat_mchid;

        // Validly signed by WeChat Pay, about this order, but for another sub-merchant.
        let body = wechat_envelope(&partner_transaction(&order, "1900000110"));
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        // And as the direct merchant's own payment.
        let body = wechat_envelope(&transaction(&order, order.amount.as_i64()));
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        let refused = anomalies(&app, "merchant_mismatch").await;
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().all(|a| a.order_id == Some(order.id)));
        assert!(refused[0].detail.contains("1900000110") || refused[1].detail.contains("1900000110"), "{refused:?}");
        assert_eq!(app.stored_status(&site, "sp_callback_refused").await, OrderStatus::Pending);
        assert_eq!(success_events(&app, &order).await, 0);

        // A direct merchant's order is not paid by a partner callback either.
        let direct = wechat_order(&app, "sp_direct_refused").await;
        let body = wechat_envelope(&partner_transaction(&direct, SUB_MCHID));
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        assert_eq!(app.stored_status(&app.site, "sp_direct_refused").await, OrderStatus::Pending);

        // The genuine partner callback is accepted.
        let body = wechat_envelope(&partner_transaction(&order, SUB_MCHID));
        let r = post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(app.stored_status(&site, "sp_callback_refused").await, OrderStatus::Paid);
    }
}
