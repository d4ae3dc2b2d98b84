//! A payment whose callback was dropped: the simulator drops it, and the order still becomes paid by
//! active query, with the site's notification written.

use gateway::channels::UpstreamStatus;
use gateway::domain::{EventType, OrderStatus};
use serde_json::json;

use crate::api_tests;
use crate::harness::{
    Workers, alipay_order, events, eventually, job, sim_alipay_pay, sim_wechat_callbacks, status,
    upstream, wechat_order,
};
use crate::support::app::TestApp;

api_tests! {
    async fn a_dropped_callback_is_made_good_by_the_active_query(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = wechat_order(&app, "order_comp_drop").await;
        app.sim_wechat_pay(&app.site, "order_comp_drop").await;
        assert_eq!(sim_wechat_callbacks(&app, &order).await, ["dropped"]);
        assert_eq!(status(&app, &order).await, OrderStatus::Pending);

        let workers = Workers::start(&app);
        eventually("the order paid by query", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        workers.stop().await;

        let UpstreamStatus::Paid { transaction_id, .. } = upstream(&app, &order).await else {
            panic!("the simulator lost the payment");
        };
        let paid = app.stored(&app.site, "order_comp_drop").await;
        assert_eq!(paid.upstream.transaction_id.as_deref(), Some(transaction_id.as_str()));
        assert!(paid.paid_at.is_some());
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
        assert_eq!(job(&app, &order).await, None, "a paid order is no longer checked");
    }

    async fn a_dropped_alipay_notification_is_made_good_by_the_active_query(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = alipay_order(&app, "order_comp_alipay", "qr").await;
        sim_alipay_pay(&app, &order).await;

        let workers = Workers::start(&app);
        eventually("the order paid by query", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        workers.stop().await;

        let UpstreamStatus::Paid { transaction_id, .. } = upstream(&app, &order).await else {
            panic!("the simulator lost the payment");
        };
        let paid = app.stored(&app.site, "order_comp_alipay").await;
        assert_eq!(paid.upstream.trade_no.as_deref(), Some(transaction_id.as_str()));
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }

    async fn an_order_left_created_is_found_paid(app: TestApp) {
        // paygate lost the channel's answer to the create call (crash, timeout): the order stayed
        // `created` although the channel has it, and the payer paid it.
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = wechat_order(&app, "order_comp_created").await;
        app.sim_wechat_pay(&app.site, "order_comp_created").await;
        app.db.execute(&format!("UPDATE orders SET status = 'created', code_url = NULL WHERE id = {}", order.id.as_i64())).await;

        let workers = Workers::start(&app);
        eventually("the created order paid by query", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        workers.stop().await;
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }

    async fn an_unclear_answer_changes_nothing_until_the_channel_answers(app: TestApp) {
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let order = wechat_order(&app, "order_comp_flaky").await;
        app.sim_wechat_pay(&app.site, "order_comp_flaky").await;
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;

        let workers = Workers::start(&app);
        eventually("two checks answered with errors", || async {
            job(&app, &order).await.is_some_and(|j| j.attempt >= 3)
        }).await;
        assert_eq!(status(&app, &order).await, OrderStatus::Pending);
        assert_eq!(events(&app, &order).await, []);

        app.sim_faults(Some(json!({"api_error_rate": 0.0}))).await;
        eventually("the order paid once the channel answers", || async { status(&app, &order).await == OrderStatus::Paid }).await;
        workers.stop().await;
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }
}
