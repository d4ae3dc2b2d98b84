//! Third-party Alipay SDKs, pointed at `paygate sim`, with their
//! own response-signature checks on.
//!
//! - `alipay-sdk` (official, npm): precreate, query, close, pay (control API), the
//!   `trade_status_sync` notification, refund — `interop/alipay_sdk.mjs`
//! - `python-alipay-sdk` (PyPI): precreate, query, pay, notification — `interop/python_alipay.py`
//!
//! The scripts and their pinned packages live in `interop/`; the packages are installed on first
//! use (see `support::interop`).

mod support;

use serde_json::json;
use support::interop::{self, run_script};
use support::{Sim, key_pair};

/// Registers a fresh app and returns the scripts' environment.
fn register_app(sim: &Sim) -> Vec<(&'static str, String)> {
    let (private_pem, public_pem) = key_pair();
    let app_id = format!("2021{}", support::digits(12));
    let answer = sim.post_json(
        "/sim/alipay/apps",
        &json!({ "app_id": app_id, "app_public_key_pem": public_pem }),
    );
    let alipay_public_key = answer["alipay_public_key_pem"]
        .as_str()
        .unwrap_or_else(|| panic!("app registration answer has no alipay_public_key_pem: {answer}"))
        .to_owned();
    vec![
        ("ALIPAY_APP_ID", app_id),
        ("ALIPAY_APP_PRIVATE_KEY", private_pem),
        ("ALIPAY_PUBLIC_KEY", alipay_public_key),
        // Both SDKs stamp `timestamp` in the process's local time; Alipay reads it as China time.
        ("TZ", "Asia/Shanghai".to_owned()),
    ]
}

fn as_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn alipay_sdk_nodejs() {
    let node = interop::node();
    let sim = Sim::start();
    let env = register_app(&sim);
    run_script(
        &sim,
        &node,
        &["alipay_sdk.mjs"],
        &as_env(&env),
        "alipay-sdk interop: OK",
    );
}

#[test]
fn python_alipay_sdk() {
    let python = interop::python();
    let sim = Sim::start();
    let env = register_app(&sim);
    run_script(
        &sim,
        &python,
        &["python_alipay.py"],
        &as_env(&env),
        "python-alipay-sdk interop: OK",
    );
}
