//! Round-trip helpers: a simulator per test, merchants registered through its control API, clients
//! built the way the gateway builds them, and a callback receiver that verifies with the client.

#![allow(dead_code)]
// each test binary uses a different part of this module
// Test helpers, not tests: clippy's allow-unwrap-in-tests does not reach them, but a panic is the
// right failure here too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use channel_core::RsaPrivateKey;
use channel_core::rsa::Certificate;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use wechatpay::{
    ApiV3Key, Client, Config, NewOrder, Notification, OrderAmount, TradeRef, Verification,
    WechatpayPublicKey,
};

pub const APIV3_KEY: &str = "Sim0APIv3Key0For0Round0Trips0032";
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A72";

static NEXT_MCHID: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PublicKey,
    Certificate,
}

pub struct TestSim {
    pub sim: sim::RunningSim,
    pub http: reqwest::Client,
}

pub struct Merchant {
    pub mchid: String,
    pub appid: String,
    pub key_pem: String,
    pub registration: Value,
    pub base_url: String,
    pub client: Client,
}

impl TestSim {
    pub async fn start() -> Self {
        // Callback retries 1000× faster than WeChat's schedule: 15 s becomes 15 ms.
        let config = sim::SimConfig {
            time_scale: 0.001,
            ..sim::SimConfig::default()
        };
        let sim = sim::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub async fn control(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.sim.base_url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A merchant that receives profit-sharing splits asks to hear of them at `url` (registered
    /// again, with the same keys, as WeChat Pay's merchant platform setting).
    pub async fn listen_for_profit_sharing(&self, m: &Merchant, url: &str) {
        let key = RsaPrivateKey::from_pem(&m.key_pem).unwrap();
        let (status, body) = self
            .control(
                "/sim/wechat/merchants",
                &json!({
                    "mchid": m.mchid, "serial_no": MERCHANT_SERIAL,
                    "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
                    "apiv3_key": APIV3_KEY, "appids": [m.appid],
                    "profit_sharing_notify_url": url,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn register(&self, mode: Mode) -> Merchant {
        let n = NEXT_MCHID.fetch_add(1, Ordering::Relaxed);
        let mchid = format!("19000{:05}", n + 1);
        let appid = format!("wxd678efh567hg{n:04}");
        let key = RsaPrivateKey::generate().unwrap();
        let (status, registration) = self
            .control(
                "/sim/wechat/merchants",
                &json!({
                    "mchid": mchid, "serial_no": MERCHANT_SERIAL,
                    "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
                    "apiv3_key": APIV3_KEY, "appids": [appid],
                    "mode": match mode { Mode::PublicKey => "public_key", Mode::Certificate => "certificate" },
                }),
            )
            .await;
        assert_eq!(status, 200, "{registration}");
        let key_pem = key.to_pkcs8_pem().unwrap();
        let base_url = self.sim.base_url.clone();
        let verification = match mode {
            Mode::PublicKey => Verification::public_key(public_key_of(&registration)),
            Mode::Certificate => Verification::downloaded_certificates(),
        };
        let client = client(&mchid, &key_pem, APIV3_KEY, verification, &base_url);
        Merchant {
            mchid,
            appid,
            key_pem,
            registration,
            base_url,
            client,
        }
    }

    /// Binds a sub-merchant (and its appids) to the service provider `sp_mchid`.
    pub async fn bind_sub_merchant(&self, sp_mchid: &str, sub_mchid: &str, sub_appids: &[&str]) {
        let (status, body) = self
            .control(
                "/sim/wechat/sub-merchants",
                &json!({"sp_mchid": sp_mchid, "sub_mchid": sub_mchid, "sub_appids": sub_appids}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// The payer pays: `POST /sim/wechat/orders/{no}/pay`.
    pub async fn pay(&self, mchid: &str, out_trade_no: &str, sub_mchid: Option<&str>) -> Value {
        let mut path = format!("/sim/wechat/orders/{out_trade_no}/pay?mchid={mchid}");
        if let Some(sub) = sub_mchid {
            path.push_str(&format!("&sub_mchid={sub}"));
        }
        let (status, body) = self.control(&path, &Value::Null).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn fail(&self, mchid: &str, out_trade_no: &str) -> Value {
        let (status, body) = self
            .control(
                &format!("/sim/wechat/orders/{out_trade_no}/fail?mchid={mchid}"),
                &Value::Null,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn callback_log(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/sim/wechat/callbacks", self.sim.base_url))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}

pub fn public_key_of(registration: &Value) -> WechatpayPublicKey {
    WechatpayPublicKey::from_pem(
        registration["public_key_id"].as_str().unwrap(),
        registration["public_key_pem"].as_str().unwrap(),
    )
    .unwrap()
}

pub fn certificate_of(registration: &Value) -> Certificate {
    Certificate::from_pem(registration["platform_certificate_pem"].as_str().unwrap()).unwrap()
}

pub fn client(
    mchid: &str,
    key_pem: &str,
    apiv3: &str,
    verification: Verification,
    base_url: &str,
) -> Client {
    let key = RsaPrivateKey::from_pem(key_pem).unwrap();
    let config = Config::new(
        mchid,
        MERCHANT_SERIAL,
        key,
        ApiV3Key::new(apiv3).unwrap(),
        verification,
    )
    .unwrap()
    .with_base_url(base_url)
    .unwrap()
    .with_timeouts(Duration::from_secs(10), Duration::from_secs(2));
    Client::new(config).unwrap()
}

impl Merchant {
    pub fn order(&self, out_trade_no: &str, total_fen: i64, notify_url: &str) -> NewOrder {
        NewOrder::new(
            &self.appid,
            "Image形象店-深圳腾大-QQ公仔",
            out_trade_no,
            notify_url,
            OrderAmount::cny(total_fen),
        )
    }

    /// Another client for the same merchant with different verification or keys.
    pub fn client_with(&self, apiv3: &str, verification: Verification) -> Client {
        client(
            &self.mchid,
            &self.key_pem,
            apiv3,
            verification,
            &self.base_url,
        )
    }
}

/// A merchant's `notify_url`: verifies each notification with `client` and answers 204, or 400 so
/// that the simulator retries. Every outcome is sent on the channel.
pub struct Receiver {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Result<Notification, String>>,
}

pub async fn receiver(client: Client) -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/notify", axum::routing::post(receive))
        .with_state((client, tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/notify"),
        rx,
    }
}

type ReceiverState = (Client, mpsc::UnboundedSender<Result<Notification, String>>);

async fn receive(
    State((client, tx)): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let outcome = client.verify_notification(&headers, &body).await;
    let status = if outcome.is_ok() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::BAD_REQUEST
    };
    let _ = tx.send(outcome.map_err(|e| format!("{e:?}")));
    status
}

impl Receiver {
    pub async fn next(&mut self) -> Result<Notification, String> {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no notification within 10 s")
            .expect("receiver closed")
    }
}

/// The order with the merchant's `out_trade_no`.
pub fn out(no: &str) -> TradeRef {
    TradeRef::OutTradeNo(no.to_owned())
}

pub fn china_today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
}
