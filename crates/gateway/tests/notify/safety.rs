//! Acceptance 7: outside sandbox, notify URLs that lead to loopback, private, link-local or metadata
//! addresses are refused before any connection — literal addresses, IPv6 forms that embed them, and
//! names that resolve to them — unless the operator allowed the site private targets; and redirects
//! are never followed. What a private target answered, and where a refused name led, are not shown
//! to the site.

use std::time::Duration;

use gateway::domain::{
    Amount, NewRefund, NotificationStatus, NotifyUrl, OutRefundNo, OutTradeNo, RefundRequest,
    RefundStatus, Timestamp,
};
use gateway::store::{FinishOutcome, RefundFinish, ReserveOutcome};
use test_support::receiver::{Answer, Receiver};

use super::harness::{Workers, paid_order, private_site, settings, settled, site};
use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn internal_targets_are_refused_without_connecting(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let port = receiver.addr.port();
        let shop = site(store, "shop", None).await;
        // No retries: each event fails on its first (refused) attempt.
        let workers = Workers::start(store, settings(&[], false));
        let targets = [
            format!("http://127.0.0.1:{port}/n"),
            "http://10.0.0.1/n".to_owned(),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            format!("http://[::1]:{port}/n"),
            format!("http://localhost:{port}/n"),
            format!("http://2130706433:{port}/n"),
            // IPv4-translated and NAT64 forms of internal addresses.
            format!("http://[::ffff:0:7f00:1]:{port}/n"),
            "http://[::ffff:0:a9fe:a9fe]/latest/meta-data/".to_owned(),
            format!("http://[64:ff9b::7f00:1]:{port}/n"),
            "http://[64:ff9b:1::a00:1]/n".to_owned(),
        ];
        for (i, url) in targets.iter().enumerate() {
            let event_id = paid_order(store, &shop, &format!("order_refused_{i}"), Some(url)).await;
            let event = settled(store, &event_id).await;
            assert_eq!(event.status, NotificationStatus::Failed, "{url}");
            let attempts = store.attempts(&event_id).await.unwrap();
            assert_eq!(attempts.len(), 1, "{url}");
            let error = attempts[0].error.as_deref().unwrap();
            assert!(error.starts_with("refused: "), "{url}: {error}");
            assert_eq!(attempts[0].http_status, None);
        }
        workers.stop().await;
        assert!(receiver.seen().is_empty(), "a refused target was connected to");
    }

    async fn a_refunds_own_notify_url_is_refused_when_it_leads_inside(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let shop = site(store, "shop", None).await;
        let workers = Workers::start(store, settings(&[], false));
        let paid = paid_order(store, &shop, "order_refund_inside", None).await;
        let order = store
            .find_order(&shop.id, &OutTradeNo::parse("order_refund_inside").unwrap())
            .await
            .unwrap()
            .unwrap();
        // The site names an internal address for this refund alone.
        let request = RefundRequest {
            out_refund_no: OutRefundNo::parse("r_inside").unwrap(),
            amount: Amount::parse(100).unwrap(),
            reason: None,
            notify_url: Some(NotifyUrl::parse(&receiver.url("/admin")).unwrap()),
        };
        let new = NewRefund::prepare(&order, request, Timestamp::now());
        let later = Timestamp::now().plus(Duration::from_secs(3600));
        let ReserveOutcome::Reserved(refund) = store.reserve_refund(&new, later).await.unwrap() else {
            panic!("not reserved");
        };
        let finish = RefundFinish {
            refund_id: refund.id,
            to: RefundStatus::Succeeded,
            channel_refund_id: None,
            error: None,
            at: Timestamp::now(),
        };
        let FinishOutcome::Applied { event_id, .. } = store.finish_refund(&finish).await.unwrap() else {
            panic!("not applied");
        };
        assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Failed);
        settled(store, &paid).await;
        workers.stop().await;
        let attempts = store.attempts(&event_id).await.unwrap();
        assert!(attempts[0].error.as_deref().unwrap().starts_with("refused: "), "{attempts:?}");
        assert!(receiver.seen().is_empty(), "the refund's internal target was connected to");
    }

    async fn with_private_targets_allowed_loopback_is_delivered(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let shop = site(store, "shop", None).await;
        let workers = Workers::start(store, settings(&[], true));
        let url = format!("http://localhost:{}/n", receiver.addr.port());
        let event_id = paid_order(store, &shop, "order_sandbox_1", Some(&url)).await;
        assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Delivered);
        workers.stop().await;
        assert_eq!(receiver.seen().len(), 1);
    }

    async fn a_redirect_is_a_failure_and_is_not_followed(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![Answer::redirect("/elsewhere")]);
        let shop = site(store, "shop", Some(&receiver.url("/n"))).await;
        let workers = Workers::start(store, settings(&[], true));
        let event_id = paid_order(store, &shop, "order_redirect_1", None).await;
        let event = settled(store, &event_id).await;
        assert_eq!(event.status, NotificationStatus::Failed);
        let attempts = store.attempts(&event_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].http_status, Some(302));
        // A followed redirect would have reached the receiver before a notification created only
        // now: once this one is delivered, anything the first one led to has arrived too.
        let later = paid_order(store, &shop, "order_redirect_2", Some(&receiver.url("/later"))).await;
        assert_eq!(settled(store, &later).await.status, NotificationStatus::Delivered);
        workers.stop().await;
        let paths: Vec<_> = receiver.seen().into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/n", "/later"], "the redirect was followed");
    }
}

