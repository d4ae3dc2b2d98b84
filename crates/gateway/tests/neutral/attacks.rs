//! What must not work: news about an attempt from the other channel or of another amount, attempts
//! for orders that are not (or no longer) payable by any app, and channel calls about a neutral
//! order's placeholder method and number.

use channel_core::Fen;
use gateway::channels::{ChannelError, UpstreamStatus};
use gateway::domain::{Channel, Method, OrderStatus, PayMethod, Payer, Timestamp};
use gateway::service::{AnomalyKind, Applied, ResultSource, ServiceError};
use serde_json::json;

use crate::api_tests;
use crate::harness::*;
use crate::helpers::{
    anomalies, captured, drop_callbacks, form_fields, now_ts, post_alipay, post_wechat,
    sign_wechat, signed_alipay_body, success_events, transaction, wechat_envelope, with_field,
};
use crate::support::app::{TestApp, sandbox_keys};

api_tests! {
    async fn news_from_the_other_channel_about_an_attempt_is_a_merchant_mismatch(app: TestApp) {
        let order = neutral_order(&app, "order_any_cross").await;
        let (wechat, alipay) = both_codes(&app, &order).await;

        // A validly signed WeChat Pay payment naming the Alipay attempt's number.
        let body = wechat_envelope(&transaction(&alipay, 2990));
        post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body)
            .await
            .assert_wechat_fail(400);

        // A validly signed Alipay payment naming the WeChat attempt's number (a genuine
        // notification of another order, re-signed with the simulator's key).
        drop_callbacks(&app, true).await;
        let other = neutral_order(&app, "order_any_cross_other").await;
        let other_alipay = attempt(&app, &other, alipay_qr()).await;
        paid_in_sim(&app, &other_alipay).await;
        let genuine = captured(&app, "alipay", &other_alipay).await;
        let fields = form_fields(genuine["body"].as_str().unwrap());
        let forged = signed_alipay_body(&app, &with_field(&fields, "out_trade_no", wechat.upstream_order_no.as_str()));
        let r = post_alipay(&app, &sandbox_keys().alipay_app_id, &forged).await;
        assert_ne!(r.text, "success", "{}", r.text);

        let recorded = anomalies(&app, "merchant_mismatch").await;
        assert_eq!(recorded.len(), 2, "{recorded:?}");
        assert!(recorded.iter().all(|a| a.order_id == Some(order.id)), "{recorded:?}");
        let still = stored(&app, &order).await;
        assert_eq!(still.status, OrderStatus::Pending);
        assert!(still.is_unbound(), "{still:?}");
        assert_eq!(success_events(&app, &order).await, 0);
        for view in [&wechat, &alipay] {
            assert_eq!(attempt_of(&app, view).await.closed_at, None, "{view:?}");
        }
    }

    async fn a_payment_of_another_amount_through_an_attempt_is_refused(app: TestApp) {
        let order = neutral_order(&app, "order_any_amount").await;
        let (wechat, alipay) = both_codes(&app, &order).await;

        let body = wechat_envelope(&transaction(&wechat, 1));
        post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body)
            .await
            .assert_wechat_fail(400);
        // As a query would report it.
        let short = UpstreamStatus::Paid { transaction_id: "2024013022001400009999".to_owned(), paid_at: Some(Timestamp::now()), amount: Fen(2989) };
        let refused = service(&app).apply_upstream(&alipay, &short, ResultSource::Query).await.unwrap();
        assert_eq!(refused, Applied::Refused(AnomalyKind::AmountMismatch));

        let recorded = anomalies(&app, "amount_mismatch").await;
        assert_eq!(recorded.len(), 2, "{recorded:?}");
        assert!(recorded.iter().all(|a| a.order_id == Some(order.id)), "{recorded:?}");
        let still = stored(&app, &order).await;
        assert_eq!(still.status, OrderStatus::Pending);
        assert!(still.is_unbound(), "{still:?}");
        assert_eq!(success_events(&app, &order).await, 0);
    }

    async fn attempts_are_made_only_for_an_open_neutral_order_by_a_usable_method(app: TestApp) {
        let service = service(&app);
        let refused = |r: &Result<gateway::domain::Order, ServiceError>| format!("{r:?}");

        // A fixed order has no attempts.
        let fixed = json!({"out_trade_no": "order_wx_fixed", "channel": "wechat", "method": "native",
            "description": "VIP月卡", "amount_total": 2990});
        app.create_order(&fixed).await.assert_ok();
        let fixed = app.stored(&app.site, "order_wx_fixed").await;
        let r = service.attempt(&fixed, wechat_native(), Payer::default()).await;
        assert!(matches!(r, Err(ServiceError::NotFound)), "{}", refused(&r));

        // A method no checkout link offers, or one the site may not use.
        let order = neutral_order(&app, "order_any_methods").await;
        let wechat_app = PayMethod::new(Channel::Wechat, Method::App).unwrap();
        let r = service.attempt(&order, wechat_app, Payer::default()).await;
        assert!(matches!(r, Err(ServiceError::PaymentNotConfigured(_))), "{}", refused(&r));
        let wechat_only = site_with(&app, "wechat_only", &[wechat_native()]).await;
        app.create_order_as(&wechat_only, &any_body("order_any_wechat_only")).await.assert_ok();
        let narrow = app.stored(&wechat_only, "order_any_wechat_only").await;
        let r = service.attempt(&narrow, alipay_qr(), Payer::default()).await;
        assert!(matches!(r, Err(ServiceError::PaymentNotConfigured(_))), "{}", refused(&r));
        service.attempt(&narrow, wechat_native(), Payer::default()).await.unwrap();

        // Expired, closed, paid: nothing more can be paid.
        let expired = neutral_order(&app, "order_any_late").await;
        expire_now(&app, &expired).await;
        let r = service.attempt(&expired, wechat_native(), Payer::default()).await;
        assert!(matches!(r, Err(ServiceError::NotPayable(_))), "{}", refused(&r));
        let closed = neutral_order(&app, "order_any_shut").await;
        app.close_order("order_any_shut").await.assert_ok();
        let r = service.attempt(&closed, wechat_native(), Payer::default()).await;
        assert!(matches!(r, Err(ServiceError::NotPayable(OrderStatus::Closed))), "{}", refused(&r));
        let paid = neutral_order(&app, "order_any_done").await;
        let wechat = attempt(&app, &paid, wechat_native()).await;
        paid_in_sim(&app, &wechat).await;
        wait_status(&app, &paid, OrderStatus::Paid).await;
        for method in [wechat_native(), alipay_qr()] {
            // Not even the attempt that paid it is handed out again.
            let r = service.attempt(&paid, method, Payer::default()).await;
            assert!(matches!(r, Err(ServiceError::NotPayable(OrderStatus::Paid))), "{method}: {}", refused(&r));
        }
        for order in [&fixed, &order, &expired, &closed] {
            assert!(attempts_of(&app, order).await.is_empty(), "{order:?}");
        }
        assert_eq!(attempts_of(&app, &paid).await.len(), 1);
    }

    async fn no_channel_is_ever_called_with_a_neutral_orders_placeholder(app: TestApp) {
        let order = neutral_order(&app, "order_any_placeholder").await;
        let service = service(&app);
        let query = service.query_channel(&order).await;
        assert!(matches!(query, Err(ChannelError::Invalid(_))), "{query:?}");
        let close = service.close_channel(&order).await;
        assert!(matches!(close, Err(ChannelError::Invalid(_))), "{close:?}");
        assert_eq!(app.sim_wechat_orders(), 0);
        // Reading it asks no channel either.
        app.get_order("order_any_placeholder").await.assert_ok();
        assert_eq!(app.sim_wechat_orders(), 0);
    }
}
