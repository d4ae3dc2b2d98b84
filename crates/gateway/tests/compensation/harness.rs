//! What the compensation scenarios share: a checker on a scaled schedule, the worker loop running
//! it, and short ways to stage and inspect orders, jobs and events.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::channels::UpstreamStatus;
use gateway::compensation::{CompensationSettings, OrderChecker, RefundChecker};
use gateway::domain::{EventType, Job, JobSubject, Order, OrderStatus};
use gateway::service::{OrderService, ServiceSettings};
use gateway::workers::{self, JobHandler, WorkerSettings};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::support::app::TestApp;

/// The default schedule (1 min, 2 min, then every 5 min; 30 s grace) scaled down 1200 times.
pub fn scaled() -> CompensationSettings {
    CompensationSettings {
        schedule: vec![ms(50), ms(100), ms(200)],
        expiry_grace: ms(20),
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The order service the checkers use; a refund it sends itself is first checked after the
/// scaled schedule's first step.
pub fn service(app: &TestApp) -> OrderService {
    OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings {
            refund_check_after: scaled().schedule[0],
            ..ServiceSettings::new(app.public_url.clone())
        },
    )
}

pub fn checker(app: &TestApp) -> OrderChecker {
    OrderChecker::new(service(app), scaled())
}

/// The worker loop running the order and refund checkers, until `stop` (or drop, which only aborts it).
pub struct Workers {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    pub fn start(app: &TestApp) -> Self {
        let handlers: Vec<Arc<dyn JobHandler>> = vec![
            Arc::new(checker(app)),
            Arc::new(RefundChecker::new(service(app), &scaled())),
        ];
        let settings = WorkerSettings {
            poll_interval: ms(10),
            lease: Duration::from_secs(10),
            batch: 8,
            node_id: "compensation-test".to_owned(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(workers::run(
            app.db.store.clone(),
            handlers,
            settings,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Stops claiming, lets in-flight checks finish, releases leases.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `check` until it holds; fails the test after 20 s (a generous bound for a loaded CI
/// machine; the scenarios settle in well under a second).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(ms(20)).await;
    }
}

pub fn native(no: &str) -> Value {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990})
}

/// A pending WeChat Native order.
pub async fn wechat_order(app: &TestApp, no: &str) -> Order {
    let r = app.create_native(&native(no)).await;
    assert_eq!(r.assert_ok()["status"], "pending", "{}", r.text);
    app.stored(&app.site, no).await
}

/// A pending Alipay order of `method` (`qr`, `wap`…).
pub async fn alipay_order(app: &TestApp, no: &str, method: &str) -> Order {
    let r = app
        .create_order(
            &json!({"out_trade_no": no, "channel": "alipay", "method": method,
            "description": "VIP月卡", "amount_total": 2990}),
        )
        .await;
    assert_eq!(r.assert_ok()["status"], "pending", "{}", r.text);
    app.stored(&app.site, no).await
}

/// Makes the order's expiry have passed (the shortest real expiry is a minute).
pub async fn expire_now(app: &TestApp, order: &Order) {
    app.db
        .execute(&format!(
            "UPDATE orders SET expires_at = created_at WHERE id = {}",
            order.id.as_i64()
        ))
        .await;
}

pub async fn status(app: &TestApp, order: &Order) -> OrderStatus {
    app.stored(&app.site, order.out_trade_no.as_str())
        .await
        .status
}

pub async fn job(app: &TestApp, order: &Order) -> Option<Job> {
    app.db
        .store
        .find_job(&JobSubject::Order(order.id))
        .await
        .unwrap()
}

/// The site's notification events for the order, oldest first.
pub async fn events(app: &TestApp, order: &Order) -> Vec<EventType> {
    app.db
        .store
        .notifications_for_order(&app.site.id, order.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// What the simulator says about the order, asked the way paygate asks.
pub async fn upstream(app: &TestApp, order: &Order) -> UpstreamStatus {
    app.channels.query(order).await.unwrap()
}

/// An Alipay trade as the simulator's control API shows it; `None` when it has no such trade.
pub async fn sim_alipay_trade(app: &TestApp, order: &Order) -> Option<Value> {
    let url = format!(
        "{}/sim/alipay/trades/{}?app_id={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        crate::support::app::sandbox_keys().alipay_app_id
    );
    let resp = app.http.get(url).send().await.unwrap();
    match resp.status().as_u16() {
        404 => None,
        200 => Some(resp.json().await.unwrap()),
        other => panic!("sim answered {other}: {:?}", resp.text().await),
    }
}

/// The payer pays an Alipay trade in the simulator.
pub async fn sim_alipay_pay(app: &TestApp, order: &Order) {
    let url = format!(
        "{}/sim/alipay/trades/{}/pay?app_id={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        crate::support::app::sandbox_keys().alipay_app_id
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

/// The states of the WeChat callbacks the simulator logged for the order (`dropped`, `delivered`…).
pub async fn sim_wechat_callbacks(app: &TestApp, order: &Order) -> Vec<String> {
    let url = format!("{}/sim/wechat/callbacks", app.sim.base_url);
    let log: Vec<Value> = app
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter(|c| c["reference"] == order.upstream_order_no.as_str())
        .map(|c| c["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}
