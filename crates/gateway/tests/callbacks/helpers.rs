//! What the callback tests share: orders on each channel, the simulators' callback logs, posting
//! callbacks by hand, and signing WeChat Pay callbacks with the simulator's own platform key (read
//! from its state file) to produce validly signed callbacks the simulator would not send.

use std::time::Duration;

use gateway::domain::{Order, OrderStatus};
use gateway::store::Anomaly;
use serde_json::{Value, json};

use crate::support::app::{TestApp, sandbox_keys, unix_now};

/// A WeChat Pay Native order of 29.90, pending.
pub async fn wechat_order(app: &TestApp, no: &str) -> Order {
    let body = json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990});
    app.create_native(&body).await.assert_ok();
    let order = app.stored(&app.site, no).await;
    assert_eq!(order.status, OrderStatus::Pending);
    order
}

/// An Alipay QR order of 29.90, pending.
pub async fn alipay_order(app: &TestApp, no: &str) -> Order {
    let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
        "description": "VIP月卡", "amount_total": 2990});
    app.create_order(&body).await.assert_ok();
    let order = app.stored(&app.site, no).await;
    assert_eq!(order.status, OrderStatus::Pending);
    order
}

/// The payer pays the Alipay trade in the simulator.
pub async fn sim_alipay(app: &TestApp, order: &Order, action: &str) {
    let url = format!(
        "{}/sim/alipay/trades/{}/{action}?app_id={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        sandbox_keys().alipay_app_id
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

/// Polls the stored order until it has `status` (the callback is asynchronous).
pub async fn wait_status(app: &TestApp, no: &str, status: OrderStatus) -> Order {
    for _ in 0..200 {
        let order = app.stored(&app.site, no).await;
        if order.status == status {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "order {no} never became {status:?}: {:?}",
        app.stored(&app.site, no).await
    );
}

/// Turns callback delivery in the simulator off (logged, not sent) or back on.
pub async fn drop_callbacks(app: &TestApp, on: bool) {
    app.sim_faults(Some(json!({ "drop_callbacks": on }))).await;
}

/// The simulator's callbacks about `order` on `channel` (`wechat`, `alipay`), oldest first.
pub async fn sim_callbacks(app: &TestApp, channel: &str, order: &Order) -> Vec<Value> {
    let url = format!("{}/sim/{channel}/callbacks", app.sim.base_url);
    let log: Vec<Value> = app
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.into_iter()
        .filter(|r| r["reference"] == order.upstream_order_no.as_str())
        .collect()
}

/// Waits until the simulator has logged a callback about `order`; returns the first.
pub async fn captured(app: &TestApp, channel: &str, order: &Order) -> Value {
    for _ in 0..200 {
        if let Some(first) = sim_callbacks(app, channel, order).await.into_iter().next() {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no {channel} callback logged for {}",
        order.upstream_order_no.as_str()
    );
}

/// Waits until every callback about `order` has left the `pending` state.
pub async fn wait_settled(app: &TestApp, channel: &str, order: &Order) -> Vec<Value> {
    for _ in 0..200 {
        let log = sim_callbacks(app, channel, order).await;
        if !log.is_empty() && log.iter().all(|r| r["state"] != "pending") {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "callbacks about {} never settled",
        order.upstream_order_no.as_str()
    );
}

/// A status and the body of an answer to a hand-posted callback.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// WeChat Pay's failure answer: `{"code":"FAIL","message":…}` with this status.
    #[track_caller]
    pub fn assert_wechat_fail(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json()["code"], "FAIL", "{}", self.text);
        assert!(
            self.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// Posts a WeChat Pay callback (headers as the simulator logged them) to `/callbacks/wechat/{mchid}`.
pub async fn post_wechat(
    app: &TestApp,
    mchid: &str,
    headers: &[(String, String)],
    body: &str,
) -> Answer {
    let mut req = app
        .http
        .post(format!("{}/callbacks/wechat/{mchid}", app.base))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        text: resp.text().await.unwrap(),
    }
}

/// Posts the same WeChat Pay callback `n` times at once, each from its own task.
pub async fn post_wechat_concurrently(
    app: &TestApp,
    mchid: &str,
    headers: &[(String, String)],
    body: &str,
    n: usize,
) -> Vec<Answer> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (http, start) = (app.http.clone(), start.clone());
            let url = format!("{}/callbacks/wechat/{mchid}", app.base);
            let (headers, body) = (headers.to_vec(), body.to_owned());
            tokio::spawn(async move {
                let mut req = http.post(url).body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                start.wait().await;
                let resp = req.send().await.unwrap();
                Answer {
                    status: resp.status().as_u16(),
                    text: resp.text().await.unwrap(),
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Posts an Alipay notification form to `/callbacks/alipay/{app_id}`.
pub async fn post_alipay(app: &TestApp, app_id: &str, body: &str) -> Answer {
    let resp = app
        .http
        .post(format!("{}/callbacks/alipay/{app_id}", app.base))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        text: resp.text().await.unwrap(),
    }
}

/// The headers of a logged callback.
pub fn headers_of(record: &Value) -> Vec<(String, String)> {
    record["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Replaces (or adds) one header.
pub fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

/// A TRANSACTION.SUCCESS envelope for `resource`, encrypted with the sandbox APIv3 key.
pub fn wechat_envelope(resource: &Value) -> String {
    let key = wechatpay::ApiV3Key::new(&sandbox_keys().wechat_apiv3_key).unwrap();
    let nonce = channel_core::nonce::alphanumeric(12);
    let ciphertext =
        wechatpay::aead::encrypt(&key, &nonce, "transaction", resource.to_string().as_bytes())
            .unwrap();
    json!({
        "id": "EV-test-1", "create_time": "2024-01-30T16:00:00+08:00",
        "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext, "associated_data": "transaction", "nonce": nonce}
    })
    .to_string()
}

/// Headers signing `body` at `timestamp` with the simulator's platform key for the sandbox
/// merchant, as WeChat Pay signs callbacks.
pub fn sign_wechat(app: &TestApp, body: &str, timestamp: i64) -> Vec<(String, String)> {
    let path = app.sim_dir.path().join("wechat.json");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let platform = &state["merchants"][&sandbox_keys().wechat_mchid]["platform"];
    let key = channel_core::RsaPrivateKey::from_pem(platform["private_key_pem"].as_str().unwrap())
        .unwrap();
    let nonce = channel_core::nonce::alphanumeric(32);
    let signature = key.sign_base64(format!("{timestamp}\n{nonce}\n{body}\n").as_bytes());
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("Wechatpay-Timestamp".into(), timestamp.to_string()),
        ("Wechatpay-Nonce".into(), nonce),
        ("Wechatpay-Signature".into(), signature),
        (
            "Wechatpay-Serial".into(),
            platform["public_key_id"].as_str().unwrap().to_owned(),
        ),
        (
            "Wechatpay-Signature-Type".into(),
            "WECHATPAY2-SHA256-RSA2048".into(),
        ),
    ]
}

/// The paid transaction of `order` as WeChat Pay's callback carries it.
pub fn transaction(order: &Order, total: i64) -> Value {
    json!({
        "appid": sandbox_keys().wechat_appids.mp, "mchid": sandbox_keys().wechat_mchid,
        "out_trade_no": order.upstream_order_no.as_str(), "transaction_id": "4200000000202401300000000001",
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "bank_type": "OTHERS", "success_time": "2024-01-30T16:00:00+08:00",
        "payer": {"openid": "oTest"}, "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
    })
}

/// A fresh, validly signed timestamp.
pub fn now_ts() -> i64 {
    unix_now()
}

/// `TRANSACTION.SUCCESS` events written for the order.
pub async fn success_events(app: &TestApp, order: &Order) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM notification_events WHERE order_id = {} AND event_type = 'TRANSACTION.SUCCESS'",
            order.id.as_i64()
        ))
        .await
}

/// Anomalies of `kind`.
pub async fn anomalies(app: &TestApp, kind: &str) -> Vec<Anomaly> {
    app.db
        .store
        .anomalies()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == kind)
        .collect()
}

/// The `/metrics` text.
pub async fn metrics(app: &TestApp) -> String {
    app.metrics().await
}
