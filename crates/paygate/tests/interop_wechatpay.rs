//! Widely used third-party WeChat Pay v3 SDKs, pointed at
//! `paygate sim`, order, query, close, pay (control API), receive the payment callback and refund,
//! each with its own response-signature verification on.
//!
//! - `wechatpay-axios-plugin` (npm): `interop/wechatpay_axios.mjs`
//! - `wechatpayv3` (PyPI): `interop/wechatpayv3_client.py`
//!
//! Both run in public-key mode (`Wechatpay-Serial: PUB_KEY_ID_…`, the default for new merchants)
//! and in platform-certificate mode. The scripts and their pinned packages live in `interop/`;
//! the packages are installed on first use (see `support::interop`).

mod support;

use serde_json::json;
use support::interop::{self, run_script};
use support::{Sim, key_pair};

/// A merchant registered with the simulator, as the scripts' environment.
struct Merchant {
    env: Vec<(&'static str, String)>,
}

impl Merchant {
    fn register(sim: &Sim, mode: &str) -> Self {
        let (private_pem, public_pem) = key_pair();
        let mchid = support::digits(10);
        let serial = support::hex_upper(40);
        let appid = format!("wx{}", support::hex_upper(16).to_lowercase());
        let apiv3_key = channel_core::nonce::alphanumeric(32);
        let answer = sim.post_json(
            "/sim/wechat/merchants",
            &json!({
                "mchid": mchid,
                "serial_no": serial,
                "merchant_public_key_pem": public_pem,
                "apiv3_key": apiv3_key,
                "appids": [appid],
                "mode": mode,
            }),
        );
        let field = |name: &str| -> String {
            answer[name]
                .as_str()
                .unwrap_or_else(|| panic!("merchant registration answer has no {name}: {answer}"))
                .to_owned()
        };
        let (platform_id, platform_pem) = match mode {
            "public_key" => (field("public_key_id"), field("public_key_pem")),
            _ => (
                field("platform_serial_no"),
                field("platform_certificate_pem"),
            ),
        };
        Self {
            env: vec![
                ("WECHATPAY_MCHID", mchid),
                ("WECHATPAY_APPID", appid),
                ("WECHATPAY_MCH_SERIAL", serial),
                ("WECHATPAY_MCH_PRIVATE_KEY", private_pem),
                ("WECHATPAY_APIV3_KEY", apiv3_key),
                ("WECHATPAY_PLATFORM_ID", platform_id),
                ("WECHATPAY_PLATFORM_PEM", platform_pem),
            ],
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

fn axios_plugin(mode: &str) {
    let node = interop::node();
    let sim = Sim::start();
    let merchant = Merchant::register(&sim, mode);
    run_script(
        &sim,
        &node,
        &["wechatpay_axios.mjs"],
        &merchant.env(),
        "wechatpay-axios-plugin interop: OK",
    );
}

fn wechatpayv3(mode: &str) {
    let python = interop::python();
    let sim = Sim::start();
    let merchant = Merchant::register(&sim, mode);
    run_script(
        &sim,
        &python,
        &["wechatpayv3_client.py"],
        &merchant.env(),
        "wechatpayv3 interop: OK",
    );
}

#[test]
fn wechatpay_axios_plugin_in_public_key_mode() {
    axios_plugin("public_key");
}

#[test]
fn wechatpay_axios_plugin_in_certificate_mode() {
    axios_plugin("certificate");
}

#[test]
fn wechatpayv3_python_in_public_key_mode() {
    wechatpayv3("public_key");
}

#[test]
fn wechatpayv3_python_in_certificate_mode() {
    wechatpayv3("certificate");
}
