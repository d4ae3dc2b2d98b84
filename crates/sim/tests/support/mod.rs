//! Test helpers: an in-process simulator, a hand-written WeChat Pay v3 request signer and response
//! verifier (independent of the `wechatpay` crate), and a local callback receiver.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use axum::http::HeaderMap;
use base64::Engine;
use channel_core::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sim::{RunningSim, SimConfig};

pub const APPID: &str = "wxd678efh567hg6787";
pub const APIV3_KEY: &str = "0123456789abcdef0123456789ABCDEF";

pub struct TestSim {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

#[derive(Clone)]
pub struct Merchant {
    pub mchid: String,
    pub serial_no: String,
    pub key: Arc<RsaPrivateKey>,
    pub platform_public: RsaPublicKey,
    pub public_key_id: String,
    pub platform_serial_no: String,
    pub registration: Value,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// Order of the `k="v"` pairs in the Authorization header.
pub const USUAL_ORDER: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];

impl TestSim {
    pub async fn start() -> Self {
        Self::start_with(SimConfig {
            time_scale: 0.001,
            ..SimConfig::default()
        })
        .await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let sim = sim::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    /// Registers a merchant with a fresh key; `mode` is `public_key` or `certificate`.
    pub async fn register(&self, mchid: &str, mode: &str) -> Merchant {
        let key = RsaPrivateKey::generate().unwrap();
        self.register_with_key(mchid, mode, key).await
    }

    pub async fn register_with_key(&self, mchid: &str, mode: &str, key: RsaPrivateKey) -> Merchant {
        let serial_no = format!("{mchid}SERIAL");
        let body = json!({
            "mchid": mchid, "serial_no": serial_no,
            "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
            "apiv3_key": APIV3_KEY, "appids": [APPID], "mode": mode,
        });
        let r = self
            .http
            .post(self.url("/sim/wechat/merchants"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let registration: Value = r.json().await.unwrap();
        for field in [
            "public_key_id",
            "public_key_pem",
            "platform_serial_no",
            "platform_certificate_pem",
        ] {
            assert!(
                registration[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field} missing"
            );
        }
        Merchant {
            mchid: mchid.to_owned(),
            serial_no,
            key: Arc::new(key),
            platform_public: RsaPublicKey::from_pem(
                registration["public_key_pem"].as_str().unwrap(),
            )
            .unwrap(),
            public_key_id: registration["public_key_id"].as_str().unwrap().to_owned(),
            platform_serial_no: registration["platform_serial_no"]
                .as_str()
                .unwrap()
                .to_owned(),
            registration,
        }
    }

    /// A signed call; `path` includes the query.
    pub async fn call(&self, m: &Merchant, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.call_with(m, method, path, body, &USUAL_ORDER, false)
            .await
    }

    pub async fn call_with(
        &self,
        m: &Merchant,
        method: &str,
        path: &str,
        body: Option<&Value>,
        order: &[&str],
        tamper: bool,
    ) -> Resp {
        let body_text = body.map(Value::to_string).unwrap_or_default();
        let auth = authorization(m, method, path, &body_text, order, tamper);
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .header("Authorization", auth)
            .header("Accept", "application/json");
        if body.is_some() {
            req = req
                .header("Content-Type", "application/json")
                .body(body_text);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap().to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn native_order(&self, m: &Merchant, no: &str, total: i64, notify_url: &str) -> Resp {
        self.call(
            m,
            "POST",
            "/v3/pay/transactions/native",
            Some(&order_body(m, no, total, notify_url)),
        )
        .await
    }

    /// `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…`, signed as `m`.
    pub async fn query_order(&self, m: &Merchant, no: &str) -> Resp {
        let path = format!("/v3/pay/transactions/out-trade-no/{no}?mchid={}", m.mchid);
        self.call(m, "GET", &path, None).await
    }

    /// `POST /v3/pay/transactions/out-trade-no/{no}/close` with `m`'s `mchid`, signed as `m`.
    pub async fn close_order(&self, m: &Merchant, no: &str) -> Resp {
        let path = format!("/v3/pay/transactions/out-trade-no/{no}/close");
        self.call(m, "POST", &path, Some(&json!({"mchid": m.mchid})))
            .await
    }

    /// `POST /v3/refund/domestic/refunds` with `body`, signed as `m`.
    pub async fn refund(&self, m: &Merchant, body: &Value) -> Resp {
        self.call(m, "POST", "/v3/refund/domestic/refunds", Some(body))
            .await
    }

    /// Binds `sub_mchid` (with `sub_appids`) to the service provider `sp`.
    pub async fn bind_sub_merchant(&self, sp: &Merchant, sub_mchid: &str, sub_appids: &[&str]) {
        let (status, v) = self
            .control(
                "POST",
                "/sim/wechat/sub-merchants",
                Some(
                    json!({"sp_mchid": sp.mchid, "sub_mchid": sub_mchid, "sub_appids": sub_appids}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }

    pub async fn pay(&self, m: &Merchant, no: &str) -> Value {
        let (status, v) = self
            .control(
                "POST",
                &format!("/sim/wechat/orders/{no}/pay?mchid={}", m.mchid),
                None,
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }
}

pub fn order_body(m: &Merchant, no: &str, total: i64, notify_url: &str) -> Value {
    json!({
        "appid": APPID, "mchid": m.mchid, "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": no, "notify_url": notify_url, "amount": {"total": total, "currency": "CNY"},
    })
}

pub fn authorization(
    m: &Merchant,
    method: &str,
    path: &str,
    body: &str,
    order: &[&str],
    tamper: bool,
) -> String {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let nonce = channel_core::nonce::alphanumeric(32);
    let message = format!("{method}\n{path}\n{ts}\n{nonce}\n{body}\n");
    let signed = if tamper {
        format!("{message}x")
    } else {
        message
    };
    let signature = m.key.sign_base64(signed.as_bytes());
    let value = |k: &str| match k {
        "mchid" => m.mchid.clone(),
        "nonce_str" => nonce.clone(),
        "timestamp" => ts.clone(),
        "serial_no" => m.serial_no.clone(),
        _ => signature.clone(),
    };
    let pairs: Vec<String> = order
        .iter()
        .map(|k| format!("{k}=\"{}\"", value(k)))
        .collect();
    format!("WECHATPAY2-SHA256-RSA2048 {}", pairs.join(","))
}

/// Verifies the `Wechatpay-*` headers over `body` with `key`; returns the serial header.
pub fn verify_signed(headers: &HeaderMap, body: &[u8], key: &RsaPublicKey) -> String {
    let h = |n: &str| {
        headers
            .get(n)
            .unwrap_or_else(|| panic!("{n} missing"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(h("wechatpay-signature-type"), "WECHATPAY2-SHA256-RSA2048");
    assert!(!h("request-id").is_empty());
    let ts: i64 = h("wechatpay-timestamp").parse().unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!((now - ts).abs() < 300);
    let mut message = format!("{ts}\n{}\n", h("wechatpay-nonce")).into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    key.verify_base64(&message, &h("wechatpay-signature"))
        .expect("response signature verifies");
    h("wechatpay-serial")
}

pub fn decrypt(key: &str, nonce: &str, aad: &str, ciphertext_b64: &str) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(ciphertext_b64)
        .unwrap();
    Aes256Gcm::new_from_slice(key.as_bytes())
        .unwrap()
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &data,
                aad: aad.as_bytes(),
            },
        )
        .unwrap()
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

/// A local notify_url that answers the scripted statuses in turn (the last one repeats).
pub struct Receiver {
    pub url: String,
    pub rx: tokio::sync::mpsc::UnboundedReceiver<Received>,
}

pub async fn receiver(statuses: Vec<u16>) -> Receiver {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new((statuses, 0usize)));
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let script = script.clone();
            async move {
                let status = {
                    let mut s = script.lock().unwrap();
                    let i = s.1.min(s.0.len() - 1);
                    s.1 += 1;
                    s.0[i]
                };
                let _ = tx.send(Received { headers, body });
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/notify"),
        rx,
    }
}

impl Receiver {
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.rx.recv())
            .await
            .expect("callback in time")
            .unwrap()
    }
}

/// A unique out_trade_no.
pub fn no(prefix: &str) -> String {
    format!("{prefix}{}", channel_core::nonce::alphanumeric(12))
}

impl TestSim {
    /// `POST /sim/wechat/oauth/apps`: sets an official account's AppSecret.
    pub async fn oauth_app(&self, appid: &str, secret: &str) {
        let (status, v) = self
            .control(
                "POST",
                "/sim/wechat/oauth/apps",
                Some(json!({"appid": appid, "secret": secret})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }

    /// `GET /sns/oauth2/access_token`, as the merchant's server calls it.
    pub async fn sns_token(&self, appid: &str, secret: &str, code: &str, grant_type: &str) -> Resp {
        let r = self
            .http
            .get(self.url("/sns/oauth2/access_token"))
            .query(&[
                ("appid", appid),
                ("secret", secret),
                ("code", code),
                ("grant_type", grant_type),
            ])
            .send()
            .await
            .unwrap();
        Resp::read(r).await
    }

    /// `POST /v3/pay/transactions/h5`, signed as `m`.
    pub async fn h5_order(&self, m: &Merchant, no: &str, total: i64, notify_url: &str) -> Resp {
        let mut body = order_body(m, no, total, notify_url);
        body["scene_info"] =
            json!({"payer_client_ip": "14.23.150.211", "h5_info": {"type": "Wap"}});
        self.call(m, "POST", "/v3/pay/transactions/h5", Some(&body))
            .await
    }
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap().to_vec();
        Self {
            status,
            headers,
            bytes,
        }
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

/// A phone browser: follows no redirect (tests look at them) and keeps the simulator's cookie.
pub struct Browser {
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    pub async fn get(&mut self, url: &str) -> Resp {
        let r = self.with_cookie(self.http.get(url)).send().await.unwrap();
        self.keep_cookie(Resp::read(r).await)
    }

    pub async fn post_form(&mut self, url: &str, form: &[(String, String)]) -> Resp {
        let r = self
            .with_cookie(self.http.post(url))
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookie(Resp::read(r).await)
    }

    /// Opens the authorize URL with `params` and answers the redirect's `code` and `state`.
    pub async fn authorize(&mut self, t: &TestSim, params: &[(&str, &str)]) -> Resp {
        let url = format!(
            "{}?{}",
            t.url("/connect/oauth2/authorize"),
            serde_urlencoded::to_string(params).unwrap()
        );
        self.get(&url).await
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => req.header("Cookie", c),
            None => req,
        }
    }

    fn keep_cookie(&mut self, r: Resp) -> Resp {
        if let Some(v) = r.headers.get("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        r
    }
}

/// The first form of a page: its action and its hidden fields.
pub fn form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let len = tag[start..].find('"')?;
        Some(unescape(&tag[start..start + len]))
    };
    let form_tag = &html[html.find("<form").expect("a form")..];
    let action = attr(&form_tag[..form_tag.find('>').unwrap()], "action").unwrap();
    let fields = form_tag
        .split("<input")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            let name = tag
                .split("name=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned();
            (name, attr(tag, "value").unwrap())
        })
        .collect();
    (action, fields)
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
