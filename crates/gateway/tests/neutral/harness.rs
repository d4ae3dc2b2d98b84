//! What the channel-neutral scenarios share: a neutral order created through the API, its pay
//! attempts made through the order service (as a checkout page does once it knows the payer's
//! app), the payer acting in the simulators, and short ways to read back the order, its attempts,
//! the simulators' side and what the site was told.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use gateway::channels::UpstreamStatus;
use gateway::compensation::{CompensationSettings, OrderChecker};
use gateway::domain::{
    Channel, Method, Order, OrderStatus, PayAttempt, PayMethod, Payer, Site, SiteName, Timestamp,
};
use gateway::service::{OrderService, ServiceSettings};
use gateway::store::NewSite;
use serde_json::{Value, json};

use crate::support::app::{TestApp, sandbox_keys};

pub fn wechat_native() -> PayMethod {
    PayMethod::new(Channel::Wechat, Method::Native).unwrap()
}

pub fn alipay_qr() -> PayMethod {
    PayMethod::new(Channel::Alipay, Method::Qr).unwrap()
}

/// `POST /v1/orders` for 29.90 payable by any app.
pub fn any_body(no: &str) -> Value {
    json!({"out_trade_no": no, "method": "any", "description": "VIP月卡", "amount_total": 2990})
}

/// A channel-neutral order of 29.90 created by the demo site: pending, no attempt yet.
pub async fn neutral_order(app: &TestApp, no: &str) -> Order {
    let r = app.create_order(&any_body(no)).await;
    assert_eq!(r.assert_ok()["status"], "pending", "{}", r.text);
    let order = app.stored(&app.site, no).await;
    assert!(order.neutral && order.is_unbound(), "{order:?}");
    order
}

/// An order service on the app's store and channels, as the checkout page and the jobs use.
pub fn service(app: &TestApp) -> OrderService {
    OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    )
}

/// The check job's handler on the default schedule scaled down 1200 times (first check 50 ms
/// after creation, 20 ms of grace after expiry).
pub fn checker(app: &TestApp) -> OrderChecker {
    let ms = Duration::from_millis;
    OrderChecker::new(
        service(app),
        CompensationSettings {
            schedule: vec![ms(50), ms(100), ms(200)],
            expiry_grace: ms(20),
        },
    )
}

/// A moment by which the scaled schedule's first check, and the deadline of an order expired by
/// [`expire_now`], have passed.
pub fn a_second_from_now() -> Timestamp {
    Timestamp::now().plus(Duration::from_secs(1))
}

/// The order seen through its attempt for a payer who pays by `method` (no openid, buyer or IP:
/// a QR code on a desktop).
pub async fn attempt(app: &TestApp, order: &Order, method: PayMethod) -> Order {
    service(app)
        .attempt(order, method, Payer::default())
        .await
        .unwrap_or_else(|e| panic!("attempt {method} of {order:?}: {e}"))
}

/// The order's WeChat Native and Alipay QR attempts, as a desktop checkout shows both codes.
pub async fn both_codes(app: &TestApp, order: &Order) -> (Order, Order) {
    let wechat = attempt(app, order, wechat_native()).await;
    let alipay = attempt(app, order, alipay_qr()).await;
    (wechat, alipay)
}

/// The order's attempts as stored, oldest first.
pub async fn attempts_of(app: &TestApp, order: &Order) -> Vec<PayAttempt> {
    app.db.store.pay_attempts(order.id).await.unwrap()
}

/// The stored attempt `view` is seen through.
pub async fn attempt_of(app: &TestApp, view: &Order) -> PayAttempt {
    let id = view.attempt.expect("a view through an attempt");
    attempts_of(app, view)
        .await
        .into_iter()
        .find(|a| a.id == id)
        .unwrap()
}

/// The payer pays the upstream order `view` names in the simulator; answers the simulator's HTTP
/// status (a closed or paid order is refused with 409).
pub async fn sim_pay(app: &TestApp, view: &Order) -> u16 {
    let no = view.upstream_order_no.as_str();
    let url = match view.pay_method.channel() {
        Channel::Wechat => format!(
            "{}/sim/wechat/orders/{no}/pay?mchid={}",
            app.sim.base_url,
            sandbox_keys().wechat_mchid
        ),
        Channel::Alipay => format!(
            "{}/sim/alipay/trades/{no}/pay?app_id={}",
            app.sim.base_url,
            sandbox_keys().alipay_app_id
        ),
    };
    app.http.post(url).send().await.unwrap().status().as_u16()
}

/// The payer pays in the simulator, which accepts it.
pub async fn paid_in_sim(app: &TestApp, view: &Order) {
    assert_eq!(
        sim_pay(app, view).await,
        200,
        "the simulator refused to pay {view:?}"
    );
}

/// What the channel says about the upstream order `view` names, asked the way paygate asks.
pub async fn upstream(app: &TestApp, view: &Order) -> UpstreamStatus {
    app.channels.query(view).await.unwrap()
}

/// An Alipay trade as the simulator's control API shows it; `None` when it has no such trade.
pub async fn sim_alipay_trade(app: &TestApp, view: &Order) -> Option<Value> {
    let url = format!(
        "{}/sim/alipay/trades/{}?app_id={}",
        app.sim.base_url,
        view.upstream_order_no.as_str(),
        sandbox_keys().alipay_app_id
    );
    let resp = app.http.get(url).send().await.unwrap();
    match resp.status().as_u16() {
        404 => None,
        200 => Some(resp.json().await.unwrap()),
        other => panic!("sim answered {other}: {:?}", resp.text().await),
    }
}

/// Whether the channel holds the upstream order `view` names as closed.
pub async fn closed_upstream(app: &TestApp, view: &Order) -> bool {
    match view.pay_method.channel() {
        Channel::Wechat => upstream(app, view).await == UpstreamStatus::Closed,
        Channel::Alipay => sim_alipay_trade(app, view)
            .await
            .is_some_and(|t| t["trade_status"] == "TRADE_CLOSED"),
    }
}

/// Polls `check` until it holds; fails the test after 20 s.
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    test_support::wait::eventually(Duration::from_secs(20), what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await;
}

/// Polls the stored order until it has `status` (callbacks and background closes are
/// asynchronous).
pub async fn wait_status(app: &TestApp, order: &Order, status: OrderStatus) -> Order {
    let no = order.out_trade_no.as_str();
    until(&format!("order {no} {status:?}"), || async {
        app.stored(&app.site, no).await.status == status
    })
    .await;
    app.stored(&app.site, no).await
}

/// Waits until the channel holds `view`'s upstream order as closed and paygate marked the attempt so.
pub async fn wait_attempt_closed(app: &TestApp, view: &Order) {
    let what = format!("attempt {} closed", view.upstream_order_no.as_str());
    until(&what, || async {
        attempt_of(app, view).await.closed_at.is_some() && closed_upstream(app, view).await
    })
    .await;
}

pub async fn stored(app: &TestApp, order: &Order) -> Order {
    app.stored(&app.site, order.out_trade_no.as_str()).await
}

/// Staging an expiry and reading jobs and events, as the compensation scenarios do.
pub use crate::compensation::{events, expire_now, job};

/// A site that may use only `methods`.
pub async fn site_with(app: &TestApp, name: &str, methods: &[PayMethod]) -> Site {
    let new = NewSite {
        name: SiteName::parse(name).unwrap(),
        notify_url: None,
        enabled_methods: methods.iter().copied().collect::<BTreeSet<_>>(),
        allow_private_targets: false,
    };
    app.db
        .store
        .create_site(new, Timestamp::now())
        .await
        .unwrap()
}
