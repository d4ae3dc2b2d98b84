//! The paygate gateway: what a site's order is (`domain`), where it is kept (`store`), how secrets
//! are kept at rest (`crypto`), how paygate talks to WeChat Pay and Alipay (`channels`: everything
//! about one channel in its folder), what it does with an order (`service`), the merchant HTTP API
//! (`api`) and the signature it shares with notifications (`signing`), the hosted checkout page
//! (`checkout`), the operator console and sites' portal (`console`), the channels' callbacks over HTTP (`callbacks`), notifications to sites
//! (`notify`), reconciliation with the channels' bills (`reconcile`), the order-check job (`compensation`) and the job loop (`workers`), how it is
//! configured (`config`), sandbox or live (`mode`), sandbox mode (`sandbox`), and startup (`app`).

pub mod api;
pub mod app;
pub mod callbacks;
pub mod channels;
pub mod checkout;
pub mod compensation;
pub mod config;
pub mod console;
pub mod crypto;
pub mod domain;
pub mod live;
mod log_gate;
pub mod mode;
pub mod notify;
pub mod reconcile;
pub mod sandbox;
pub mod service;
pub mod signing;
pub mod store;
pub mod workers;
