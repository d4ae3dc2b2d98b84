//! One helper per thing a test does, so the tests read like their scenario.

// Test support: a failed setup step should stop the test right there, loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alipay::{Client, Config, Error, Fen, Notification, Order, RefundRequest, TradeRef};
use axum::routing::post;
use channel_core::RsaPrivateKey;
use sim::callbacks::{CallbackRecord, CallbackState};
use sim::{RunningSim, SimConfig};
use tokio::sync::mpsc;

pub const APP_ID: &str = "2021000000000001";

pub struct TestApp {
    pub sim: RunningSim,
    pub client: Client,
    pub http: reqwest::Client,
    notifications: tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    /// How many notifications the receiver still refuses before answering `success`.
    pub refuse_next: Arc<AtomicUsize>,
    pub app_private_pem: String,
    pub alipay_public_pem: String,
}

/// Sim time scale: Alipay's 4 min first retry becomes 24 ms.
pub const TIME_SCALE: f64 = 0.0001;

pub async fn spawn() -> TestApp {
    spawn_with(SimConfig {
        time_scale: TIME_SCALE,
        ..SimConfig::default()
    })
    .await
}

pub async fn spawn_with(config: SimConfig) -> TestApp {
    let sim = sim::start(config, local()).await.unwrap();
    let http = reqwest::Client::new();
    let app_key = RsaPrivateKey::generate().unwrap();
    let app_private_pem = app_key.to_pkcs8_pem().unwrap();
    let alipay_public_pem = register(&http, &sim.base_url, APP_ID, &app_key).await;
    let (notify_url, notifications, refuse_next) = receiver().await;
    let config = Config::new(APP_ID, app_private_pem.clone(), alipay_public_pem.clone())
        .with_gateway_url(format!("{}/gateway.do", sim.base_url))
        .with_notify_url(notify_url);
    TestApp {
        client: Client::new(config).unwrap(),
        sim,
        http,
        notifications: tokio::sync::Mutex::new(notifications),
        refuse_next,
        app_private_pem,
        alipay_public_pem,
    }
}

pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Registers an app with the simulator; returns the Alipay public key PEM it answers with.
pub async fn register(
    http: &reqwest::Client,
    base: &str,
    app_id: &str,
    key: &RsaPrivateKey,
) -> String {
    let body = serde_json::json!({
        "app_id": app_id,
        "app_public_key_pem": key.public_key().unwrap().to_pem(),
    });
    let resp: serde_json::Value = http
        .post(format!("{base}/sim/alipay/apps"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["alipay_public_key_pem"].as_str().unwrap().to_owned()
}

/// A merchant's notification endpoint: records every body, answers `success` unless told to refuse.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Vec<u8>>, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let refuse = Arc::new(AtomicUsize::new(0));
    let refuse_in_handler = refuse.clone();
    let app = axum::Router::new().route(
        "/notify",
        post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            let refuse = refuse_in_handler.clone();
            async move {
                let _ = tx.send(body.to_vec());
                let refused = refuse
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refused { "fail" } else { "success" }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/notify"), rx, refuse)
}

impl TestApp {
    pub fn base_url(&self) -> &str {
        &self.sim.base_url
    }

    /// The next notification body that reached the receiver.
    pub async fn next_notification_body(&self) -> Vec<u8> {
        let mut rx = self.notifications.lock().await;
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("no notification within 10 s")
            .expect("receiver closed")
    }

    /// The next notification, verified by the client.
    pub async fn next_notification(&self) -> Notification {
        let body = self.next_notification_body().await;
        self.client.verify_notification(&body).unwrap()
    }

    /// The buyer pays through the control API.
    pub async fn pay(&self, out_trade_no: &str) -> reqwest::Response {
        self.control(&format!(
            "/sim/alipay/trades/{out_trade_no}/pay?app_id={APP_ID}"
        ))
        .await
    }

    pub async fn control(&self, path_and_query: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path_and_query}", self.base_url()))
            .send()
            .await
            .unwrap()
    }

    /// A precreated and paid trade, its payment notification consumed.
    pub async fn paid_trade(&self, out_trade_no: &str, fen: i64) {
        self.client
            .precreate(&Order::new(out_trade_no, Fen(fen), "paid"))
            .await
            .unwrap();
        assert!(self.pay(out_trade_no).await.status().is_success());
        let n = self.next_notification().await;
        assert_eq!(n.out_trade_no, out_trade_no);
    }

    /// A precreate the simulator must refuse; its error.
    pub async fn precreate_refused(&self, out_trade_no: &str, fen: i64, subject: &str) -> Error {
        self.client
            .precreate(&Order::new(out_trade_no, Fen(fen), subject))
            .await
            .unwrap_err()
    }

    /// A refund the simulator must refuse; its error.
    pub async fn refund_refused(&self, request: &RefundRequest) -> Error {
        self.client.refund(request).await.unwrap_err()
    }

    /// Waits until the simulator's log shows the callback for `reference` in `state`.
    pub async fn callback_reaches(&self, reference: &str, state: CallbackState) -> CallbackRecord {
        let log = self
            .sim
            .ctx
            .callbacks()
            .wait_for(Duration::from_secs(10), |log| {
                log.iter()
                    .any(|r| r.channel == "alipay" && r.reference == reference && r.state == state)
            })
            .await
            .expect("callback did not reach the state in time");
        log.into_iter()
            .find(|r| r.reference == reference && r.state == state)
            .unwrap()
    }

    /// Another client for the same app, with different keys or gateway.
    pub fn client_with(&self, app_private_pem: &str, alipay_public_pem: &str) -> Client {
        Client::new(
            Config::new(APP_ID, app_private_pem, alipay_public_pem)
                .with_gateway_url(format!("{}/gateway.do", self.base_url())),
        )
        .unwrap()
    }
}

pub fn out(no: &str) -> TradeRef {
    TradeRef::OutTradeNo(no.to_owned())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", channel_core::nonce::alphanumeric(12))
}
