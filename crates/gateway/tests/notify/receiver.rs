//! A site's notification endpoint: records every request and answers from a script (200 once the
//! script is used up).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// 302 to this path on the same receiver.
    Redirect(&'static str),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Captured {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<Captured>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    arrivals: tokio::sync::Mutex<mpsc::UnboundedReceiver<Captured>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver on a fresh port answering `script` in order, then 200.
    pub async fn start(script: Vec<Answer>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, script)
    }

    /// A receiver on `addr` (a port that was down and comes back).
    pub async fn start_at(addr: SocketAddr, script: Vec<Answer>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        Self::on(listener, script)
    }

    fn on(listener: tokio::net::TcpListener, script: Vec<Answer>) -> Self {
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            seen: Mutex::new(Vec::new()),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .fallback(handle)
            .with_state((Arc::clone(&shared), tx));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            shared,
            arrivals: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request, waiting for it up to `within`.
    pub async fn next(&self, within: Duration) -> Captured {
        let mut rx = self.arrivals.lock().await;
        tokio::time::timeout(within, rx.recv())
            .await
            .expect("no notification arrived in time")
            .expect("receiver closed")
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Captured> {
        self.shared.seen.lock().unwrap().clone()
    }
}

type RxState = (Arc<Shared>, mpsc::UnboundedSender<Captured>);

async fn handle(
    State((shared, tx)): State<RxState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let captured = Captured {
        path: uri.path().to_owned(),
        headers,
        body,
        at: Instant::now(),
    };
    shared.seen.lock().unwrap().push(captured.clone());
    let _ = tx.send(captured);
    let answer = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(200) => (StatusCode::OK, "SUCCESS").into_response(),
        Answer::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            "boom: the site is having a bad day",
        )
            .into_response(),
        Answer::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)], "").into_response(),
    }
}
