//! A site served as an Alipay merchant that authorised the operator's app: every call about its
//! orders carries the merchant's `app_auth_token` (read from the site when the call is made), its
//! trades are the merchant's in the simulator, and a notification must name the merchant's
//! account; the token is sealed at rest and never written out.

use std::time::Duration;

use gateway::compensation::PlannedSplitter;
use gateway::domain::{
    ActedBy, Actor, AlipayMerchant, AlipaySellerId, AppAuthToken, FeeSchedule, Job, JobSubject,
    Order, OrderStatus, Site, SplitPurpose, SplitStatus, Timestamp,
};
use gateway::service::{OrderService, ServiceSettings, SiteService};
use gateway::store::SiteUpdate;
use serde_json::{Value, json};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{Signing, TestApp, sandbox_keys};

const SELLER: &str = "2088102146225135";

/// The merchant `seller` authorises the sandbox app in the simulator; its new token.
async fn authorise(app: &TestApp, seller: &str) -> String {
    let url = format!("{}/sim/alipay/app-auth", app.sim.base_url);
    let body = json!({"app_id": sandbox_keys().alipay_app_id, "merchant_id": seller});
    let resp = app.http.post(url).json(&body).send().await.unwrap();
    assert!(resp.status().is_success());
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["user_id"], seller);
    answer["app_auth_token"].as_str().unwrap().to_owned()
}

async fn serve_as(app: &TestApp, site: &Site, merchant: Option<(&str, &str)>) {
    let update = SiteUpdate {
        alipay_merchant: Some(merchant.map(|(seller, token)| AlipayMerchant {
            seller_id: AlipaySellerId::parse(seller).unwrap(),
            app_auth_token: AppAuthToken::parse(token).unwrap(),
        })),
        ..SiteUpdate::default()
    };
    SiteService::new(app.db.store.clone())
        .update(&site.id, &update, &ActedBy::from(Actor::Cli))
        .await
        .unwrap()
        .unwrap();
}

async fn qr_order(app: &TestApp, site: &Site, no: &str) -> Order {
    let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
        "description": "VIP年卡", "amount_total": 10000});
    app.create_order_as(site, &body).await.assert_ok();
    app.stored(site, no).await
}

