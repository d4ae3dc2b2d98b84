//! Why paygate could not start.

use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::mode::ModeError;
use crate::sandbox::SandboxError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data dir {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database ({url}): {source}")]
    Store { url: String, source: StoreError },
    #[error(transparent)]
    Mode(#[from] ModeError),
    #[error("sandbox mode: {0}")]
    Sandbox(#[from] SandboxError),
    /// A channel account cannot be built from its settings (the message names the channel).
    #[error("{0}")]
    Channel(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr} for /metrics (setting metrics.listen; \"off\" turns it off): {source}"
    )]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("notification client: {0}")]
    Notify(String),
}
