//! `GET /v1/balance`: the signing site's balance from the ledger, moved by payments (with the
//! operator's fee) and refunds that reached the payer, and never another site's.

use std::time::Duration;

use gateway::domain::{ActedBy, Actor, FeeSchedule, OrderStatus, Site};
use gateway::service::SiteService;
use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{Signing, TestApp};

/// The operator sets `site`'s fee, as `paygate site fee` does.
async fn set_fee(app: &TestApp, site: &Site, rate_bps: i64, fixed_fen: i64) {
    let schedule = FeeSchedule::parse(rate_bps, fixed_fen).unwrap();
    SiteService::new(app.db.store.clone())
        .set_fee(&site.id, schedule, &ActedBy::from(Actor::Cli))
        .await
        .unwrap()
        .unwrap();
}

/// An Alipay QR order of `fen` by `site`, paid in the simulator and recorded as paid. (Alipay ends
/// a refund in its answer, so refunds of it succeed at once.)
async fn paid(app: &TestApp, site: &Site, no: &str, fen: i64) {
    let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
        "description": "VIP年卡", "amount_total": fen});
    app.create_order_as(site, &body).await.assert_ok();
    let order = app.stored(site, no).await;
    let url = format!(
        "{}/sim/alipay/trades/{}/pay?app_id={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        crate::support::app::sandbox_keys().alipay_app_id
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    for _ in 0..200 {
        if app.stored_status(site, no).await == OrderStatus::Paid {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

async fn balance_of(app: &TestApp, site: &Site) -> Value {
    let reply = app
        .signed_as(site, "GET", "/v1/balance", "", Signing::default())
        .await;
    reply.assert_ok().clone()
}

fn figures(b: &Value) -> [i64; 5] {
    ["paid", "refunded", "fees", "shared", "net"].map(|k| b[k].as_i64().unwrap())
}

api_tests! {
    async fn the_balance_follows_payments_fees_and_refunds(app: TestApp) {
        set_fee(&app, &app.site, 60, 0).await;
        let empty = balance_of(&app, &app.site).await;
        assert_eq!(empty, json!({"site_id": app.site.id.as_str(), "currency": "CNY",
            "paid": 0, "refunded": 0, "fees": 0, "shared": 0, "net": 0}));

        paid(&app, &app.site, "order_balance_001", 10_000).await;
        assert_eq!(figures(&balance_of(&app, &app.site).await), [10_000, 0, 60, 0, 9_940]);

        let body = json!({"out_refund_no": "refund_001", "amount": 2_500});
        let refund = app.signed("POST", "/v1/orders/order_balance_001/refunds", &body.to_string()).await;
        assert_eq!(refund.assert_ok()["status"], "succeeded");
        assert_eq!(figures(&balance_of(&app, &app.site).await), [10_000, 2_500, 60, 0, 7_440]);

        let body = json!({"out_refund_no": "refund_002", "amount": 7_500});
        let refund = app.signed("POST", "/v1/orders/order_balance_001/refunds", &body.to_string()).await;
        assert_eq!(refund.assert_ok()["status"], "succeeded");
        assert_eq!(figures(&balance_of(&app, &app.site).await), [10_000, 10_000, 60, 0, -60]);
        assert_eq!(app.db.count("SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) FROM ledger_entries").await, 0);
    }

    async fn a_site_sees_its_own_balance_and_never_another_sites(app: TestApp) {
        let b = app.another_site("site b").await;
        set_fee(&app, &app.site, 60, 0).await;
        paid(&app, &app.site, "order_balance_001", 10_000).await;
        paid(&app, &b, "order_balance_001", 500).await;

        let mine = balance_of(&app, &app.site).await;
        assert_eq!((mine["site_id"].as_str(), figures(&mine)), (Some(app.site.id.as_str()), [10_000, 0, 60, 0, 9_940]));
        let theirs = balance_of(&app, &b).await;
        assert_eq!((theirs["site_id"].as_str(), figures(&theirs)), (Some(b.id.as_str()), [500, 0, 0, 0, 500]));
        // There is no way to name another site: a query naming A, signed by B, is B's balance.
        let path = format!("/v1/balance?site_id={}", app.site.id.as_str());
        let named = app.signed_as(&b, "GET", &path, "", Signing::default()).await;
        assert_eq!(figures(named.assert_ok()), [500, 0, 0, 0, 500]);
        // B's AK with A's SK, or no signature at all, is refused.
        let crossed = Signing { sk: Some(app.site.secret_key.expose().to_owned()), ..Signing::default() };
        app.signed_as(&b, "GET", "/v1/balance", "", crossed).await.assert_error(401, "invalid_signature");
        assert_eq!(app.get("/v1/balance").await.status, 401);
    }

    async fn the_balance_route_is_documented(app: TestApp) {
        let doc = app.get("/openapi.json").await;
        let op = &doc.json["paths"]["/v1/balance"]["get"];
        assert!(op.is_object(), "{}", doc.text);
        assert!(doc.json["components"]["schemas"]["V1Balance"]["properties"]["net"].is_object());
    }
}
