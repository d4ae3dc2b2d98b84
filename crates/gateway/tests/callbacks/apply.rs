//! `OrderService::apply_upstream` on its own: the one place an upstream result changes an order.

use channel_core::Fen;
use gateway::channels::UpstreamStatus;
use gateway::domain::{OrderStatus, Timestamp};
use gateway::service::{AnomalyKind, Applied, OrderService, ResultSource, ServiceSettings};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::TestApp;

fn service(app: &TestApp) -> OrderService {
    OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    )
}

fn paid(id: &str, fen: i64) -> UpstreamStatus {
    UpstreamStatus::Paid {
        transaction_id: id.to_owned(),
        paid_at: Some(Timestamp::from_millis(1_706_601_600_000)),
        amount: Fen(fen),
    }
}

api_tests! {
    async fn a_payment_is_applied_once_and_only_for_the_orders_amount(app: TestApp) {
        let s = service(&app);
        let order = wechat_order(&app, "ap_paid").await;
        for news in [UpstreamStatus::NotPaid, UpstreamStatus::Paying, UpstreamStatus::NotFound] {
            assert!(matches!(s.apply_upstream(&order, &news, ResultSource::Query).await.unwrap(), Applied::Unchanged(_)));
        }
        let refused = s.apply_upstream(&order, &paid("4200000001", 2989), ResultSource::Query).await.unwrap();
        assert_eq!(refused, Applied::Refused(AnomalyKind::AmountMismatch));
        assert_eq!(app.stored_status(&app.site, "ap_paid").await, OrderStatus::Pending);
        assert_eq!(anomalies(&app, "amount_mismatch").await.len(), 1);

        let Applied::Changed(now) = s.apply_upstream(&order, &paid("4200000001", 2990), ResultSource::Query).await.unwrap() else {
            panic!("not applied");
        };
        assert_eq!(now.status, OrderStatus::Paid);
        assert_eq!(now.upstream.transaction_id.as_deref(), Some("4200000001"));
        assert_eq!(now.upstream.trade_no, None);
        assert_eq!(now.paid_at, Some(Timestamp::from_millis(1_706_601_600_000)));
        // `order` is stale (pending): a duplicate is still recognised, and later news cannot undo it.
        for news in [paid("4200000001", 2990), UpstreamStatus::Closed, UpstreamStatus::Failed, UpstreamStatus::Refunded] {
            let r = s.apply_upstream(&order, &news, ResultSource::Callback).await.unwrap();
            assert_eq!(r, Applied::Unchanged(now.clone()), "{news:?}");
        }
        assert_eq!(success_events(&app, &order).await, 1);
        // The same order reported paid under another transaction: kept, and flagged.
        assert!(matches!(s.apply_upstream(&now, &paid("4200000002", 2990), ResultSource::Query).await.unwrap(), Applied::Unchanged(_)));
        assert_eq!(anomalies(&app, "transaction_mismatch").await.len(), 1);
    }

    async fn concurrent_applications_change_the_order_once(app: TestApp) {
        let s = service(&app);
        let order = wechat_order(&app, "ap_race").await;
        // Callbacks and queries of the same payment, all at once.
        let tasks: Vec<_> = (0..16).map(|i| {
            let (s, order) = (s.clone(), order.clone());
            let source = if i % 2 == 0 { ResultSource::Callback } else { ResultSource::Query };
            tokio::spawn(async move { s.apply_upstream(&order, &paid("4200000003", 2990), source).await.unwrap() })
        }).collect();
        let mut changed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Applied::Changed(_) => changed += 1,
                Applied::Unchanged(o) => assert_eq!(o.status, OrderStatus::Paid),
                Applied::Refused(k) => panic!("refused: {k:?}"),
            }
        }
        assert_eq!(changed, 1);
        assert_eq!(success_events(&app, &order).await, 1);
        assert_eq!(payments_booked(&app, &order).await, 1);
    }

    async fn closed_and_failed_and_a_late_payment(app: TestApp) {
        let s = service(&app);
        let closing = wechat_order(&app, "ap_closed").await;
        let Applied::Changed(closed) = s.apply_upstream(&closing, &UpstreamStatus::Closed, ResultSource::Query).await.unwrap() else {
            panic!("not closed");
        };
        assert_eq!(closed.status, OrderStatus::Closed);
        // A payment reported afterwards is money for an order the site was told is closed: kept
        // for a human (once per order and source, however often it comes). A callback's word
        // alone leaves the order closed.
        for _ in 0..3 {
            assert!(matches!(s.apply_upstream(&closed, &paid("4200000004", 2990), ResultSource::Callback).await.unwrap(), Applied::Unchanged(_)));
        }
        let recorded = anomalies(&app, "paid_while_closed").await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!((recorded[0].order_id, recorded[0].occurrences), (Some(closed.id), 3));
        assert!(recorded[0].detail.contains("4200000004"), "{}", recorded[0].detail);
        assert_eq!(app.stored_status(&app.site, "ap_closed").await, OrderStatus::Closed);
        assert_eq!(success_events(&app, &closed).await, 0);
        assert_eq!(payments_booked(&app, &closed).await, 0, "no money booked for a closed order");
        // The channel's own answer to a query is the truth about money: the order is paid, once,
        // and the site is told.
        let Applied::Changed(now) = s.apply_upstream(&closed, &paid("4200000004", 2990), ResultSource::Query).await.unwrap() else {
            panic!("not paid");
        };
        assert_eq!((now.status, now.upstream.transaction_id.as_deref()), (OrderStatus::Paid, Some("4200000004")));
        assert!(matches!(s.apply_upstream(&closed, &paid("4200000004", 2990), ResultSource::Query).await.unwrap(), Applied::Unchanged(_)));
        assert_eq!(success_events(&app, &closed).await, 1);
        assert_eq!(payments_booked(&app, &closed).await, 1, "booked with the transition, once");
        assert_eq!(anomalies(&app, "paid_while_closed").await.len(), 2, "one per source");

        let failing = wechat_order(&app, "ap_failed").await;
        let Applied::Changed(failed) = s.apply_upstream(&failing, &UpstreamStatus::Failed, ResultSource::Query).await.unwrap() else {
            panic!("not failed");
        };
        assert_eq!(failed.status, OrderStatus::Failed);
        // The payer retried and paid: the channel is the truth about money.
        let Applied::Changed(now) = s.apply_upstream(&failed, &paid("4200000005", 2990), ResultSource::Callback).await.unwrap() else {
            panic!("not paid");
        };
        assert_eq!(now.status, OrderStatus::Paid);
        assert_eq!(payments_booked(&app, &failed).await, 1);
    }

    async fn an_alipay_payment_is_recorded_as_its_trade_no(app: TestApp) {
        let s = service(&app);
        let order = alipay_order(&app, "ap_alipay").await;
        let Applied::Changed(now) = s.apply_upstream(&order, &paid("2024013022001400001234567890", 2990), ResultSource::Query).await.unwrap() else {
            panic!("not applied");
        };
        assert_eq!(now.upstream.trade_no.as_deref(), Some("2024013022001400001234567890"));
        assert_eq!(now.upstream.transaction_id, None);
    }
}
