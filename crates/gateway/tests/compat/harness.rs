//! What the compatibility scenarios share: a protocol turned on for a site, workers delivering
//! notifications, and a client that does not follow redirects (to read where a page sends the payer).

use std::sync::Arc;
use std::time::Duration;

use gateway::domain::{Actor, AuditAction, AuditEntry, CompatKey, Protocol, Site, Timestamp};
use gateway::notify::{Deliverer, NotifySettings};
use gateway::workers::{JobHandler, WorkerSettings};
use tokio::sync::oneshot;

use crate::support::app::TestApp;

/// Turns `protocol` on for `site`, as `paygate site compat enable` does.
pub async fn enable(app: &TestApp, site: &Site, protocol: Protocol) -> CompatKey {
    let audit = AuditEntry::new(Timestamp::now(), Actor::Cli, AuditAction::CompatEnable);
    app.db
        .store
        .enable_compat(&site.id, protocol, Timestamp::now(), &audit)
        .await
        .unwrap()
}

/// Workers running the notification deliverer on a schedule of milliseconds, to the receiver on
/// loopback; stopped when dropped.
pub struct Delivering {
    stop: Option<oneshot::Sender<()>>,
}

impl Delivering {
    pub fn start(app: &TestApp) -> Self {
        let settings = NotifySettings {
            schedule: vec![Duration::from_millis(50); 3],
            timeout: Duration::from_secs(5),
            allow_private_targets: true,
            excerpt_limit: 256,
        };
        let deliverer: Arc<dyn JobHandler> =
            Arc::new(Deliverer::new(app.db.store.clone(), settings, "compat-test").unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(gateway::workers::run(
            app.db.store.clone(),
            vec![deliverer],
            WorkerSettings {
                poll_interval: Duration::from_millis(20),
                lease: Duration::from_secs(30),
                batch: 8,
                node_id: "compat-test".to_owned(),
            },
            async move {
                let _ = stopped.await;
            },
        ));
        Self { stop: Some(stop) }
    }
}

impl Drop for Delivering {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A browser that stops at each redirect.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where a redirect answer sends the browser.
pub fn location(r: &reqwest::Response) -> String {
    assert!(r.status().is_redirection(), "{r:?}");
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// A URL's query, decoded.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
