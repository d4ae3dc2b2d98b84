//! The channels' side: a standalone `paygate sim` (`test_support::paygate::SimChild`, which
//! outlives every paygate), the WeChat Pay merchant and Alipay app registered with it with a
//! paygate config file using them ([`Accounts`]), and the trade states it holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use test_support::paygate::{SimChild, SimOptions};

use super::{http, post_json};

/// `paygate sim --time-scale S` on a fresh state dir, logging warnings only.
pub fn start_sim(time_scale: f64) -> SimChild {
    SimChild::start(
        super::super::bin(),
        SimOptions {
            time_scale: Some(time_scale),
            rust_log: Some("warn".to_owned()),
            ..SimOptions::default()
        },
    )
}

/// Upstream order number → trade state, of both channels, from the simulator's state files.
pub fn upstream_states(sim: &SimChild) -> HashMap<String, String> {
    let read = |records: serde_json::Map<String, Value>, state: &str| -> Vec<(String, String)> {
        records
            .values()
            .filter_map(|o| {
                Some((
                    o["out_trade_no"].as_str()?.to_owned(),
                    o[state].as_str()?.to_owned(),
                ))
            })
            .collect()
    };
    let dir = sim.state_dir();
    let mut all: HashMap<String, String> = read(test_support::sim::wechat_orders(dir), "state")
        .into_iter()
        .collect();
    all.extend(read(test_support::sim::alipay_trades(dir), "status"));
    all
}

/// Whether a trade state means paid (WeChat Pay `SUCCESS`/`REFUND`, Alipay
/// `TRADE_SUCCESS`/`TRADE_FINISHED`).
pub fn is_paid(state: &str) -> bool {
    matches!(
        state,
        "SUCCESS" | "REFUND" | "TRADE_SUCCESS" | "TRADE_FINISHED"
    )
}

/// The two channels, as `/v1/orders` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Wechat,
    Alipay,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Alipay => "alipay",
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Self::Wechat => "native",
            Self::Alipay => "qr",
        }
    }
}

/// A WeChat Pay merchant and an Alipay app registered with the simulator, and a paygate config
/// file (`[wechat]` and `[alipay]`) using them.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub config: PathBuf,
    pub mchid: String,
    pub alipay_app_id: String,
    sim_url: String,
}

impl Accounts {
    pub async fn register(sim: &SimChild, dir: &Path) -> Self {
        let ((wechat_private, wechat_public), (alipay_private, alipay_public)) =
            tokio::task::spawn_blocking(|| (super::super::key_pair(), super::super::key_pair()))
                .await
                .expect("key generation");
        let mchid = format!("19{}", super::super::digits(8));
        let appid = format!("wx{}", super::super::digits(16));
        let serial = super::super::hex_upper(40);
        let apiv3 = channel_core::nonce::alphanumeric(32);
        let registered = post_json(
            &format!("{}/sim/wechat/merchants", sim.url),
            &json!({
                "mchid": mchid, "serial_no": serial, "merchant_public_key_pem": wechat_public,
                "apiv3_key": apiv3, "appids": [appid],
            }),
        )
        .await;
        let app_id = format!("2021{}", super::super::digits(12));
        let app = post_json(
            &format!("{}/sim/alipay/apps", sim.url),
            &json!({"app_id": app_id, "app_public_key_pem": alipay_public}),
        )
        .await;
        let field = |v: &Value, k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("no {k} in {v}"))
                .to_owned()
        };
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).expect("write a key file");
        };
        write("wechat_merchant.pem", &wechat_private);
        write("wechat_platform.pem", &field(&registered, "public_key_pem"));
        write("alipay_app.pem", &alipay_private);
        write("alipay_public.pem", &field(&app, "alipay_public_key_pem"));
        let config = dir.join("paygate.toml");
        std::fs::write(
            &config,
            format!(
                // Live mode against the simulator on loopback: no TLS proxy, plain http.
                "allow_http_public_url = true\n\n\
                 [wechat]\nmchid = \"{mchid}\"\nappid = \"{appid}\"\nmerchant_serial = \"{serial}\"\n\
                 merchant_key_file = \"wechat_merchant.pem\"\napiv3_key = \"{apiv3}\"\n\
                 public_key_id = \"{}\"\npublic_key_file = \"wechat_platform.pem\"\n\
                 api_base_url = \"{}\"\n\n\
                 [alipay]\napp_id = \"{app_id}\"\napp_private_key_file = \"alipay_app.pem\"\n\
                 alipay_public_key_file = \"alipay_public.pem\"\ngateway_url = \"{}/gateway.do\"\n\
                 seller_id = \"{}\"\n",
                field(&registered, "public_key_id"),
                sim.url,
                sim.url,
                field(&app, "seller_id"),
            ),
        )
        .expect("write paygate.toml");
        Self {
            config,
            mchid,
            alipay_app_id: app_id,
            sim_url: sim.url.clone(),
        }
    }

    /// The payer pays the upstream order in the simulator (its control API).
    pub async fn pay(&self, channel: Channel, upstream_no: &str) -> Result<(), String> {
        let url = match channel {
            Channel::Wechat => format!(
                "{}/sim/wechat/orders/{upstream_no}/pay?mchid={}",
                self.sim_url, self.mchid
            ),
            Channel::Alipay => format!(
                "{}/sim/alipay/trades/{upstream_no}/pay?app_id={}",
                self.sim_url, self.alipay_app_id
            ),
        };
        let r = http()
            .post(&url)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = r.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST {url}: {status} {}",
                r.text().await.unwrap_or_default()
            ))
        }
    }
}
