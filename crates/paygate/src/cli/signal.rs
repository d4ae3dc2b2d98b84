//! Graceful shutdown: resolves on SIGINT or (on Unix) SIGTERM.
//!
//! On Unix the handlers are installed when [`shutdown_signal`] is called, not when its future is
//! first polled: a process that has announced it is listening must stop gracefully on a signal
//! sent the moment after (before its handler is installed, SIGTERM kills the process outright).

use std::future::Future;

#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                // No handler could be installed: only the other signal stops paygate gracefully.
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => {}
            () = wait(terminate) => {}
        }
        tracing::info!("shutdown signal received");
    }
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received");
    }
}
