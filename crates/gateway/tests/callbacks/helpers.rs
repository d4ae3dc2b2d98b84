//! What the callback tests share: orders on each channel, the simulators' callback logs, posting
//! callbacks by hand, and signing WeChat Pay callbacks with the simulator's own platform key (read
//! from its state file) to produce validly signed callbacks the simulator would not send.

use std::time::Duration;

use gateway::domain::{
    ActedBy, Actor, Amount, Anomaly, NewRefund, Order, OrderStatus, OutRefundNo, Refund,
    RefundRequest, Site, SubMchid, Timestamp, WechatSubMerchant,
};
use gateway::service::SiteService;
use gateway::store::{ReserveOutcome, SiteUpdate};
use serde_json::{Value, json};

use crate::support::app::{TestApp, sandbox_keys, unix_now};

/// A new site that the operator serves as WeChat Pay sub-merchant `sub_mchid`.
pub async fn sub_merchant_site(app: &TestApp, name: &str, sub_mchid: &str) -> Site {
    let site = app.another_site(name).await;
    let update = SiteUpdate {
        wechat_sub_merchant: Some(Some(WechatSubMerchant {
            sub_mchid: SubMchid::parse(sub_mchid).unwrap(),
            sub_appid: None,
        })),
        ..SiteUpdate::default()
    };
    SiteService::new(app.db.store.clone())
        .update(&site.id, &update, &ActedBy::from(Actor::Cli))
        .await
        .unwrap()
        .unwrap()
}

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
    envelope("TRANSACTION.SUCCESS", "支付成功", "transaction", resource)
}

/// A notification envelope of `event_type` for `resource` (of `original_type`), encrypted with the
/// sandbox APIv3 key.
pub fn envelope(event_type: &str, summary: &str, original_type: &str, resource: &Value) -> String {
    let key = wechatpay::ApiV3Key::new(&sandbox_keys().wechat_apiv3_key).unwrap();
    let nonce = channel_core::nonce::alphanumeric(12);
    let ciphertext =
        wechatpay::aead::encrypt(&key, &nonce, original_type, resource.to_string().as_bytes())
            .unwrap();
    json!({
        "id": format!("EV-{original_type}-1"), "create_time": "2024-01-30T16:00:00+08:00",
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext, "associated_data": original_type, "nonce": nonce}
    })
    .to_string()
}

/// A WeChat Pay Native order of 29.90, paid (by the simulator's payer and its callback).
pub async fn paid_wechat_order(app: &TestApp, no: &str) -> Order {
    wechat_order(app, no).await;
    app.sim_wechat_pay(&app.site, no).await;
    wait_status(app, no, OrderStatus::Paid).await
}

/// A refund of `fen` of `order`, stored with its amount reserved, as the service does before it
/// calls the channel.
pub async fn reserve_refund(app: &TestApp, order: &Order, out_refund_no: &str, fen: i64) -> Refund {
    let request = RefundRequest {
        out_refund_no: OutRefundNo::parse(out_refund_no).unwrap(),
        amount: Amount::parse(fen).unwrap(),
        reason: None,
        notify_url: None,
    };
    let new = NewRefund::prepare(order, request, Timestamp::now());
    match app.db.store.reserve_refund(&new, later()).await.unwrap() {
        ReserveOutcome::Reserved(refund) => refund,
        other => panic!("{other:?}"),
    }
}

/// A REFUND.* resource as WeChat Pay's notification carries it.
pub fn refund_notice(
    order: &Order,
    out_refund_no: &str,
    refund: i64,
    total: i64,
    status: &str,
) -> Value {
    json!({
        "mchid": sandbox_keys().wechat_mchid, "transaction_id": "4200000000202401300000000001",
        "out_trade_no": order.upstream_order_no.as_str(), "refund_id": "50000000382019052709732678859",
        "out_refund_no": out_refund_no, "refund_status": status, "success_time": "2024-01-30T16:05:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund}
    })
}

/// The REFUND.* envelope its `refund_status` calls for, encrypted with the sandbox APIv3 key.
pub fn refund_envelope(resource: &Value) -> String {
    match resource["refund_status"].as_str() {
        Some("CLOSED") => envelope("REFUND.CLOSED", "退款关闭", "refund", resource),
        Some("ABNORMAL") => envelope("REFUND.ABNORMAL", "退款异常", "refund", resource),
        _ => envelope("REFUND.SUCCESS", "退款成功", "refund", resource),
    }
}

