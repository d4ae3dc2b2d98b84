//! What every scenario needs: workers running the `Deliverer`, a site and a paid order, waiting for
//! an event to settle, and the README's verification scripts (from `test_support::snippets`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::domain::{
    NotificationEvent, NotificationStatus, NotifyUrl, OrderStatus, PayMethod, Site, SiteName,
    Timestamp, UpstreamFields,
};
use gateway::notify::{Deliverer, NotifySettings};
use gateway::store::{InsertOutcome, NewSite, Store, Transition};
use gateway::workers::{JobHandler, WorkerSettings};
use test_support::receiver::Received;
use tokio::sync::oneshot;

use super::support::{insert, seed_request};

pub const NODE: &str = "test-node";

/// Notification settings with a schedule in milliseconds.
pub fn settings(schedule_ms: &[u64], allow_private_targets: bool) -> NotifySettings {
    NotifySettings {
        schedule: schedule_ms
            .iter()
            .copied()
            .map(Duration::from_millis)
            .collect(),
        timeout: Duration::from_secs(5),
        allow_private_targets,
        excerpt_limit: 16,
    }
}

/// `workers::run` with the `Deliverer`, stopped gracefully by [`Workers::stop`] (or aborted on drop).
pub struct Workers {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    pub fn start(store: &Store, settings: NotifySettings) -> Self {
        let deliverer: Arc<dyn JobHandler> =
            Arc::new(Deliverer::new(store.clone(), settings, NODE).unwrap());
        let worker_settings = WorkerSettings {
            poll_interval: Duration::from_millis(20),
            lease: Duration::from_secs(30),
            batch: 8,
            node_id: NODE.to_owned(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway::workers::run(
            store.clone(),
            vec![deliverer],
            worker_settings,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("workers did not stop")
            .unwrap();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A site whose notify URL is `url`.
pub async fn site(store: &Store, name: &str, url: Option<&str>) -> Site {
    create_site(store, name, url, false).await
}

/// A site whose notify URL is `url`, which the operator allowed to reach private targets.
pub async fn private_site(store: &Store, name: &str, url: Option<&str>) -> Site {
    create_site(store, name, url, true).await
}

async fn create_site(
    store: &Store,
    name: &str,
    url: Option<&str>,
    allow_private_targets: bool,
) -> Site {
    let new = NewSite {
        name: SiteName::parse(name).unwrap(),
        notify_url: url.map(|u| NotifyUrl::parse(u).unwrap()),
        enabled_methods: PayMethod::all().into_iter().collect::<BTreeSet<_>>(),
        allow_private_targets,
    };
    store.create_site(new, Timestamp::now()).await.unwrap()
}

/// Seed 000's order, with `notify_url` as its override, paid (transaction id
/// `4200000000000000000001`); returns the notification event's id.
pub async fn paid_order(store: &Store, site: &Site, no: &str, notify_url: Option<&str>) -> String {
    let mut request = seed_request(no);
    request.notify_url = notify_url.map(|u| NotifyUrl::parse(u).unwrap());
    let InsertOutcome::Inserted(order) = insert(store, site, request).await else {
        panic!("{no} existed");
    };
    let outcome = store
        .transition(&Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "test: paid".to_owned(),
            upstream: UpstreamFields {
                transaction_id: Some("4200000000000000000001".to_owned()),
                ..UpstreamFields::default()
            },
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    outcome
        .event_id()
        .expect("a paid order has an event")
        .to_owned()
}

/// The event once it is no longer pending.
pub async fn settled(store: &Store, event_id: &str) -> NotificationEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let event = store.notification(event_id).await.unwrap().unwrap();
        if event.status != NotificationStatus::Pending {
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "{event_id} still pending: {event:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `interop/<script>` on a captured notification with `body`; true when it says the
/// signature is valid.
pub fn script_accepts(script: &str, sk: &str, captured: &Received, body: &[u8]) -> bool {
    test_support::snippets::accepts(script, sk, captured, body)
}