api_tests! {
    async fn only_the_site_allowed_private_targets_reaches_them(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]);
        let url = receiver.url("/n");
        let intranet = private_site(store, "intranet", Some(&url)).await;
        let other = site(store, "other", Some(&url)).await;
        // Not sandbox mode: no site may reach private targets unless it was allowed to.
        let workers = Workers::start(store, settings(&[], false));
        let allowed = paid_order(store, &intranet, "order_intranet_1", None).await;
        let refused = paid_order(store, &other, "order_other_1", None).await;
        assert_eq!(settled(store, &allowed).await.status, NotificationStatus::Delivered);
        assert_eq!(settled(store, &refused).await.status, NotificationStatus::Failed);
        workers.stop().await;
        let refusal = store.attempts(&refused).await.unwrap();
        assert!(refusal[0].error.as_deref().unwrap().starts_with("refused: "), "{refusal:?}");
        let seen: Vec<_> = receiver.seen().iter().map(|c| c.header("x-1pass-event-id").to_owned()).collect();
        assert_eq!(seen, [allowed], "only the allowed site's event reached the private target");
    }

    async fn a_site_sees_no_answer_or_address_of_a_private_target(app: TestApp) {
        let store = &app.db.store;
        // An internal service that answers with something worth reading.
        let internal = Receiver::start(vec![Answer::status(500)]);
        let intranet = private_site(store, "intranet", Some(&internal.url("/admin"))).await;
        let workers = Workers::start(store, settings(&[20], false));
        let event_id = paid_order(store, &intranet, "order_internal_1", None).await;
        assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Delivered);
        workers.stop().await;

        let path = "/v1/orders/order_internal_1/notifications";
        let json = app.signed_as(&intranet, "GET", path, "", Default::default()).await.assert_ok().clone();
        let attempts = json["notifications"][0]["attempts"].as_array().unwrap().clone();
        assert_eq!(attempts.len(), 2);
        for a in &attempts {
            assert!(a["response_excerpt"].is_null(), "the answer leaked: {a}");
        }
        assert_eq!(attempts[0]["http_status"], 500);
        assert_eq!(attempts[0]["error"], "HTTP 500");
        let shown = json.to_string();
        assert!(!shown.contains("boom"), "{shown}");

        // The operator still has it all.
        let recorded = store.attempts(&event_id).await.unwrap();
        assert!(recorded.iter().all(|a| a.private_target));
        assert_eq!(recorded[0].response_excerpt.as_deref(), Some("boom: the site i"));
    }

    async fn a_refusal_shown_to_the_site_does_not_say_where_the_name_leads(app: TestApp) {
        let store = &app.db.store;
        let shop = site(store, "shop", None).await;
        let workers = Workers::start(store, settings(&[], false));
        let targets = [
            ("order_probe_1", "http://localhost:9/n"),
            ("order_probe_2", "http://10.20.30.40/n"),
            ("order_probe_3", "http://[64:ff9b:1::a14:1e28]/n"),
        ];
        for (no, url) in targets {
            let event_id = paid_order(store, &shop, no, Some(url)).await;
            assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Failed, "{url}");
            let path = format!("/v1/orders/{no}/notifications");
            let json = app.signed_as(&shop, "GET", &path, "", Default::default()).await.assert_ok().clone();
            let error = json["notifications"][0]["attempts"][0]["error"].as_str().unwrap().to_owned();
            assert!(error.contains("non-public address"), "{url}: {error}");
            for revealing in ["127.0.0.1", "::1", "10.20.30.40", "64:ff9b", "loopback", "private address"] {
                assert!(!error.contains(revealing), "{url}: {error}");
            }
            // The operator's record names the address.
            let recorded = store.attempts(&event_id).await.unwrap();
            let operator = recorded[0].error.as_deref().unwrap();
            assert!(operator.starts_with("refused: ") && operator.contains(" resolves to "), "{operator}");
        }
        workers.stop().await;
    }
}
