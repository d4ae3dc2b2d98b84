//! Runs the `paygate sim` binary and talks to it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and reads the one line it prints: the base URL.
fn start(state_dir: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paygate"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--time-scale",
            "0.001",
            "--state-dir",
        ])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("paygate sim listening on ")
        .expect("the listening line")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    (Running(child), url)
}

/// SIGTERM: the simulator stops on its own and exits 0 (state is already on disk).
fn stop_gracefully(mut running: Running) {
    #[cfg(unix)]
    {
        let pid = running.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(status) = running.0.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit after SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    drop(running);
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
    let (running, url) = start(dir.path());
    let r = http
        .post(format!("{url}/sim/wechat/merchants"))
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
    stop_gracefully(running);

    let (_running, url) = start(dir.path());
    let r = http
        .post(format!("{url}/sim/wechat/merchants"))
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
