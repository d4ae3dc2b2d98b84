//! Runs the `paygate sim` binary and talks to it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use test_support::paygate::{SimChild, SimOptions};

/// Starts the binary on `state_dir` and reads the line it prints: the base URL.
fn start(state_dir: &Path) -> SimChild {
    SimChild::start(
        Path::new(env!("CARGO_BIN_EXE_paygate")),
        SimOptions {
            time_scale: Some(0.001),
            state_dir: Some(state_dir.to_owned()),
            ..SimOptions::default()
        },
    )
}

#[tokio::test]
async fn the_binary_serves_the_control_api_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let body = serde_json::json!({
        "mchid": "1900000401", "serial_no": "SERIAL401",
        "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
        "apiv3_key": "0123456789abcdef0123456789ABCDEF", "appids": ["wx1"], "mode": "certificate",
    });
    let http = reqwest::Client::new();
    let sim = start(dir.path());
    let r = http
        .post(format!("{}/sim/wechat/merchants", sim.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first: serde_json::Value = r.json().await.unwrap();
    assert!(
        first["public_key_id"]
            .as_str()
            .unwrap()
            .starts_with("PUB_KEY_ID_")
    );
    assert!(
        first["platform_certificate_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    // SIGTERM: the simulator stops on its own and exits 0 (state is already on disk).
    sim.stop();

    let sim = start(dir.path());
    let r = http
        .post(format!("{}/sim/wechat/merchants", sim.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let second: serde_json::Value = r.json().await.unwrap();
    assert_eq!(first, second, "the platform key is stable across restarts");
}

#[test]
fn help_documents_the_control_api() {
    let out = Command::new(env!("CARGO_BIN_EXE_paygate"))
        .args(["sim", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "/sim/wechat/merchants",
        "/sim/faults",
        "/sim/wechat/callbacks",
        "--state-dir",
        "--time-scale",
    ] {
        assert!(text.contains(needle), "{needle} not in --help");
    }
}
