//! How many updates a second a store with a state dir takes from 16 concurrent tasks on two
//! runtime threads (as sandbox order creation does), with the state already holding 20,000 WeChat
//! Pay orders. A measurement to run by hand, not a test:
//!
//! `cargo test --release -p sim --lib store_throughput -- --ignored --nocapture`
//!
//! `BENCH_ORDERS`, `BENCH_TASKS` and `BENCH_PER_TASK` change the numbers; `BENCH_DIR` the disk
//! (default: the temporary dir).

use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::wechat::state::{Order, WechatState};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A Native order as the gateway creates them.
fn order(i: usize) -> Order {
    let no = format!("PG{i:020}");
    serde_json::from_value(serde_json::json!({
        "mchid": "1900000109", "sub_mchid": null, "appid": "wxd678efh567hg6787",
        "sub_appid": null, "out_trade_no": no, "transaction_id": null, "trade_type": "NATIVE",
        "state": "NOTPAY", "description": "Image形象店-深圳腾大-QQ公仔", "attach": "site=1",
        "notify_url": "http://127.0.0.1:8080/callbacks/wechat/native", "total": 100,
        "currency": "CNY", "time_expire": 1_900_000_000, "openid": null, "sub_openid": false,
        "prepay": {"code_url": "weixin://wxpay/bizpayurl?pr=abcdefg"}, "prepay_id": null,
        "h5_link": null,
        "request": {"appid": "wxd678efh567hg6787", "mchid": "1900000109",
            "description": "Image形象店-深圳腾大-QQ公仔", "out_trade_no": no,
            "time_expire": "2030-01-01T00:00:00+08:00", "attach": "site=1",
            "notify_url": "http://127.0.0.1:8080/callbacks/wechat/native",
            "amount": {"total": 100, "currency": "CNY"}},
        "success_time": null, "refunded": 0, "combine": null, "created": 1_700_000_000
    }))
    .unwrap()
}

#[test]
#[ignore = "a measurement to run by hand in release"]
fn store_throughput() {
    let (orders, tasks, per_task) = (
        env("BENCH_ORDERS", 20_000),
        env("BENCH_TASKS", 16),
        env("BENCH_PER_TASK", 100),
    );
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .unwrap();
    let mut seed = WechatState::default();
    for i in 0..orders {
        seed.orders.insert(format!("k{i}"), order(i));
    }
    let snapshot = serde_json::to_vec_pretty(&seed).unwrap();
    std::fs::write(dir.path().join("wechat.json"), &snapshot).unwrap();

    let opening = Instant::now();
    let store: Arc<Store<WechatState>> =
        Arc::new(Store::open(Some(dir.path()), "wechat.json").unwrap());
    let opened = opening.elapsed();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let start = Instant::now();
    runtime.block_on(async {
        let running: Vec<_> = (0..tasks)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for j in 0..per_task {
                        let i = orders + t * per_task + j;
                        let o = order(i);
                        store
                            .update(|s| s.orders.insert(format!("k{i}"), o))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in running {
            task.await.unwrap();
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let updates = tasks * per_task;
    eprintln!(
        "{orders} orders ({} MB snapshot, opened in {opened:.0?}): {updates} updates from {tasks} \
         tasks in {seconds:.2} s, {:.0} updates/s",
        snapshot.len() / 1_000_000,
        f64::from(u32::try_from(updates).unwrap_or(u32::MAX)) / seconds
    );
}
