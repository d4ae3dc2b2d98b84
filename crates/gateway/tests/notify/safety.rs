//! Acceptance 7: outside sandbox, notify URLs that lead to loopback, private, link-local or metadata
//! addresses are refused before any connection — literal addresses and names that resolve to them —
//! and redirects are never followed.

use std::time::Duration;

use gateway::store::NotificationStatus;

use super::harness::{Workers, paid_order, settings, settled, site};
use super::receiver::{Answer, Receiver};
use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn internal_targets_are_refused_without_connecting(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]).await;
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

    async fn with_private_targets_allowed_loopback_is_delivered(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![]).await;
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
        let receiver = Receiver::start(vec![Answer::Redirect("/elsewhere")]).await;
        let shop = site(store, "shop", Some(&receiver.url("/n"))).await;
        let workers = Workers::start(store, settings(&[], true));
        let event_id = paid_order(store, &shop, "order_redirect_1", None).await;
        let event = settled(store, &event_id).await;
        workers.stop().await;
        assert_eq!(event.status, NotificationStatus::Failed);
        let attempts = store.attempts(&event_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].http_status, Some(302));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let paths: Vec<_> = receiver.seen().into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/n"], "the redirect was followed");
    }
}
