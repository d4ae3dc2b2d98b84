//! An attempt made while the order stops being payable (paid in another app, closed by the site on
//! another node): nothing may be left that the payer can still pay. A pass-through to the simulator
//! holds one kind of channel call, so that the other side acts while it is on its way.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use gateway::channels::Channels;
use gateway::domain::{Order, OrderStatus, Payer};
use gateway::sandbox::provision::{SimRefunds, provision};
use gateway::service::{OrderService, ServiceError, ServiceSettings};
use tokio::sync::{Notify, watch};

use crate::api_tests;
use crate::harness::*;
use crate::helpers::{anomalies, form_fields};
use crate::support::app::{TestApp, sandbox_keys};

/// Which calls the pass-through holds: by path and body.
type Holds = fn(&str, &[u8]) -> bool;

fn wechat_native_create(path: &str, _: &[u8]) -> bool {
    path == "/v3/pay/transactions/native"
}

fn alipay_close(path: &str, body: &[u8]) -> bool {
    path == "/gateway.do"
        && form_fields(&String::from_utf8_lossy(body))
            .iter()
            .any(|(k, v)| k == "method" && v == "alipay.trade.close")
}

/// A pass-through to the simulator that holds the calls `holds` picks until released.
struct HeldCalls {
    url: String,
    arrived: Arc<Notify>,
    release: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HeldCalls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HeldCalls {
    async fn spawn(app: &TestApp, holds: Holds) -> Self {
        let target = app.sim.base_url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::new();
        let arrived = Arc::new(Notify::new());
        let (release, released) = watch::channel(false);
        let (seen, gate) = (arrived.clone(), released);
        let router = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (http, target, seen, mut gate) =
                    (http.clone(), target.clone(), seen.clone(), gate.clone());
                async move {
                    if holds(uri.path(), &body) {
                        seen.notify_one();
                        gate.wait_for(|go| *go).await.unwrap();
                    }
                    forward(&http, &target, method, &uri, &headers, body).await
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            arrived,
            release,
            task,
        }
    }

    /// An order service (a node of its own, with its own locks) whose channel calls go through.
    async fn node(&self, app: &TestApp) -> OrderService {
        let (wechat, alipay) = provision(
            &self.url,
            sandbox_keys(),
            &app.public_url,
            SimRefunds::SucceedOnTheirOwn,
        )
        .await
        .unwrap();
        OrderService::new(
            app.db.store.clone(),
            Channels::new(Some(wechat), Some(alipay)),
            ServiceSettings::new(app.public_url.clone()),
        )
    }

    /// Waits until a held call has arrived.
    async fn arrived(&self) {
        tokio::time::timeout(Duration::from_secs(20), self.arrived.notified())
            .await
            .expect("the held call never came");
    }

    fn release(&self) {
        self.release.send_replace(true);
    }
}

async fn forward(
    http: &reqwest::Client,
    target: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = http.request(method, format!("{target}{path}")).body(body);
    for (name, value) in headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// The order seen through its attempt of `method`, however that attempt ended.
async fn through_attempt(
    app: &TestApp,
    order: &Order,
    method: gateway::domain::PayMethod,
) -> Order {
    let attempt = attempts_of(app, order)
        .await
        .into_iter()
        .find(|a| a.pay_method == method)
        .expect("the attempt was stored before the channel heard of it");
    stored(app, order).await.through(&attempt)
}

api_tests! {
    async fn an_attempt_made_while_another_app_pays_the_order_is_closed_not_handed_out(app: TestApp) {
        let order = neutral_order(&app, "order_any_race_paid").await;
        let alipay = attempt(&app, &order, alipay_qr()).await;
        let held = HeldCalls::spawn(&app, wechat_native_create).await;
        let slow = held.node(&app).await;
        let making = {
            let order = order.clone();
            tokio::spawn(async move { slow.attempt(&order, wechat_native(), Payer::default()).await })
        };
        held.arrived().await;

        // While the WeChat code is on its way, the payer pays the Alipay one; closing the other
        // attempts finds nothing at WeChat Pay yet.
        paid_in_sim(&app, &alipay).await;
        wait_status(&app, &order, OrderStatus::Paid).await;
        until("the other attempts closed after the payment", || async {
            attempts_of(&app, &order).await.iter().all(|a| a.pay_method == alipay_qr() || a.closed_at.is_some())
        }).await;
        held.release();

        let made = making.await.unwrap();
        assert!(matches!(made, Err(ServiceError::NotPayable(OrderStatus::Paid))), "{made:?}");
        let wechat = through_attempt(&app, &order, wechat_native()).await;
        assert!(closed_upstream(&app, &wechat).await, "a WeChat order was left open for a paid order");
        assert_eq!(sim_pay(&app, &wechat).await, 409);
        assert!(anomalies(&app, "second_payment").await.is_empty());
    }

    async fn an_attempt_made_on_one_node_while_another_closes_the_order_is_closed_too(app: TestApp) {
        let order = neutral_order(&app, "order_any_race_close").await;
        let held = HeldCalls::spawn(&app, wechat_native_create).await;
        let slow = held.node(&app).await;
        let making = {
            let order = order.clone();
            tokio::spawn(async move { slow.attempt(&order, wechat_native(), Payer::default()).await })
        };
        held.arrived().await;

        // The site closes the order through another node while the WeChat code is on its way.
        let r = app.close_order("order_any_race_close").await;
        assert_eq!(r.assert_ok()["status"], "closed", "{}", r.text);
        held.release();

        let made = making.await.unwrap();
        assert!(matches!(made, Err(ServiceError::NotPayable(OrderStatus::Closed))), "{made:?}");
        let wechat = through_attempt(&app, &order, wechat_native()).await;
        assert!(closed_upstream(&app, &wechat).await, "a WeChat order was left open for a closed order");
        assert_eq!(sim_pay(&app, &wechat).await, 409);
        assert!(anomalies(&app, "paid_while_closed").await.is_empty());
    }

    async fn an_attempt_made_while_the_order_is_being_closed_on_another_node_is_closed_by_the_close(app: TestApp) {
        let order = neutral_order(&app, "order_any_race_closing").await;
        attempt(&app, &order, alipay_qr()).await;
        // The closing node is slow to close the Alipay attempt; meanwhile the payer opens the page
        // on another node and gets a WeChat code.
        let held = HeldCalls::spawn(&app, alipay_close).await;
        let closing_node = held.node(&app).await;
        let closing = {
            let (site, no) = (app.site.clone(), order.out_trade_no.clone());
            tokio::spawn(async move { closing_node.close(&site, &no).await.map(|v| v.order.status) })
        };
        held.arrived().await;
        let wechat = attempt(&app, &order, wechat_native()).await;
        held.release();

        let closed = closing.await.unwrap();
        assert!(matches!(closed, Ok(OrderStatus::Closed)), "{closed:?}");
        assert!(closed_upstream(&app, &wechat).await, "the WeChat code made during the close is still payable");
        assert_eq!(sim_pay(&app, &wechat).await, 409);
        assert!(attempts_of(&app, &order).await.iter().all(|a| a.closed_at.is_some()));
        assert!(anomalies(&app, "paid_while_closed").await.is_empty());
    }
}
