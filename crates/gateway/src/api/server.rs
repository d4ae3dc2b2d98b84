//! Serving a router over HTTP/1.1 with what `axum::serve` leaves out: a deadline for a request's
//! headers, and the client's address on every request (for the per-client limit).
//!
//! Without a header deadline a client that sends its headers a byte at a time, or opens
//! connections and sends nothing, holds a connection (and a task) for as long as it likes; a few
//! thousand such clients exhaust the server. hyper has the deadline but needs a timer, which
//! `axum::serve` does not give it. The same deadline bounds how long an idle keep-alive connection
//! waits for its next request. Only HTTP/1.1 is served: HTTP/2 over cleartext has no header deadline
//! in hyper, and a proxy in front speaks HTTP/1.1 to paygate anyway.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets requests in
/// flight finish (idle connections are closed at once) and returns once every connection is closed.
/// Requests carry `ConnectInfo<SocketAddr>`, the peer of their connection.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connections as they end, so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            header_read_timeout,
            closing_rx.clone(),
        ));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
}

/// An accept error is about one connection (the peer gave up), or about the process (out of file
/// descriptors): then pause, as accepting again at once would fail the same way in a busy loop.
async fn accept_failed(e: &io::Error) {
    let about_one_connection = matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !about_one_connection {
        tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let service = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut closing_seen = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                // A client that timed out or went away: nothing to answer, nothing to alarm anyone.
                if let Err(e) = served {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                return;
            }
            _ = closing.wait_for(|closing| *closing), if !closing_seen => {
                closing_seen = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
