//! Acceptance 2: failures are retried on the (scaled) schedule and recorded; a receiver down past the
//! last retry leaves the event failed, and a re-send delivers it.

use std::time::Duration;

use gateway::domain::NotificationStatus;
use test_support::receiver::{Answer, Receiver};

use super::harness::{Workers, paid_order, settings, settled, site};
use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn two_500s_then_200_is_three_attempts_on_the_schedule(app: TestApp) {
        let store = &app.db.store;
        let receiver = Receiver::start(vec![Answer::status(500), Answer::status(500)]);
        let shop = site(store, "shop", Some(&receiver.url("/n"))).await;
        let workers = Workers::start(store, settings(&[150, 300, 10_000], true));
        let event_id = paid_order(store, &shop, "order_retry_001", None).await;

        let first = receiver.next(Duration::from_secs(10)).await;
        let second = receiver.next(Duration::from_secs(10)).await;
        let third = receiver.next(Duration::from_secs(10)).await;
        let event = settled(store, &event_id).await;
        workers.stop().await;

        assert_eq!(event.status, NotificationStatus::Delivered);
        assert_eq!(event.attempts, 3);
        assert_eq!(receiver.seen().len(), 3);
        assert!(second.at - first.at >= Duration::from_millis(150), "{:?}", second.at - first.at);
        assert!(third.at - second.at >= Duration::from_millis(300), "{:?}", third.at - second.at);
        // The same event, the same body, every time; fresh signature headers.
        assert_eq!(first.body, third.body);
        assert_ne!(first.header("x-1pass-nonce"), third.header("x-1pass-nonce"));

        let attempts = store.attempts(&event_id).await.unwrap();
        let seen: Vec<_> = attempts.iter().map(|a| (a.attempt_no, a.http_status, a.error.as_deref())).collect();
        assert_eq!(seen, [(1, Some(500), Some("HTTP 500")), (2, Some(500), Some("HTTP 500")), (3, Some(200), None)]);
        // The excerpt is bounded (16 bytes in these settings).
        assert_eq!(attempts[0].response_excerpt.as_deref(), Some("boom: the site i"));
        assert!(attempts.iter().all(|a| a.latency_ms >= 0 && a.latency_ms < 5_000));
        assert!(attempts.windows(2).all(|w| w[1].at.as_millis() - w[0].at.as_millis() >= 150));
    }

    async fn a_receiver_down_past_the_last_retry_fails_and_a_resend_delivers(app: TestApp) {
        let store = &app.db.store;
        // A port with nothing listening on it: every attempt is refused by the OS.
        let addr = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let url = format!("http://{addr}/n");
        let shop = site(store, "shop", Some(&url)).await;
        let workers = Workers::start(store, settings(&[20, 20], true));
        let event_id = paid_order(store, &shop, "order_down_001", None).await;

        let event = settled(store, &event_id).await;
        assert_eq!(event.status, NotificationStatus::Failed);
        let attempts = store.attempts(&event_id).await.unwrap();
        assert_eq!(attempts.len(), 3, "the first attempt and two retries");
        for a in &attempts {
            assert_eq!(a.http_status, None);
            assert!(a.error.as_deref().unwrap().starts_with("cannot connect"), "{a:?}");
        }

        // The site is back. It asks for a re-send through the API.
        let receiver = Receiver::start_at(addr, vec![]);
        let reply = app
            .signed_as(&shop, "POST", &format!("/v1/notifications/{event_id}/resend"), "", Default::default())
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text);
        assert_eq!(reply.json["status"], "pending");
        let got = receiver.next(Duration::from_secs(10)).await;
        assert_eq!(got.header("x-1pass-event-id"), event_id);
        let event = settled(store, &event_id).await;
        assert_eq!(event.status, NotificationStatus::Delivered);
        assert_eq!(event.attempts, 4);

        // The operator's re-send (what `paygate notify resend` calls) delivers it again, same body.
        assert!(store.requeue_notification(None, &event_id, gateway::domain::Timestamp::now()).await.unwrap());
        let again = receiver.next(Duration::from_secs(10)).await;
        assert_eq!(again.body, got.body);
        assert_eq!(settled(store, &event_id).await.status, NotificationStatus::Delivered);
        workers.stop().await;
        assert!(!store.requeue_notification(None, "evt_unknown", gateway::domain::Timestamp::now()).await.unwrap());
    }
}
