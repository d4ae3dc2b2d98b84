//! `POST /v1/orders/{no}/close` of a neutral order: every attempt is closed upstream first, so
//! that nothing can be paid once the site was told the order is closed.

use gateway::domain::{EventType, OrderStatus};

use crate::api_tests;
use crate::harness::*;
use crate::helpers::anomalies;
use crate::support::app::TestApp;

api_tests! {
    async fn closing_closes_every_attempt_upstream_and_nothing_can_be_paid_after(app: TestApp) {
        let order = neutral_order(&app, "order_any_close").await;
        let (wechat, alipay) = both_codes(&app, &order).await;

        let r = app.close_order("order_any_close").await;
        let v = r.assert_ok();
        assert_eq!(v["status"], "closed", "{v}");
        assert_eq!(v["method"], "any", "{v}");
        for view in [&wechat, &alipay] {
            assert!(closed_upstream(&app, view).await, "{view:?}");
            assert!(attempt_of(&app, view).await.closed_at.is_some(), "{view:?}");
            // The payer still holding a code finds it closed.
            assert_eq!(sim_pay(&app, view).await, 409, "{view:?}");
        }
        assert_eq!(stored(&app, &order).await.status, OrderStatus::Closed);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
        assert!(anomalies(&app, "paid_while_closed").await.is_empty());
        // And no new attempt is made for it.
        let refused = service(&app).attempt(&order, wechat_native(), gateway::domain::Payer::default()).await;
        assert!(matches!(refused, Err(gateway::service::ServiceError::NotPayable(OrderStatus::Closed))), "{refused:?}");
    }

    async fn a_neutral_order_no_payer_opened_closes_at_once(app: TestApp) {
        neutral_order(&app, "order_any_close_unopened").await;
        let r = app.close_order("order_any_close_unopened").await;
        assert_eq!(r.assert_ok()["status"], "closed", "{}", r.text);
        assert_eq!(app.sim_wechat_orders(), 0);
    }

    async fn closing_an_order_paid_in_one_app_records_the_payment_and_is_refused(app: TestApp) {
        // The payer paid in WeChat; its callback is lost, so paygate only learns it when the
        // close of that attempt is refused.
        app.sim_faults(Some(serde_json::json!({"drop_callbacks": true}))).await;
        let order = neutral_order(&app, "order_any_close_paid").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        paid_in_sim(&app, &wechat).await;

        app.close_order("order_any_close_paid").await.assert_error(409, "order_paid");
        let paid = stored(&app, &order).await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!((paid.pay_method, &paid.upstream_order_no), (wechat_native(), &wechat.upstream_order_no));
        assert!(paid.upstream.transaction_id.is_some(), "{paid:?}");
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
        // The Alipay code is closed all the same.
        wait_attempt_closed(&app, &alipay).await;
        assert_eq!(attempt_of(&app, &wechat).await.closed_at, None);
    }
}
