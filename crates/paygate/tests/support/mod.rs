//! What the paygate binary's tests share, beside `test_support`: the binary's path, a standalone
//! simulator with a blocking control-API call, keys and identifiers, and a live config using the
//! simulator; `serve` (one `paygate serve` and the requests the `serve_*` tests make), `cluster`
//! (several processes for the crash and many-node tests), `interop` (third-party SDKs) and `browser`
//! (the checkout page in headless Chromium).

// Each test binary uses its own part of this module; and these are test helpers outside
// `#[test]` functions, where a failure is the test failing.
#![allow(dead_code, clippy::expect_used)]

pub mod browser;
pub mod cluster;
pub mod interop;
pub mod serve;

use std::path::{Path, PathBuf};
use std::time::Duration;

use channel_core::RsaPrivateKey;
use serde_json::Value;
use test_support::paygate::{SimChild, SimOptions};

pub use test_support::snippets::interop_dir;

/// The `paygate` binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paygate"))
}

// ---------------------------------------------------------------------------------------------
// The simulator child process
// ---------------------------------------------------------------------------------------------

/// A running `paygate sim` on a fresh state dir (`test_support::paygate::SimChild`), killed when
/// dropped (also when the test panics), with a blocking call to its control API.
pub struct Sim {
    child: SimChild,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
}

impl Sim {
    pub fn start() -> Self {
        let child = SimChild::start(bin(), SimOptions::default());
        Self {
            url: child.url.clone(),
            child,
        }
    }

    /// Everything the simulator printed so far (stdout and stderr, interleaved by line).
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// POSTs `body` as JSON to the simulator (control API) and returns the JSON answer.
    pub fn post_json(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.url);
        let result = runtime().block_on(async {
            let response = serve::http().post(&url).json(body).send().await?;
            let status = response.status();
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        });
        let (status, text) = result
            .unwrap_or_else(|e| panic!("POST {url}: {e}\n--- sim output ---\n{}", self.log()));
        assert!(
            status.is_success(),
            "POST {url} answered {status}: {text}\n--- sim output ---\n{}",
            self.log()
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST {url}: answer is not JSON ({e}): {text}"))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// An HTTP client for loopback only: never through a proxy from the environment.
fn loopback_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}

// ---------------------------------------------------------------------------------------------
// Keys and identifiers
// ---------------------------------------------------------------------------------------------

/// A fresh RSA 2048 key pair as (PKCS#8 private PEM, SPKI public PEM). Nothing is ever committed.
pub fn key_pair() -> (String, String) {
    let key = RsaPrivateKey::generate().expect("generate RSA key");
    // Key files as merchants get them use LF line ends; `wechatpayv3` cannot load a CRLF PEM.
    let private_pem = key
        .to_pkcs8_pem()
        .expect("private key PEM")
        .replace("\r\n", "\n");
    let public_pem = key
        .public_key()
        .expect("public key")
        .to_pem()
        .replace("\r\n", "\n");
    (private_pem, public_pem)
}

/// `len` random decimal digits, the first not zero.
pub fn digits(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    channel_core::nonce::fill(&mut bytes);
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| char::from(if i == 0 { b'1' + b % 9 } else { b'0' + b % 10 }))
        .collect()
}

/// `len` random upper-case hex digits.
pub fn hex_upper(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    channel_core::nonce::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(b"0123456789ABCDEF"[usize::from(b % 16)]))
        .collect()
}

/// A WeChat Pay merchant registered with `sim`, and a paygate config file in `dir` that uses it as
/// a real channel (live mode; plain http, as nothing but loopback is involved).
pub fn wechat_live_config(sim: &Sim, dir: &Path) -> PathBuf {
    let (private_pem, public_pem) = key_pair();
    let mchid = digits(10);
    let apiv3 = channel_core::nonce::alphanumeric(32);
    let registered = sim.post_json(
        "/sim/wechat/merchants",
        &serde_json::json!({
            "mchid": mchid, "serial_no": "SERIAL1", "merchant_public_key_pem": public_pem,
            "apiv3_key": apiv3, "appids": ["wx0000000000000001"],
        }),
    );
    std::fs::write(dir.join("merchant.pem"), private_pem).expect("write the merchant key");
    std::fs::write(
        dir.join("wechatpay_pub.pem"),
        registered["public_key_pem"]
            .as_str()
            .expect("the simulator's public key"),
    )
    .expect("write the platform key");
    let config = dir.join("paygate.toml");
    std::fs::write(
        &config,
        format!(
            // Live mode against the simulator on loopback: no TLS proxy, plain http.
            "public_url = \"http://paygate.test\"\nallow_http_public_url = true\n\
             [wechat]\nmchid = \"{mchid}\"\nappid = \"wx0000000000000001\"\n\
             merchant_serial = \"SERIAL1\"\nmerchant_key_file = \"merchant.pem\"\n\
             apiv3_key = \"{apiv3}\"\npublic_key_id = \"{}\"\npublic_key_file = \"wechatpay_pub.pem\"\n\
             api_base_url = \"{}\"\n",
            registered["public_key_id"]
                .as_str()
                .expect("the simulator's public key id"),
            sim.url
        ),
    )
    .expect("write paygate.toml");
    config
}
