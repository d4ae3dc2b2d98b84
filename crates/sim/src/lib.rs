//! Simulators of WeChat Pay v3 and Alipay that speak the real protocols.
//!
//! One HTTP listener serves both channels' APIs plus a control API (`/sim/...`) that tests and the
//! sandbox use to act as the payer, inject faults and read the callback log. Nothing here depends on
//! paygate's own channel clients: the simulators are independent implementations of the server side,
//! so a client bug cannot hide behind a matching simulator bug.
//!
//! Layout, channel-neutral parts first (the Alipay simulator reuses all of them):
//! - [`context`]: [`SimConfig`] and [`SimContext`] (state dir, time scale, base URL, HTTP client,
//!   faults, callback engine), handed to each channel's `router`.
//! - [`persist`]: the state store: a JSON snapshot plus a journal of changes, each change on disk
//!   before its update returns.
//! - [`faults`]: fault injection shared by both channels (`POST /sim/faults`).
//! - [`prepared`]: bill files a process running the simulator prepared, served for their day.
//! - [`callbacks`]: the delivery engine for asynchronous notifications, with retry schedules.
//! - [`server`]: starts everything in-process ([`start`]) or until a shutdown signal ([`serve`]).
//! - [`wechat`] and [`alipay`]: the channels.

pub mod alipay;
pub mod callbacks;
pub mod context;
pub mod faults;
pub mod persist;
pub mod prepared;
pub mod server;
pub mod wechat;

pub use context::{SimConfig, SimContext};
pub use prepared::PreparedBill;
pub use server::{RunningSim, serve, start};

/// What can stop the simulator from starting or keeping its state.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path} is not valid: {source}")]
    State {
        path: String,
        source: serde_json::Error,
    },
    #[error("could not bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("key or certificate error: {0}")]
    Key(String),
    #[error("http client: {0}")]
    Client(String),
}
