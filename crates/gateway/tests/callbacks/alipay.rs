//! `POST /callbacks/alipay/{app_id}`.

use gateway::domain::{Channel, JobSubject, OrderStatus, Timestamp};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{TestApp, sandbox_keys};

api_tests! {
    async fn a_payment_in_the_simulator_pays_the_order_through_its_real_notification(app: TestApp) {
        let order = alipay_order(&app, "cb_ali_paid").await;
        sim_alipay(&app, &order, "pay").await;
        let paid = wait_status(&app, "cb_ali_paid", OrderStatus::Paid).await;
        let trade_no = paid.upstream.trade_no.clone().expect("trade_no recorded");
        assert!(!trade_no.is_empty());
        assert!(paid.paid_at.is_some());
        assert_eq!(success_events(&app, &order).await, 1);
        let log = wait_settled(&app, "alipay", &order).await;
        assert_eq!(log[0]["state"], "delivered", "{:?}", log[0]);
        assert_eq!(log[0]["attempts"][0]["response"], "success");

        // A replay of the same notification: `success` again, nothing changes.
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, log[0]["body"].as_str().unwrap()).await;
        assert_eq!((r.status, r.text.as_str()), (200, "success"));
        assert_eq!(app.stored(&app.site, "cb_ali_paid").await, paid);
        assert_eq!(success_events(&app, &order).await, 1);
        assert!(metrics(&app).await.contains(r#"paygate_callbacks_total{channel="alipay",outcome="unchanged"}"#));
    }

    async fn a_changed_amount_fails_the_signature_is_recorded_and_expedites_the_check(app: TestApp) {
        let order = alipay_order(&app, "cb_ali_tampered").await;
        // The order's next check is far away; an untrusted notification should bring it forward.
        let later = Timestamp::now().as_millis() + 3_600_000;
        app.db.execute(&format!("UPDATE jobs SET due_at = {later} WHERE kind = 'check_order' AND subject = '{}'", order.id.as_i64())).await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let record = captured(&app, "alipay", &order).await;
        let body = record["body"].as_str().unwrap();
        assert!(body.contains("total_amount=29.90"), "{body}");
        let tampered = body.replace("total_amount=29.90", "total_amount=0.01");

        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, &tampered).await;
        assert_ne!(r.text, "success");
        assert_eq!(r.status, 401);
        let after = app.stored(&app.site, "cb_ali_tampered").await;
        assert_eq!(after.status, OrderStatus::Pending);
        assert_eq!(after.upstream.trade_no, None);
        assert_eq!(success_events(&app, &order).await, 0);
        let recorded = anomalies(&app, "callback_unverified").await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].channel, Channel::Alipay);
        assert_eq!(recorded[0].order_id, Some(order.id));
        assert!(!recorded[0].detail.contains("sign="), "{}", recorded[0].detail);
        let job = app.db.store.find_job(&JobSubject::Order(order.id)).await.unwrap().unwrap();
        assert!(job.due_at <= Timestamp::now(), "check not expedited: {job:?}");

        // The genuine notification still pays it.
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, body).await;
        assert_eq!((r.status, r.text.as_str()), (200, "success"));
        assert_eq!(app.stored_status(&app.site, "cb_ali_tampered").await, OrderStatus::Paid);
    }

    async fn a_correctly_signed_notification_of_another_amount_is_an_anomaly(app: TestApp) {
        let order = alipay_order(&app, "cb_ali_amount").await;
        // paygate's record says 19.90 while the trade at Alipay is (and is paid) 29.90.
        app.db.execute(&format!("UPDATE orders SET amount_fen = 1990 WHERE id = {}", order.id.as_i64())).await;
        sim_alipay(&app, &order, "pay").await;
        for _ in 0..100 {
            if !anomalies(&app, "amount_mismatch").await.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let recorded = anomalies(&app, "amount_mismatch").await;
        assert!(!recorded.is_empty());
        assert_eq!(recorded[0].order_id, Some(order.id));
        assert_eq!(recorded[0].channel, Channel::Alipay);
        let log = sim_callbacks(&app, "alipay", &order).await;
        assert!(log[0]["attempts"].as_array().unwrap().iter().all(|a| a["response"] != "success"), "{log:?}");
        assert_eq!(app.stored_status(&app.site, "cb_ali_amount").await, OrderStatus::Pending);
        assert_eq!(success_events(&app, &order).await, 0);
        assert!(metrics(&app).await.contains(r#"paygate_anomalies_total{kind="amount_mismatch",channel="alipay"}"#));
    }

    async fn trade_closed_closes_the_order(app: TestApp) {
        let order = alipay_order(&app, "cb_ali_closed").await;
        sim_alipay(&app, &order, "fail").await;
        wait_status(&app, "cb_ali_closed", OrderStatus::Closed).await;
        let closed = app.db.count(&format!(
            "SELECT COUNT(*) FROM notification_events WHERE order_id = {} AND event_type = 'TRANSACTION.CLOSED'", order.id.as_i64())).await;
        assert_eq!(closed, 1);
    }

    async fn the_wrong_app_id_in_the_path_is_refused(app: TestApp) {
        let order = alipay_order(&app, "cb_ali_path").await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let record = captured(&app, "alipay", &order).await;
        let r = post_alipay(&app, "2021000000000000", record["body"].as_str().unwrap()).await;
        assert_eq!(r.status, 404);
        assert_ne!(r.text, "success");
        assert_eq!(app.stored_status(&app.site, "cb_ali_path").await, OrderStatus::Pending);
    }
}
