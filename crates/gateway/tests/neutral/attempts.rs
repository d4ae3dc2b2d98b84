//! Pay attempts: one upstream order per app the payer opens the checkout in, reused while it is
//! good; the first one paid binds the order, and the others are closed upstream.

use std::time::Duration;

use gateway::channels::UpstreamStatus;
use gateway::domain::{Channel, EventType, Method, Openid, OrderStatus, PayMethod, Payer};
use gateway::service::{Applied, ResultSource};

use crate::api_tests;
use crate::harness::*;
use crate::helpers::{sim_alipay, success_events, wait_settled};
use crate::support::app::TestApp;

api_tests! {
    async fn each_app_gets_its_own_upstream_order_and_a_second_visit_reuses_it(app: TestApp) {
        let order = neutral_order(&app, "order_any_codes").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        let numbers = [&order.upstream_order_no, &wechat.upstream_order_no, &alipay.upstream_order_no];
        assert!(numbers[0] != numbers[1] && numbers[0] != numbers[2] && numbers[1] != numbers[2], "{numbers:?}");
        assert_eq!((wechat.pay_method, alipay.pay_method), (wechat_native(), alipay_qr()));
        assert!(wechat.upstream.code_url.as_deref().is_some_and(|u| u.starts_with("weixin://")), "{wechat:?}");
        assert!(alipay.upstream.qr_code.is_some(), "{alipay:?}");
        // Each exists upstream under its own number, unpaid.
        assert_eq!(upstream(&app, &wechat).await, UpstreamStatus::NotPaid);
        assert_eq!(sim_alipay_trade(&app, &alipay).await.unwrap()["trade_status"], "WAIT_BUYER_PAY");

        // The payer reloads the page: the same upstream orders, not new ones.
        let (wechat_again, alipay_again) = both_codes(&app, &order).await;
        assert_eq!(wechat_again.upstream_order_no, wechat.upstream_order_no);
        assert_eq!(wechat_again.upstream.code_url, wechat.upstream.code_url);
        assert_eq!(alipay_again.upstream_order_no, alipay.upstream_order_no);
        assert_eq!(attempts_of(&app, &order).await.len(), 2);
        assert_eq!(app.sim_wechat_orders(), 1);

        // Until one is paid the order is still neutral and hands out no pay parameters itself.
        let v = app.get_order("order_any_codes").await;
        assert_eq!((v.json["channel"].as_str(), v.json["method"].as_str()), (Some("any"), Some("any")), "{}", v.text);
        assert!(v.json["pay_params"].is_null(), "{}", v.text);
    }

    async fn paying_one_attempt_binds_the_order_to_it_and_closes_the_other(app: TestApp) {
        let order = neutral_order(&app, "order_any_pay_wx").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        paid_in_sim(&app, &wechat).await;

        let paid = wait_status(&app, &order, OrderStatus::Paid).await;
        let UpstreamStatus::Paid { transaction_id, .. } = upstream(&app, &wechat).await else {
            panic!("the simulator lost the payment");
        };
        assert_eq!(paid.pay_method, wechat_native());
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);
        assert_eq!(paid.upstream.transaction_id.as_deref(), Some(transaction_id.as_str()));
        assert!(!paid.is_unbound());
        let v = app.get_order("order_any_pay_wx").await;
        let v = v.assert_ok();
        assert_eq!((v["channel"].as_str(), v["method"].as_str()), (Some("wechat"), Some("native")), "{v}");
        assert_eq!(v["status"], "paid");
        assert_eq!(v["transaction_id"], transaction_id.as_str());
        assert!(v["pay_params"].is_null(), "{v}");
        // WeChat Pay was answered at once with its real callback.
        let log = wait_settled(&app, "wechat", &wechat).await;
        assert_eq!((log.len(), log[0]["state"].as_str()), (1, Some("delivered")), "{log:?}");

        // The Alipay code can no longer be paid: closed upstream, in the background.
        wait_attempt_closed(&app, &alipay).await;
        assert_eq!(attempt_of(&app, &wechat).await.closed_at, None, "the paid attempt is not closed");
        assert_eq!(sim_pay(&app, &alipay).await, 409);
        assert_eq!(success_events(&app, &order).await, 1);
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
        assert_eq!(stored(&app, &order).await, paid, "nothing changed the order after its payment");
    }

    async fn closed_or_failed_news_of_one_attempt_changes_nothing(app: TestApp) {
        let order = neutral_order(&app, "order_any_one_closed").await;
        let (wechat, alipay) = both_codes(&app, &order).await;
        // The payer gives up in Alipay: the trade is closed there, and Alipay says so.
        sim_alipay(&app, &alipay, "fail").await;
        let log = wait_settled(&app, "alipay", &alipay).await;
        assert_eq!(log[0]["attempts"][0]["response"], "success", "{log:?}");
        // A failed WeChat payment (PAYERROR) leaves the order payable too.
        let fail = format!("{}/sim/wechat/orders/{}/fail?mchid={}", app.sim.base_url,
            wechat.upstream_order_no.as_str(), crate::support::app::sandbox_keys().wechat_mchid);
        assert!(app.http.post(fail).send().await.unwrap().status().is_success());
        let service = service(&app);
        for (view, news) in [(&alipay, UpstreamStatus::Closed), (&wechat, UpstreamStatus::Failed), (&wechat, UpstreamStatus::Closed)] {
            let applied = service.apply_upstream(view, &news, ResultSource::Query).await.unwrap();
            assert!(matches!(&applied, Applied::Unchanged(o) if o.status == OrderStatus::Pending), "{news:?}: {applied:?}");
        }
        let still = stored(&app, &order).await;
        assert_eq!(still.status, OrderStatus::Pending);
        assert!(still.is_unbound());
        assert_eq!(events(&app, &order).await, []);

        // The payer then pays in WeChat: that is the order's payment.
        paid_in_sim(&app, &wechat).await;
        let paid = wait_status(&app, &order, OrderStatus::Paid).await;
        assert_eq!(paid.upstream_order_no, wechat.upstream_order_no);
        assert_eq!(events(&app, &order).await, [EventType::TransactionSuccess]);
    }

    async fn a_payer_of_their_own_gets_their_own_attempt(app: TestApp) {
        let order = neutral_order(&app, "order_any_payers").await;
        let jsapi = PayMethod::new(Channel::Wechat, Method::Jsapi).unwrap();
        let payer = |openid: &str| Payer { openid: Some(Openid::parse(openid).unwrap()), ..Payer::default() };
        let service = service(&app);
        let first = service.attempt(&order, jsapi, payer("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")).await.unwrap();
        let again = service.attempt(&order, jsapi, payer("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")).await.unwrap();
        let other = service.attempt(&order, jsapi, payer("oOtherPayer00000000000000000")).await.unwrap();
        assert!(first.upstream.prepay_id.is_some(), "{first:?}");
        assert_eq!((again.upstream_order_no.clone(), again.upstream.prepay_id.clone()), (first.upstream_order_no.clone(), first.upstream.prepay_id.clone()));
        assert_ne!(other.upstream_order_no, first.upstream_order_no, "a WeChat order is bound to its openid");
        assert_eq!(attempts_of(&app, &order).await.len(), 2);
    }

    async fn an_old_wechat_h5_link_is_asked_for_again(app: TestApp) {
        let order = neutral_order(&app, "order_any_h5").await;
        let h5 = PayMethod::new(Channel::Wechat, Method::H5).unwrap();
        let phone = |ip: &str| Payer { client_ip: Some(ip.parse().unwrap()), ..Payer::default() };
        let service = service(&app);
        let first = service.attempt(&order, h5, phone("203.0.113.7")).await.unwrap();
        assert!(first.upstream.h5_url.is_some(), "{first:?}");
        // A minute later, from another IP (a phone changes networks): the same link.
        let fresh = service.attempt(&order, h5, phone("198.51.100.9")).await.unwrap();
        assert_eq!((&fresh.upstream_order_no, &fresh.upstream.h5_url), (&first.upstream_order_no, &first.upstream.h5_url));
        let issued = attempt_of(&app, &first).await.updated_at;

        // Five minutes after it was issued WeChat Pay no longer honours it: asked for again.
        let five_minutes = i64::try_from(Duration::from_secs(300).as_millis()).unwrap();
        app.db.execute(&format!("UPDATE pay_attempts SET updated_at = updated_at - {five_minutes} WHERE order_id = {}",
            order.id.as_i64())).await;
        let renewed = service.attempt(&order, h5, phone("203.0.113.7")).await.unwrap();
        assert_eq!(renewed.upstream_order_no, first.upstream_order_no, "the same upstream order");
        assert!(renewed.upstream.h5_url.is_some());
        assert!(attempt_of(&app, &renewed).await.updated_at.as_millis() >= issued.as_millis(), "the link was asked for again");
        assert_eq!(attempts_of(&app, &order).await.len(), 1);
        assert_eq!(app.sim_wechat_orders(), 1);
    }
}
