//! The site's notification endpoint during a benchmark: it checks every notification's signature
//! as the README tells a site to (a notification that fails is counted as an error, never
//! believed) and notes when each event first arrived.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::cli::merchant::{unix_now, verify_notification};

/// An event: its type and the order (or refund) it is about.
pub type EventKey = (String, String);

#[derive(Default)]
struct Shared {
    /// Set once the site exists: notifications that come before are refused.
    sk: Mutex<Option<String>>,
    arrivals: Mutex<HashMap<EventKey, Instant>>,
    refused: AtomicU64,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the notification receiver")?;
        let url = format!("http://{}/notify", listener.local_addr()?);
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            url,
            shared,
            stop: Some(stop),
        })
    }

    /// The key notifications are checked with, once the site has one.
    pub fn trust(&self, sk: &str) {
        if let Ok(mut key) = self.shared.sk.lock() {
            *key = Some(sk.to_owned());
        }
    }

    /// How many notifications failed verification so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// When each of `keys` first arrived, waiting up to `within` for all of them; `None` for those
    /// that did not come.
    pub async fn arrivals(&self, keys: &[EventKey], within: Duration) -> Vec<Option<Instant>> {
        let deadline = Instant::now() + within;
        loop {
            let found: Vec<Option<Instant>> = match self.shared.arrivals.lock() {
                Ok(arrivals) => keys.iter().map(|k| arrivals.get(k).copied()).collect(),
                Err(_) => vec![None; keys.len()],
            };
            if found.iter().all(Option::is_some) || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let arrived = Instant::now();
    let sk = shared.sk.lock().ok().and_then(|k| k.clone());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = sk
        .is_some_and(|sk| verify_notification(&sk, header, &body, unix_now().unwrap_or(0)).is_ok());
    let event = verified
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten();
    let Some(event) = event else {
        shared.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    };
    let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
    let about = match event["out_refund_no"].as_str() {
        Some(refund) => refund.to_owned(),
        None => text("out_trade_no"),
    };
    if let Ok(mut arrivals) = shared.arrivals.lock() {
        arrivals
            .entry((text("event_type"), about))
            .or_insert(arrived);
    }
    StatusCode::OK
}