/// The merchant's payer pays its trade in the simulator.
async fn sim_pay(app: &TestApp, order: &Order, seller: &str) {
    let url = format!(
        "{}/sim/alipay/trades/{}/pay?app_id={}&merchant_id={seller}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        sandbox_keys().alipay_app_id
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

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

async fn refund(
    app: &TestApp,
    site: &Site,
    no: &str,
    out_refund_no: &str,
    fen: i64,
) -> crate::support::app::Reply {
    let body = json!({"out_refund_no": out_refund_no, "amount": fen}).to_string();
    app.signed_as(
        site,
        "POST",
        &format!("/v1/orders/{no}/refunds"),
        &body,
        Signing::default(),
    )
    .await
}

fn query(no: &str) -> alipay::TradeRef {
    alipay::TradeRef::OutTradeNo(no.to_owned())
}

api_tests! {
    async fn a_merchants_order_is_made_paid_and_refunded_with_its_token(app: TestApp) {
        let token = authorise(&app, SELLER).await;
        let site = app.another_site("merchant of its own").await;
        serve_as(&app, &site, Some((SELLER, &token))).await;
        let order = qr_order(&app, &site, "isv_paid_refunded").await;
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.alipay_seller_id.as_ref().map(AlipaySellerId::as_str), Some(SELLER));
        // The trade is the merchant's: the app alone does not find it, the merchant's token does.
        let no = order.upstream_order_no.as_str();
        let own = app.alipay.client.query_order(&query(no)).await.unwrap_err();
        assert_eq!(own.upstream_code(), Some("ACQ.TRADE_NOT_EXIST"), "{own}");
        app.alipay.client.acting_for(&token).query_order(&query(no)).await.unwrap();

        // The simulator's notification names the merchant's account, and pays the order.
        sim_pay(&app, &order, SELLER).await;
        let paid = wait_for(&app, &site, "isv_paid_refunded", OrderStatus::Paid).await;
        assert_eq!(success_events(&app, &paid).await, 1);
        assert!(anomalies(&app, "merchant_mismatch").await.is_empty());

        // The merchant authorises the app again: the old token stops working, the site gets the
        // new one, and the order made before is refunded with it.
        let renewed = authorise(&app, SELLER).await;
        assert_ne!(renewed, token);
        serve_as(&app, &site, Some((SELLER, &renewed))).await;
        let r = refund(&app, &site, "isv_paid_refunded", "isv_refund_1", 3000).await;
        assert_eq!(r.assert_ok()["status"], "succeeded");
        let trade = app.alipay.client.acting_for(&renewed).query_order(&query(no)).await.unwrap();
        assert_eq!(trade.trade_status, alipay::TradeStatus::TradeSuccess);

        // A site paid to the operator's own account beside it is untouched.
        let own_order = alipay_order(&app, "isv_own_beside").await;
        assert!(own_order.alipay_seller_id.is_none());
        app.alipay.client.query_order(&query(own_order.upstream_order_no.as_str())).await.unwrap();
    }

    async fn the_operators_fee_on_a_merchants_order_is_taken_by_royalty(app: TestApp) {
        let token = authorise(&app, SELLER).await;
        let site = app.another_site("merchant paying a fee").await;
        serve_as(&app, &site, Some((SELLER, &token))).await;
        SiteService::new(app.db.store.clone())
            .set_fee(&site.id, FeeSchedule::parse(60, 0).unwrap(), &ActedBy::from(Actor::Cli))
            .await
            .unwrap();
        let order = qr_order(&app, &site, "isv_fee").await;
        // Made for profit sharing, though the site did not ask: the fee must wait for its split.
        assert!(order.profit_sharing);
        let plan = order.split_plan.clone().unwrap();
        assert_eq!(plan.fee.as_ref().unwrap().account.as_str(), app.alipay.client.seller_id().unwrap());
        assert!(plan.ledger.is_empty() && plan.unfreeze_rest);
        sim_pay(&app, &order, SELLER).await;
        let paid = wait_for(&app, &site, "isv_fee", OrderStatus::Paid).await;

        let service = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let job = Job { id: 0, subject: JobSubject::PaidOrder(paid.id), due_at: Timestamp::now(), attempt: 0 };
        PlannedSplitter::new(service, Duration::ZERO).run(&job, Timestamp::now()).await;
        let fee_no = SplitPurpose::Fee.split_no(paid.id);
        let split = app.db.store.find_split(&site.id, &fee_no).await.unwrap().unwrap();
        // Alipay settles at once.
        assert_eq!(split.status, SplitStatus::Succeeded, "{split:?}");

        // The merchant's trade settled 0.60 to the operator's own account and finished the rest.
        let url = format!(
            "{}/sim/alipay/trades/{}?app_id={}&merchant_id={SELLER}",
            app.sim.base_url,
            paid.upstream_order_no.as_str(),
            sandbox_keys().alipay_app_id
        );
        let trade: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
        let settlements = trade["settlements"].as_array().unwrap();
        assert_eq!(settlements.len(), 1, "{trade}");
        assert_eq!(settlements[0]["royalty_finish"], true);
        let to = &settlements[0]["splits"][0];
        assert_eq!((to["trans_in"].as_str(), to["amount_fen"].as_i64()), (app.alipay.client.seller_id(), Some(60)), "{trade}");

        let balance = app.signed_as(&site, "GET", "/v1/balance", "", Signing::default()).await;
        let b = balance.assert_ok();
        assert_eq!((b["paid"].as_i64(), b["fees"].as_i64(), b["shared"].as_i64(), b["net"].as_i64()), (Some(10_000), Some(60), Some(0), Some(9940)), "{b}");
        let unbalanced = "SELECT COUNT(*) FROM (SELECT movement_id FROM ledger_entries \
                          GROUP BY movement_id HAVING SUM(amount_fen) <> 0) t";
        assert_eq!(app.db.count(unbalanced).await, 0);
    }

    async fn without_the_merchants_token_nothing_is_sent_and_the_order_is_left_as_it_is(app: TestApp) {
        let token = authorise(&app, SELLER).await;
        let site = app.another_site("merchant of its own").await;
        serve_as(&app, &site, Some((SELLER, &token))).await;
        let order = qr_order(&app, &site, "isv_no_token").await;
        sim_pay(&app, &order, SELLER).await;
        wait_for(&app, &site, "isv_no_token", OrderStatus::Paid).await;
        // The operator stops serving the site as the merchant: a refund of its earlier order is
        // kept (reserved, `processing`, for its check job once the token is back) but is not sent
        // from the app's own account, nor asked about without the token (Alipay would answer that
        // the app has no such trade, and the refund would fail while the money is still there).
        serve_as(&app, &site, None).await;
        let r = refund(&app, &site, "isv_no_token", "isv_refund_none", 1000).await;
        assert_eq!(r.assert_ok()["status"], "processing");
        assert!(!r.text.contains(&token), "{}", r.text);
        let stored = app.stored(&site, "isv_no_token").await;
        assert_eq!(stored.status, OrderStatus::Paid);
        let trade = app.alipay.client.acting_for(&token).query_order(&query(order.upstream_order_no.as_str())).await.unwrap();
        assert_eq!(trade.trade_status, alipay::TradeStatus::TradeSuccess, "nothing was refunded");
    }

    async fn a_verified_notification_naming_another_account_is_refused(app: TestApp) {
        let token = authorise(&app, SELLER).await;
        let site = app.another_site("merchant of its own").await;
        serve_as(&app, &site, Some((SELLER, &token))).await;
        let order = qr_order(&app, &site, "isv_other_seller").await;
        drop_callbacks(&app, true).await;
        sim_pay(&app, &order, SELLER).await;
        let record = captured(&app, "alipay", &order).await;
        let fields = form_fields(record["body"].as_str().unwrap());
        assert_eq!(field(&fields, "seller_id"), Some(SELLER));
        // Signed by Alipay, for this app, but naming the operator's own account, or another
        // merchant's.
        for seller in ["2088000000000001", "2088102146225136"] {
            let forged = signed_alipay_body(&app, &with_field(&fields, "seller_id", seller));
            let r = post_alipay(&app, &sandbox_keys().alipay_app_id, &forged).await;
            assert_ne!(r.text, "success");
        }
        let refused = anomalies(&app, "merchant_mismatch").await;
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().all(|a| a.order_id == Some(order.id)), "{refused:?}");
        assert_eq!(app.stored_status(&site, "isv_other_seller").await, OrderStatus::Pending);
        // The genuine one pays it.
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, record["body"].as_str().unwrap()).await;
        assert_eq!(r.text, "success");
        wait_for(&app, &site, "isv_other_seller", OrderStatus::Paid).await;
    }

    async fn the_token_is_sealed_at_rest_and_never_in_the_audit_log(app: TestApp) {
        let token = authorise(&app, SELLER).await;
        let site = app.another_site("merchant of its own").await;
        serve_as(&app, &site, Some((SELLER, &token))).await;
        let sealed_rows = app.db.count(&format!(
            "SELECT COUNT(*) FROM sites WHERE alipay_seller_id = '{SELLER}' AND alipay_app_auth_token_sealed IS NOT NULL")).await;
        assert_eq!(sealed_rows, 1);
        let sealed: Vec<u8> = app.db.bytes(&format!("SELECT alipay_app_auth_token_sealed FROM sites WHERE id = '{}'", site.id)).await;
        assert!(!sealed.windows(token.len()).any(|w| w == token.as_bytes()));
        let audit = app.db.store.list_audit(10).await.unwrap();
        let entry = audit.iter().find(|e| e.action == "site.update").unwrap();
        assert!(entry.detail.contains(SELLER) && !entry.detail.contains(&token), "{}", entry.detail);
        // Read back, it opens to the same token; moved to another site's row, it does not open.
        let read = app.db.store.find_site(&site.id).await.unwrap().unwrap();
        assert_eq!(read.alipay_merchant.unwrap().app_auth_token.expose(), token);
        app.db.execute(&format!(
            "UPDATE sites SET alipay_seller_id = '{SELLER}', alipay_app_auth_token_sealed = \
             (SELECT alipay_app_auth_token_sealed FROM sites WHERE id = '{}') WHERE id = '{}'", site.id, app.site.id)).await;
        assert!(app.db.store.find_site(&app.site.id).await.is_err());
    }
}
