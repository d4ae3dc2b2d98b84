//! The simulator in-process, as the gateway's tests and benchmark run it, and its state files read
//! back (the simulator writes each file before it answers, renaming it into place: never
//! half-written).

use std::net::SocketAddr;
use std::path::Path;

use serde_json::{Map, Value};

/// Starts the simulator on a loopback port, keeping its state in `state_dir` (in memory when
/// `None`), with its schedules multiplied by `time_scale`.
///
/// # Panics
/// It cannot start: the test cannot run.
pub async fn start(state_dir: Option<&Path>, time_scale: f64) -> sim::RunningSim {
    let config = sim::SimConfig {
        state_dir: state_dir.map(Path::to_owned),
        time_scale,
        public_base_url: None,
    };
    sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("the simulator did not start: {e}"))
}

/// The whole state file `state_dir/<file>` (`wechat.json`, `alipay.json`); `Null` when there is
/// none yet.
#[must_use]
pub fn state(state_dir: &Path, file: &str) -> Value {
    std::fs::read(state_dir.join(file))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The WeChat Pay orders in `state_dir/wechat.json` (none when there is no file yet).
#[must_use]
pub fn wechat_orders(state_dir: &Path) -> Map<String, Value> {
    member(state_dir, "wechat.json", "orders")
}

/// The WeChat Pay refunds in `state_dir/wechat.json`, each with its `out_trade_no` (paygate's
/// upstream order number), `refund` (fen) and `status` (none when there is no file yet).
#[must_use]
pub fn wechat_refunds(state_dir: &Path) -> Map<String, Value> {
    member(state_dir, "wechat.json", "refunds")
}

/// The Alipay trades in `state_dir/alipay.json` (none when there is no file yet).
#[must_use]
pub fn alipay_trades(state_dir: &Path) -> Map<String, Value> {
    member(state_dir, "alipay.json", "trades")
}

fn member(state_dir: &Path, file: &str, key: &str) -> Map<String, Value> {
    state(state_dir, file)[key]
        .as_object()
        .cloned()
        .unwrap_or_default()
}