/// Headers signing `body` at `timestamp` with the simulator's platform key for the sandbox
/// merchant, as WeChat Pay signs callbacks.
pub fn sign_wechat(app: &TestApp, body: &str, timestamp: i64) -> Vec<(String, String)> {
    let state = test_support::sim::state(app.sim_dir.path(), "wechat.json");
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

/// How many times the order's payment was booked in the ledger (its fee is booked with it).
pub async fn payments_booked(app: &TestApp, order: &Order) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM ledger_movements WHERE kind = 'payment' AND order_id = {}",
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

/// The simulator's Alipay private key for the sandbox app (read from its state file): what Alipay
/// signs notifications with, to produce validly signed notifications the simulator would not send.
pub fn sim_alipay_key(app: &TestApp) -> channel_core::RsaPrivateKey {
    let state = test_support::sim::state(app.sim_dir.path(), "alipay.json");
    let pem = state["apps"][&sandbox_keys().alipay_app_id]["alipay_private_key_pem"]
        .as_str()
        .unwrap();
    channel_core::RsaPrivateKey::from_pem(pem).unwrap()
}

/// Alipay's notification sign content, written from its documentation: every field but `sign`,
/// `sign_type` and empty ones, sorted by key, `k=v` joined with `&`, values raw.
pub fn alipay_sign_content(fields: &[(String, String)]) -> String {
    let mut signed: Vec<_> = fields
        .iter()
        .filter(|(k, v)| k != "sign" && k != "sign_type" && !v.is_empty())
        .collect();
    signed.sort();
    signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The fields of a form body, in order.
pub fn form_fields(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A form body of `fields`.
pub fn form_body(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// `fields` (without `sign`) signed with the simulator's Alipay key, as a form body.
pub fn signed_alipay_body(app: &TestApp, fields: &[(String, String)]) -> String {
    let mut fields: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k != "sign")
        .cloned()
        .collect();
    let sign = sim_alipay_key(app).sign_base64(alipay_sign_content(&fields).as_bytes());
    fields.push(("sign".to_owned(), sign));
    form_body(&fields)
}

/// Replaces (or adds) one field.
pub fn with_field(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = fields.iter().filter(|(k, _)| k != name).cloned().collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

/// What an attacker makes of a genuine notification: the same signed text, split at every `&`
/// into fields again. A segment whose key does not sort after the previous one cannot be a field
/// of its own (the text is sorted), so it stays in the previous value. `sign` and `sign_type`,
/// which are not signed, are carried over.
pub fn recut(fields: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for segment in alipay_sign_content(fields).split('&') {
        let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
        match out.last_mut() {
            Some((last, value)) if k <= last.as_str() || k.is_empty() => {
                value.push('&');
                value.push_str(segment);
            }
            _ => out.push((k.to_owned(), v.to_owned())),
        }
    }
    for name in ["sign", "sign_type"] {
        if let Some(f) = fields.iter().find(|(k, _)| k == name) {
            out.push(f.clone());
        }
    }
    out
}

/// A field's value.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// paygate's callback routes on their own port, with the sandbox accounts but Alipay's API at
/// `alipay_gateway` (a dead port, or a proxy that counts calls); verification needs no call.
pub struct CallbackServer {
    pub base: String,
    pub service: gateway::service::OrderService,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CallbackServer {
    pub async fn spawn(app: &TestApp, alipay_gateway: &str) -> Self {
        let registered: Value = app
            .http
            .get(format!(
                "{}/sim/alipay/apps/{}",
                app.sim.base_url,
                sandbox_keys().alipay_app_id
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ours = &app.alipay;
        let config = alipay::Config::new(
            ours.app_id.clone(),
            sandbox_keys().alipay_app_private_key_pem.clone(),
            registered["alipay_public_key_pem"].as_str().unwrap(),
        )
        .with_gateway_url(alipay_gateway)
        .with_seller_id(registered["seller_id"].as_str().unwrap())
        .with_notify_url(ours.notify_url.clone());
        let alipay = gateway::channels::AlipayAccount {
            client: alipay::Client::new(config).unwrap(),
            ..ours.clone()
        };
        let channels = gateway::channels::Channels::new(Some(app.wechat.clone()), Some(alipay));
        let service = gateway::service::OrderService::new(
            app.db.store.clone(),
            channels.clone(),
            gateway::service::ServiceSettings::new(app.public_url.clone()),
        );
        let router: axum::Router = gateway::callbacks::routes(gateway::callbacks::State {
            orders: service.clone(),
            channels,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base,
            service,
            task,
        }
    }

    pub async fn post_alipay(&self, app: &TestApp, body: &str) -> Answer {
        let resp = app
            .http
            .post(format!(
                "{}/callbacks/alipay/{}",
                self.base,
                sandbox_keys().alipay_app_id
            ))
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
}

/// A pass-through to the simulator's Alipay gateway that counts `alipay.trade.query` calls.
pub struct CountingGateway {
    pub url: String,
    pub queries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingGateway {
    pub async fn spawn(app: &TestApp) -> Self {
        use std::sync::atomic::Ordering;
        let queries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let target = format!("{}/gateway.do", app.sim.base_url);
        let http = reqwest::Client::new();
        let counter = queries.clone();
        let router = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (http, target, counter) = (http.clone(), target.clone(), counter.clone());
                async move {
                    let form = form_fields(std::str::from_utf8(&body).unwrap());
                    if field(&form, "method") == Some("alipay.trade.query") {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    let url = match uri.query() {
                        Some(q) => format!("{target}?{q}"),
                        None => target,
                    };
                    let mut req = http.post(url).body(body);
                    if let Some(ct) = headers.get("content-type") {
                        req = req.header("content-type", ct.to_str().unwrap());
                    }
                    let resp = req.send().await.unwrap();
                    let status = resp.status().as_u16();
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        resp.text().await.unwrap(),
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { url, queries, task }
    }

    pub fn queries(&self) -> usize {
        self.queries.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// When a refund stored by a test is first checked: after the test is over, so that only the
/// test moves it.
fn later() -> Timestamp {
    Timestamp::now().plus(std::time::Duration::from_secs(3600))
}
