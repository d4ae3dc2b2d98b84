//! Channel-neutral orders and their check job: a payment through any app's upstream order is found
//! when its callback is lost, and a second payment through another app after the order was paid
//! is found too, and recorded for the operator, never applied.

use gateway::domain::{EventType, Order, OrderStatus, PayMethod, Payer};
use serde_json::json;

use crate::api_tests;
use crate::harness::{Workers, events, eventually, job, service, sim_alipay_pay, status};
use crate::support::app::{TestApp, sandbox_keys};

/// A channel-neutral order, and the order as seen through its WeChat Native and Alipay QR
/// upstream orders (a desktop payer's two QR codes).
async fn neutral_with_two_codes(app: &TestApp, no: &str) -> (Order, Order, Order) {
    let r = app
        .create_order(&json!({"out_trade_no": no, "method": "any", "description": "VIP月卡", "amount_total": 2990}))
        .await;
    assert_eq!(r.assert_ok()["status"], "pending", "{}", r.text);
    let order = app.stored(&app.site, no).await;
    let service = service(app);
    let method = |m: &str| PayMethod::parse_dotted(m).unwrap();
    let wechat = service
        .attempt(&order, method("wechat.native"), Payer::default())
        .await
        .unwrap();
    let alipay = service
        .attempt(&order, method("alipay.qr"), Payer::default())
        .await
        .unwrap();
    (order, wechat, alipay)
}

async fn sim_wechat_pay(app: &TestApp, view: &Order) {
    let url = format!(
        "{}/sim/wechat/orders/{}/pay?mchid={}",
        app.sim.base_url,
        view.upstream_order_no.as_str(),
        sandbox_keys().wechat_mchid
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

async fn anomalies(app: &TestApp, kind: &str) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM anomalies WHERE kind = '{kind}'"
        ))
        .await
}

api_tests! {
    async fn a_payment_through_one_app_whose_callback_was_lost_is_found_by_the_check_job(app: TestApp) {
        let (order, _wechat, alipay) = neutral_with_two_codes(&app, "any_lost_cb").await;
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        sim_alipay_pay(&app, &alipay).await;

        let workers = Workers::start(&app);
        eventually("the order paid", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        workers.stop().await;

        let paid = app.stored(&app.site, "any_lost_cb").await;
        assert_eq!(paid.pay_method.to_string(), "alipay.qr");
        assert_eq!(paid.upstream_order_no, alipay.upstream_order_no);
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }

    async fn a_second_payment_through_another_app_after_the_order_was_paid_is_an_anomaly(app: TestApp) {
        let (order, wechat, alipay) = neutral_with_two_codes(&app, "any_twice").await;
        // The payer pays by Alipay, whose callback is lost, then by WeChat, whose callback comes.
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        sim_alipay_pay(&app, &alipay).await;
        app.sim_faults(None).await;
        sim_wechat_pay(&app, &wechat).await;
        eventually("paid through WeChat", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        let paid = app.stored(&app.site, "any_twice").await;
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);
        assert!(job(&app, &order).await.is_some(), "the check job goes on for the other app's order");

        // The check job asks the Alipay order: paid too, so a second payment.
        let workers = Workers::start(&app);
        eventually("the second payment recorded", || async { anomalies(&app, "second_payment").await == 1 }).await;
        eventually("the check job done", || async { job(&app, &order).await.is_none() }).await;
        workers.stop().await;

        let still = app.stored(&app.site, "any_twice").await;
        assert_eq!((still.status, still.upstream_order_no.clone()), (OrderStatus::Paid, wechat.upstream_order_no.clone()));
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess], "the site is told once");
        assert_eq!(anomalies(&app, "transaction_mismatch").await, 0);
    }
}
