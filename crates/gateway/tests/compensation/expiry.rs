//! Orders past their expiry: closed upstream and here — unless the channel says paid.

use gateway::channels::UpstreamStatus;
use gateway::domain::{EventType, OrderStatus};
use serde_json::json;

use crate::api_tests;
use crate::harness::{
    Workers, alipay_order, events, eventually, expire_now, job, sim_alipay_trade, status, upstream,
    wechat_order,
};
use crate::support::app::TestApp;

api_tests! {
    async fn an_unpaid_order_past_expiry_is_closed_upstream_then_here(app: TestApp) {
        let order = wechat_order(&app, "order_exp_unpaid").await;
        expire_now(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order closed", || async { status(&app, &order).await == OrderStatus::Closed }).await;
        workers.stop().await;

        assert_eq!(upstream(&app, &order).await, UpstreamStatus::Closed);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
        assert_eq!(job(&app, &order).await, None);
    }

    async fn an_order_paid_just_before_expiry_is_paid_not_closed(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = wechat_order(&app, "order_exp_paid").await;
        app.sim_wechat_pay(&app.site, "order_exp_paid").await;
        expire_now(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order settled", || async { status(&app, &order).await != OrderStatus::Pending }).await;
        workers.stop().await;

        assert_eq!(status(&app, &order).await, OrderStatus::Paid);
        assert!(upstream(&app, &order).await.was_paid());
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }

    async fn an_alipay_page_never_opened_is_closed_here_after_expiry(app: TestApp) {
        // WAP, page and App trades exist at Alipay only once the payer opens them (the simulator
        // precreates QR trades, so WAP is the "never opened" case here): close and query say "no
        // such trade", and after time_expire nobody can open it any more.
        let order = alipay_order(&app, "order_exp_wap", "wap").await;
        expire_now(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order closed", || async { status(&app, &order).await == OrderStatus::Closed }).await;
        workers.stop().await;

        assert_eq!(sim_alipay_trade(&app, &order).await, None);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
    }

    async fn an_alipay_qr_order_past_expiry_is_closed_upstream_then_here(app: TestApp) {
        let order = alipay_order(&app, "order_exp_qr", "qr").await;
        expire_now(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order closed", || async { status(&app, &order).await == OrderStatus::Closed }).await;
        workers.stop().await;

        let trade = sim_alipay_trade(&app, &order).await.unwrap();
        assert_eq!(trade["trade_status"], "TRADE_CLOSED");
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
    }

    async fn an_order_never_sent_upstream_is_closed_here_after_expiry(app: TestApp) {
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;
        app.create_native(&crate::harness::native("order_exp_never")).await.assert_error(503, "upstream_unavailable");
        app.sim_faults(None).await;
        let order = app.stored(&app.site, "order_exp_never").await;
        assert_eq!(order.status, OrderStatus::Created);
        expire_now(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order closed", || async { status(&app, &order).await == OrderStatus::Closed }).await;
        workers.stop().await;
        assert_eq!(app.sim_wechat_orders(), 0, "a background job never creates upstream");
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
    }

    async fn an_unclear_close_changes_nothing_and_is_retried(app: TestApp) {
        let order = wechat_order(&app, "order_exp_flaky").await;
        expire_now(&app, &order).await;
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;

        let workers = Workers::start(&app);
        eventually("two expiry attempts answered with errors", || async {
            job(&app, &order).await.is_some_and(|j| j.attempt >= 2)
        }).await;
        assert_eq!(status(&app, &order).await, OrderStatus::Pending);
        assert_eq!(events(&app, &order).await, []);

        app.sim_faults(None).await;
        eventually("the order closed once the channel answers", || async { status(&app, &order).await == OrderStatus::Closed }).await;
        workers.stop().await;
        assert_eq!(upstream(&app, &order).await, UpstreamStatus::Closed);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
    }
}
