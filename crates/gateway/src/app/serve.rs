//! Serving: the HTTP server, the metrics listener (unless `metrics.listen` is off), the workers
//! (`workers::run` with the notification deliverer and the order and refund checkers), the purges
//! of expired nonces and of dead console sessions, and the listener for other nodes' order changes (`live::run`), side by side under one
//! shutdown signal. On shutdown the servers stop accepting, the workers stop claiming, finish their
//! jobs in flight and release their leases; only then are the simulator (sandbox mode) and the
//! database pool closed.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, MetricsSettings};
use crate::workers;

use super::{App, AppError};

/// `/metrics`, on its own listener.
pub(super) struct MetricsListener {
    listener: TcpListener,
    pub(super) addr: SocketAddr,
    router: Router,
}

impl App {
    /// Serves HTTP and runs the background workers until `shutdown` resolves; then lets requests
    /// and jobs in flight finish, releases the workers' leases, and stops the simulator and the
    /// database pool.
    ///
    /// # Errors
    /// None so far: accept errors are retried, connection errors end only their connection.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        // One signal, several listeners. `true` once shutdown began.
        let (stop_tx, stop_rx) = watch::channel(false);
        let trigger = async {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let header_read_timeout = self.header_read_timeout;
        let (listener, router, metrics) = (self.listener, self.router, self.metrics);
        let http = async {
            api::serve(
                listener,
                router,
                header_read_timeout,
                stopped(stop_rx.clone()),
            )
            .await;
            tracing::info!("HTTP server stopped");
        };
        let metrics = async {
            if let Some(m) = metrics {
                api::serve(
                    m.listener,
                    m.router,
                    header_read_timeout,
                    stopped(stop_rx.clone()),
                )
                .await;
            }
        };
        let workers = workers::run(
            self.store.clone(),
            self.handlers,
            self.workers,
            stopped(stop_rx.clone()),
        );
        let purge = workers::purge_nonces(
            self.store.clone(),
            self.nonce_retention,
            stopped(stop_rx.clone()),
        );
        let purge_accounts = workers::purge_accounts(
            self.accounts.clone(),
            workers::ACCOUNT_PURGE_INTERVAL,
            stopped(stop_rx.clone()),
        );
        // Hears other nodes' order changes (PostgreSQL); on shutdown it ends the open status
        // streams, which the HTTP server would otherwise wait for.
        let live = crate::live::run(self.store.clone(), stopped(stop_rx.clone()));
        let ((), (), (), (), (), (), ()) =
            tokio::join!(trigger, http, metrics, workers, purge, purge_accounts, live);
        // The workers are done (their last jobs may have called the simulator): now it can go.
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        self.store.close().await;
        Ok(())
    }
}

/// Resolves once shutdown began (or every sender is gone, which also means it did).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Binds the metrics listener, unless it is off.
pub(super) async fn bind_metrics(
    settings: &MetricsSettings,
) -> Result<Option<MetricsListener>, AppError> {
    let Some(listen) = settings.listen else {
        return Ok(None);
    };
    let bind_err = |source| AppError::MetricsBind {
        addr: listen,
        source,
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(source) if !settings.explicit => {
            tracing::warn!(
                %listen,
                error = %source,
                "metrics are not served: their default address is taken (set metrics.listen)"
            );
            return Ok(None);
        }
        Err(source) => return Err(bind_err(source)),
    };
    let addr = listener.local_addr().map_err(bind_err)?;
    Ok(Some(MetricsListener {
        listener,
        addr,
        router: api::metrics_router(settings.token.clone()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_metrics_address_stops_paygate_only_when_it_was_asked_for() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let settings = |explicit| MetricsSettings {
            listen: Some(addr),
            token: None,
            explicit,
        };
        // The default address in use by something else: paygate runs, without metrics.
        assert!(bind_metrics(&settings(false)).await.unwrap().is_none());
        // An address the operator set: a clear error.
        let err = bind_metrics(&settings(true)).await.err().unwrap();
        assert!(
            matches!(err, AppError::MetricsBind { addr: a, .. } if a == addr),
            "{err}"
        );
        drop(taken);
        assert!(bind_metrics(&settings(true)).await.unwrap().is_some());
    }
}
