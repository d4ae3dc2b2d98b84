//! The check job on a neutral order no attempt has paid yet: it asks each open attempt (only a
//! payment counts), and at expiry closes every attempt upstream, then the order. Once paid, it
//! goes on until the other attempts are closed, and finds a second payment through one of them.

use gateway::domain::{EventType, OrderStatus};
use gateway::workers::JobOutcome;
use serde_json::json;

use crate::api_tests;
use crate::harness::*;
use crate::helpers::{anomalies, captured, success_events};
use crate::support::app::TestApp;

api_tests! {
    async fn a_payment_whose_callback_was_dropped_is_found_by_the_check_job(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = neutral_order(&app, "order_any_dropped").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        let checker = checker(&app);

        // Nothing paid yet: checked again later, nothing changes.
        let due = job(&app, &order).await.expect("a neutral order is checked like any other");
        assert!(matches!(checker.check(&due, a_second_from_now()).await, JobOutcome::RetryAt(_)));
        assert_eq!(stored(&app, &order).await.status, OrderStatus::Pending);

        paid_in_sim(&app, &alipay).await;
        assert_eq!(captured(&app, "alipay", &alipay).await["state"], "dropped");
        assert_eq!(stored(&app, &order).await.status, OrderStatus::Pending);

        // Found, recorded, and the other app's order closed by the same check: nothing is left
        // to check.
        let due = job(&app, &order).await.unwrap();
        assert_eq!(checker.check(&due, a_second_from_now()).await, JobOutcome::Done);
        let paid = stored(&app, &order).await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!((paid.pay_method, &paid.upstream_order_no), (alipay_qr(), &alipay.upstream_order_no));
        assert!(paid.upstream.trade_no.is_some(), "{paid:?}");
        let v = app.get_order("order_any_dropped").await;
        assert_eq!((v.json["channel"].as_str(), v.json["method"].as_str()), (Some("alipay"), Some("qr")), "{}", v.text);
        assert_eq!(success_events(&app, &order).await, 1);
        // The WeChat code is closed as after a callback.
        wait_attempt_closed(&app, &wechat).await;
    }

    async fn an_unpaid_order_past_expiry_closes_every_attempt_upstream_then_itself(app: TestApp) {
        let order = neutral_order(&app, "order_any_expired").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        expire_now(&app, &order).await;

        let due = job(&app, &order).await.unwrap();
        assert_eq!(checker(&app).check(&due, a_second_from_now()).await, JobOutcome::Done);

        let closed = stored(&app, &order).await;
        assert_eq!(closed.status, OrderStatus::Closed);
        assert!(closed.is_unbound(), "closed unpaid, bound to nothing: {closed:?}");
        for view in [&wechat, &alipay] {
            assert!(closed_upstream(&app, view).await, "{view:?}");
            assert!(attempt_of(&app, view).await.closed_at.is_some());
            assert_eq!(sim_pay(&app, view).await, 409, "nobody can pay {view:?} any more");
        }
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
        assert_eq!(job(&app, &order).await, None);
        let v = app.get_order("order_any_expired").await;
        assert_eq!((v.json["status"].as_str(), v.json["method"].as_str()), (Some("closed"), Some("any")), "{}", v.text);
    }

    async fn an_order_no_payer_opened_closes_here_at_expiry(app: TestApp) {
        let order = neutral_order(&app, "order_any_unopened").await;
        expire_now(&app, &order).await;

        let due = job(&app, &order).await.unwrap();
        assert_eq!(checker(&app).check(&due, a_second_from_now()).await, JobOutcome::Done);
        assert_eq!(stored(&app, &order).await.status, OrderStatus::Closed);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
        assert_eq!(app.sim_wechat_orders(), 0, "the check job makes nothing upstream");
        assert!(test_support::sim::alipay_trades(app.sim_dir.path()).is_empty());
    }

    async fn an_attempt_paid_just_before_expiry_pays_the_order_instead_of_closing_it(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = neutral_order(&app, "order_any_last_second").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        paid_in_sim(&app, &wechat).await;
        expire_now(&app, &order).await;

        let due = job(&app, &order).await.unwrap();
        assert_eq!(checker(&app).check(&due, a_second_from_now()).await, JobOutcome::Done);
        let paid = stored(&app, &order).await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
        wait_attempt_closed(&app, &alipay).await;
    }

    async fn a_second_payment_through_another_app_after_the_order_was_paid_is_found_by_the_check_job(app: TestApp) {
        let order = neutral_order(&app, "order_any_twice_found").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        // The payer pays by Alipay, whose callback is lost, then by WeChat, whose callback comes.
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        paid_in_sim(&app, &alipay).await;
        app.sim_faults(None).await;
        paid_in_sim(&app, &wechat).await;
        let paid = wait_status(&app, &order, OrderStatus::Paid).await;
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);
        let due = job(&app, &order).await.expect("the check job goes on for the other app's order");

        // The check job asks the Alipay order: paid too, so a second payment, and nothing is
        // left to check.
        assert_eq!(checker(&app).check(&due, a_second_from_now()).await, JobOutcome::Done);
        assert_eq!(anomalies(&app, "second_payment").await.len(), 1);
        assert!(anomalies(&app, "transaction_mismatch").await.is_empty());
        let still = stored(&app, &order).await;
        assert_eq!((still.status, &still.upstream_order_no), (OrderStatus::Paid, &wechat.upstream_order_no));
        assert_eq!(success_events(&app, &order).await, 1, "the site is told once");
    }
}
