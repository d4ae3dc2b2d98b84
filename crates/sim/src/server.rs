//! Starting the simulator: in-process for tests and sandbox mode ([`start`]), or until a signal for
//! the `paygate sim` command ([`serve`]). Both mount the same router: every channel's API and
//! control routes, plus the shared `/sim/faults` and `/sim/callbacks`.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::{SimConfig, SimContext, SimError, alipay, callbacks, faults, wechat};

/// A simulator running in this process. Dropping it without [`RunningSim::shutdown`] leaves the
/// server running until the runtime ends.
#[derive(Debug)]
pub struct RunningSim {
    /// The address actually bound (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// `http://IP:PORT`, what clients should use as their base URL.
    pub base_url: String,
    /// The context, for tests that want to await callbacks or flip faults without HTTP.
    pub ctx: SimContext,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSim {
    /// Stops accepting, ends hanging calls and pending callbacks, and waits for the server to end.
    /// State is already on disk (every mutation is), so a new [`start`] with the same state dir
    /// carries on from here.
    ///
    /// # Errors
    /// The server task failed.
    pub async fn shutdown(self) -> Result<(), SimError> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(SimError::Io {
                path: self.base_url,
                source,
            }),
            Err(e) => Err(SimError::Io {
                path: self.base_url,
                source: std::io::Error::other(e),
            }),
        }
    }
}

/// Binds `addr` (use `127.0.0.1:0` in tests) and serves the simulator in a background task.
///
/// # Errors
/// The address cannot be bound, or state cannot be loaded.
pub async fn start(config: SimConfig, addr: SocketAddr) -> Result<RunningSim, SimError> {
    let (listener, bound) = bind(addr).await?;
    let (stop, stop_rx) = watch::channel(false);
    let base_url = format!("http://{bound}");
    let ctx = SimContext::new(config, base_url.clone(), stop_rx.clone())?;
    let app = app(&ctx)?;
    let mut rx = stop_rx;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(RunningSim {
        addr: bound,
        base_url,
        ctx,
        stop,
        task,
    })
}

/// Binds `addr`, calls `on_ready` with the bound address, and serves until `signal` resolves.
///
/// # Errors
/// The address cannot be bound, state cannot be loaded, or the server fails.
pub async fn serve(
    config: SimConfig,
    addr: SocketAddr,
    signal: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), SimError> {
    let (listener, bound) = bind(addr).await?;
    let (stop, stop_rx) = watch::channel(false);
    let ctx = SimContext::new(config, format!("http://{bound}"), stop_rx.clone())?;
    let app = app(&ctx)?;
    on_ready(bound);
    let mut rx = stop_rx;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = signal => { let _ = stop.send(true); }
                _ = rx.wait_for(|s| *s) => {}
            }
        })
        .await
        .map_err(|source| SimError::Io {
            path: bound.to_string(),
            source,
        })
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), SimError> {
    let bind_err = |source| SimError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let bound = listener.local_addr().map_err(bind_err)?;
    Ok((listener, bound))
}

/// Every route of the simulator.
fn app(ctx: &SimContext) -> Result<Router, SimError> {
    Ok(Router::new()
        .merge(wechat::router(ctx.clone())?)
        .merge(alipay::router(ctx.clone())?)
        .merge(faults::router(ctx.clone()))
        .merge(callbacks::router(ctx.clone())))
}
