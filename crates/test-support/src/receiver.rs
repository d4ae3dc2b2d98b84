//! A site's notification endpoint: records every request (method, path, headers, body, when it
//! arrived and when it was answered) and answers from a script, then with a default answer.
//!
//! It runs on a thread and runtime of its own, so that it keeps answering while a test blocks
//! (waiting for a process, running the CLI), whatever runtime the test uses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{oneshot, watch};

/// How the receiver answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Held this long before answering (a slow site).
    pub delay: Duration,
    /// A `Location` to redirect to (with a 3xx status).
    pub location: Option<String>,
}

impl Answer {
    #[must_use]
    pub fn status(status: u16) -> Self {
        Self {
            status,
            delay: Duration::ZERO,
            location: None,
        }
    }

    #[must_use]
    pub fn slow(status: u16, delay: Duration) -> Self {
        Self {
            delay,
            ..Self::status(status)
        }
    }

    /// 302 to `path` on the same receiver.
    #[must_use]
    pub fn redirect(path: &str) -> Self {
        Self {
            location: Some(path.to_owned()),
            ..Self::status(302)
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The query, as sent (empty without one).
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// When the answer was ready (`None` while it is held); also set when the sender gave up
    /// waiting, as the site would still have finished its work.
    pub answered: Option<Instant>,
}

impl Received {
    /// A header by name, any case ("" when absent).
    #[must_use]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// It is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "a notification body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

type Fallback = Box<dyn Fn() -> Answer + Send + Sync>;

struct Shared {
    script: Mutex<VecDeque<Answer>>,
    fallback: Fallback,
    seen: Mutex<Vec<Received>>,
    /// How many requests arrived so far.
    arrivals: watch::Sender<usize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding it leaves whole records behind.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running receiver; stops (and frees its port) when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// How many requests [`Receiver::next`] handed out.
    taken: AtomicUsize,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Receiver {
    /// On a fresh loopback port, answering `script` in order, then 200.
    #[must_use]
    pub fn start(script: Vec<Answer>) -> Self {
        Self::start_answering(loopback_any(), script, || Answer::status(200))
    }

    /// On `addr` (a site that was down comes back on the same port).
    #[must_use]
    pub fn start_at(addr: SocketAddr, script: Vec<Answer>) -> Self {
        Self::start_answering(addr, script, || Answer::status(200))
    }

    /// On `addr`, answering `script` in order, then whatever `otherwise` says.
    ///
    /// # Panics
    /// `addr` cannot be bound.
    #[must_use]
    pub fn start_answering(
        addr: SocketAddr,
        script: Vec<Answer>,
        otherwise: impl Fn() -> Answer + Send + Sync + 'static,
    ) -> Self {
        // Bound here, so the port is taken when this returns.
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .unwrap_or_else(|e| panic!("cannot bind the receiver on {addr}: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the receiver's address: {e}"));
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            fallback: Box::new(otherwise),
            seen: Mutex::new(Vec::new()),
            arrivals: watch::Sender::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = thread::spawn(move || serve(listener, state, stopped));
        Self {
            addr,
            shared,
            taken: AtomicUsize::new(0),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    #[must_use]
    pub fn seen(&self) -> Vec<Received> {
        lock(&self.shared.seen).clone()
    }

    /// Waits until at least `n` requests came, for at most `within`; returns them all.
    ///
    /// # Panics
    /// Fewer came in time.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let mut arrivals = self.shared.arrivals.subscribe();
        let came = tokio::time::timeout(within, arrivals.wait_for(|count| *count >= n)).await;
        assert!(
            came.is_ok_and(|r| r.is_ok()),
            "{} request(s) received within {within:?}, {n} expected",
            self.seen().len()
        );
        self.seen()
    }

    /// The next request not handed out by an earlier call, waiting up to `within` for it.
    ///
    /// # Panics
    /// None came in time.
    pub async fn next(&self, within: Duration) -> Received {
        let index = self.taken.fetch_add(1, Ordering::SeqCst);
        let seen = self.wait_for(index + 1, within).await;
        seen.into_iter()
            .nth(index)
            .unwrap_or_else(|| panic!("request {index} vanished"))
    }

    /// Stops listening; the port is free when this returns.
    pub fn shut_down(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.halt();
    }
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, stopped: oneshot::Receiver<()>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("the receiver has no runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("the receiver cannot listen: {e}");
                return;
            }
        };
        let app = axum::Router::new().fallback(receive).with_state(shared);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            eprintln!("the receiver stopped: {e}");
        }
    });
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
        answered: None,
    };
    let index = {
        let mut seen = lock(&shared.seen);
        seen.push(received);
        seen.len() - 1
    };
    shared.arrivals.send_modify(|count| *count += 1);
    let answer = lock(&shared.script)
        .pop_front()
        .unwrap_or_else(|| (shared.fallback)());
    // In a task of its own, so that the answer time is recorded even when the sender gives up
    // and the request is dropped.
    let delay = answer.delay;
    let record = Arc::clone(&shared);
    let held = tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some(r) = lock(&record.seen).get_mut(index) {
            r.answered = Some(Instant::now());
        }
    });
    let _ = held.await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match answer.location {
        Some(to) => (status, [(header::LOCATION, to)], "").into_response(),
        None if status.is_success() => (status, "SUCCESS").into_response(),
        None => (status, "boom: the site is having a bad day").into_response(),
    }
}
