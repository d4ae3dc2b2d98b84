//! The simulator in-process, as the gateway's tests and benchmark run it, and its state read back
//! from its files (the snapshot and the journal after it, as the simulator itself loads them: what
//! it answered is there, even while it runs).

use std::net::SocketAddr;
use std::path::Path;

use serde_json::{Map, Value};
use sim::alipay::state::AlipayState;
use sim::wechat::state::WechatState;

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

/// The whole state kept as `state_dir/<file>` (`wechat.json`, `alipay.json`) and its journal;
/// `Null` when there is none yet.
///
/// # Panics
/// Another file name, or files the simulator would refuse to start from.
#[must_use]
pub fn state(state_dir: &Path, file: &str) -> Value {
    let loaded = match file {
        "wechat.json" => json::<WechatState>(state_dir, file),
        "alipay.json" => json::<AlipayState>(state_dir, file),
        other => panic!("no simulator state is kept as {other}"),
    };
    loaded.unwrap_or_else(|e| panic!("the simulator's state in {file} does not load: {e}"))
}

fn json<T: sim::persist::Journaled>(state_dir: &Path, file: &str) -> Result<Value, String> {
    match sim::persist::load::<T>(state_dir, file).map_err(|e| e.to_string())? {
        Some(state) => serde_json::to_value(&state).map_err(|e| e.to_string()),
        None => Ok(Value::Null),
    }
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
