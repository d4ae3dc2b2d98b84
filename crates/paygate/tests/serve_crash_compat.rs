//! Notifications in the other protocols' formats survive SIGKILL like paygate's own: orders made
//! through EPay's `mapi.php`, weidoufu's `/pay/native` and Jeepay's `unifiedOrder`, paid in the simulator while paygate is
//! killed and restarted, with the merchant failing its first answers so that deliveries are pending
//! across the kills. After the run every paid order's notice has been acknowledged, signed as that
//! protocol's clients verify it, and no unpaid order was announced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;
use support::cluster::db::ClusterDb;
use support::cluster::nodes::{Lookup, Node, NodeSpec, create_site};
use support::cluster::upstream::{Accounts, Channel, start_sim};
use support::cluster::{free_port, http};
use support::serve::paygate_command;
use test_support::process::Log;
use test_support::receiver::{Answer, Receiver};

const ORDERS: usize = 45;
/// The merchant answers these first notices with a failure: they are retried across the kills.
const FAILED_ANSWERS: usize = 30;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// EPay's signature as its clients compute it (COMPAT.md §1.1): non-empty fields but sign and
/// sign_type, sorted, `k=v&…`, the key appended, lowercase MD5.
fn epay_sign(fields: &BTreeMap<String, String>, key: &str) -> String {
    let text = fields
        .iter()
        .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{text}{key}").as_bytes()))
}

/// The protocols whose notices are tested here, each with its own client code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Epay,
    Weidoufu,
    Jeepay,
}

impl Protocol {
    fn flag(self) -> &'static str {
        match self {
            Self::Epay => "--epay",
            Self::Weidoufu => "--weidoufu",
            Self::Jeepay => "--jeepay",
        }
    }

    /// The identifier and the key in what `paygate site compat enable --json` printed.
    fn id_and_key(self, keys: &Value) -> (&str, &str) {
        let (id, key) = match self {
            Self::Epay => ("pid", "key"),
            Self::Weidoufu => ("access_key", "secret_key"),
            Self::Jeepay => ("mchNo", "appSecret"),
        };
        (keys[id].as_str().unwrap(), keys[key].as_str().unwrap())
    }

    fn notify_path(self) -> &'static str {
        match self {
            Self::Epay => "/epay/notify",
            Self::Weidoufu => "/weidoufu/notify",
            Self::Jeepay => "/jeepay/notify",
        }
    }

    fn order_no(self, i: usize) -> String {
        match self {
            Self::Epay => format!("epay_crash_{i:04}"),
            // weidoufu's numbers are 18 or more letters and digits.
            Self::Weidoufu => format!("wdfcrash{i:012}"),
            Self::Jeepay => format!("jeepay_crash_{i:04}"),
        }
    }
}

/// weidoufu's request sign (COMPAT.md §2): non-empty fields in ASCII key order, `k=v&…`, then
/// `&secret_key=`, uppercase MD5.
fn weidoufu_sign(fields: &BTreeMap<String, String>, secret: &str) -> String {
    let text = fields
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode_upper(Md5::digest(
        format!("{text}&secret_key={secret}").as_bytes(),
    ))
}

/// weidoufu's notice: `{"sign","content":{…}}`, its sign `UPPER(MD5(lowerhex(HMAC-SHA256(secret,
/// content's JSON text))))`, over the content as it was sent. The order number and amount when
/// it holds.
fn weidoufu_notice(body: &[u8], secret: &str) -> Option<(String, i64)> {
    let text = std::str::from_utf8(body).ok()?;
    let envelope: Value = serde_json::from_str(text).ok()?;
    let start = text.find("\"content\":")? + "\"content\":".len();
    let end = text.rfind('}')?;
    let content = &text[start..end];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(content.as_bytes());
    let hmac_hex = hex::encode(mac.finalize().into_bytes());
    let expected = hex::encode_upper(Md5::digest(hmac_hex.as_bytes()));
    (envelope["sign"] == expected.as_str()).then(|| {
        (
            envelope["content"]["out_order_no"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            envelope["content"]["total_fee"]
                .as_i64()
                .unwrap_or_default(),
        )
    })
}

/// Jeepay's sign (COMPAT.md §3): the non-empty fields but `sign` as `k=v&` strings sorted without
/// regard to case, then `key=SECRET`, uppercase MD5.
fn jeepay_sign(fields: &BTreeMap<String, String>, secret: &str) -> String {
    let mut entries: Vec<String> = fields
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}&"))
        .collect();
    entries.sort_by_key(|e| e.to_lowercase());
    hex::encode_upper(Md5::digest(
        format!("{}key={secret}", entries.concat()).as_bytes(),
    ))
}

/// Jeepay's `/api/pay/unifiedOrder` for order `no`, retried while paygate is down.
async fn create_jeepay(base: &str, keys: &Value, no: &str, notify_url: &str) {
    let req_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let mut fields: BTreeMap<String, String> = [
        ("mchNo", keys["mchNo"].as_str().unwrap()),
        ("appId", keys["appId"].as_str().unwrap()),
        ("mchOrderNo", no),
        ("wayCode", "WX_NATIVE"),
        ("amount", "123"),
        ("currency", "cny"),
        ("subject", "crash"),
        ("body", "crash test"),
        ("notifyUrl", notify_url),
        ("reqTime", req_time.as_str()),
        ("version", "1.0"),
        ("signType", "MD5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let sign = jeepay_sign(&fields, keys["appSecret"].as_str().unwrap());
    fields.insert("sign".into(), sign);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http()
            .post(format!("{base}/api/pay/unifiedOrder"))
            .json(&fields)
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status();
            let answer: Value = r.json().await.unwrap_or_default();
            if status.is_success() && answer["code"] == 0 {
                return;
            }
            assert!(
                status.is_server_error() || answer["code"] == 10,
                "{no}: {status} {answer}"
            );
        }
        assert!(Instant::now() < deadline, "{no} not created in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `paygate site compat enable SITE --PROTOCOL --json`: what it printed.
async fn enable(
    protocol: Protocol,
    data_dir: &std::path::Path,
    database_url: &str,
    config: &std::path::Path,
    site: &str,
) -> Value {
    let mut cmd = tokio::process::Command::from(paygate_command());
    cmd.args(["site", "compat", "enable", site, protocol.flag(), "--json"])
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Order `no` through `protocol`'s API, retried while paygate is down.
async fn create(protocol: Protocol, base: &str, keys: &Value, no: &str, notify_url: &str) {
    let (id, key) = protocol.id_and_key(keys);
    match protocol {
        Protocol::Epay => create_epay(base, id, key, no, notify_url).await,
        Protocol::Weidoufu => create_weidoufu(base, id, key, no, notify_url).await,
        Protocol::Jeepay => create_jeepay(base, keys, no, notify_url).await,
    }
}

/// weidoufu's `/pay/native` for order `no`, retried while paygate is down.
async fn create_weidoufu(base: &str, access_key: &str, secret: &str, no: &str, notify_url: &str) {
    let mut fields: BTreeMap<String, String> = [
        ("access_key", access_key),
        ("body", "crash"),
        ("out_order_no", no),
        ("pay_type", "1"),
        ("total_fee", "123"),
        ("notify_url", notify_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let sign = weidoufu_sign(&fields, secret);
    fields.insert("sign".into(), sign);
    let mut body = json!(fields);
    body["pay_type"] = json!(1);
    body["total_fee"] = json!(123);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http()
            .post(format!("{base}/pay/native"))
            .json(&body)
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status();
            let answer: Value = r.json().await.unwrap_or_default();
            if status.is_success() && answer["code"] == 1 {
                return;
            }
            assert!(status.is_server_error(), "{no}: {status} {answer}");
        }
        assert!(Instant::now() < deadline, "{no} not created in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// EPay's `mapi.php` for order `no`, retried while paygate is down.
async fn create_epay(base: &str, pid: &str, key: &str, no: &str, notify_url: &str) {
    let mut fields: BTreeMap<String, String> = [
        ("pid", pid),
        ("type", "wxpay"),
        ("out_trade_no", no),
        ("notify_url", notify_url),
        ("name", "crash"),
        ("money", "1.23"),
        ("clientip", "203.0.113.9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let sign = epay_sign(&fields, key);
    fields.insert("sign".into(), sign);
    fields.insert("sign_type".into(), "MD5".into());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http()
            .post(format!("{base}/mapi.php"))
            .form(&fields)
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status();
            let body: Value = r.json().await.unwrap_or_default();
            if status.is_success() && body["code"] == 1 {
                return;
            }
            assert!(status.is_server_error(), "{no}: {status} {body}");
        }
        assert!(Instant::now() < deadline, "{no} not created in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notices_of_other_protocols_pending_at_a_sigkill_are_delivered_after_the_restart() {
    const PROTOCOLS: [Protocol; 3] = [Protocol::Epay, Protocol::Weidoufu, Protocol::Jeepay];
    let pg = ClusterDb::create().await;
    let sim = start_sim(0.001);
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::register(&sim, dir.path()).await;
    let receiver = Receiver::start_answering(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        vec![Answer::status(500); FAILED_ANSWERS],
        || Answer::status(200),
    );
    let data_dir = dir.path().join("data");
    let keys = create_site(
        &data_dir,
        pg.url(),
        &accounts.config,
        &receiver.url("/site"),
    )
    .await;
    let mut credentials = Vec::new();
    for protocol in PROTOCOLS {
        credentials.push(
            enable(
                protocol,
                &data_dir,
                pg.url(),
                &accounts.config,
                &keys.site_id,
            )
            .await,
        );
    }
    let lookup = Lookup::connect(&data_dir, pg.url(), &keys.site_id).await;
    let spec = NodeSpec {
        name: "paygate".into(),
        data_dir: data_dir.clone(),
        config: Some(accounts.config.clone()),
        database_url: Some(pg.url().to_owned()),
        port: free_port(),
        public_url: None,
        env: [
            ("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001"),
            ("PAYGATE_NOTIFY_TIMEOUT", "2s"),
            ("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.01"),
            ("PAYGATE_WORKERS_POLL_INTERVAL", "50ms"),
            ("PAYGATE_WORKERS_LEASE", "3s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    };
    let log = Log::keeping(300);
    let mut node = Node::start(&spec, &log).await;
    let base = spec.url();

    let mut paid = BTreeSet::new();
    let mut unpaid = BTreeSet::new();
    for i in 0..ORDERS {
        let which = i % PROTOCOLS.len();
        let protocol = PROTOCOLS[which];
        let no = protocol.order_no(i);
        let notify_url = receiver.url(protocol.notify_path());
        create(protocol, &base, &credentials[which], &no, &notify_url).await;
        // Every fifth order is left unpaid: nothing may be announced of it.
        if i % 5 == 4 {
            unpaid.insert(no);
        } else {
            let upstream = lookup.upstream_no(&no).await.expect("stored");
            accounts.pay(Channel::Wechat, &upstream).await.unwrap();
            paid.insert(no);
        }
        if i == ORDERS / 3 || i == 2 * ORDERS / 3 {
            log.push(format!("=== SIGKILL after order {i} ==="));
            node.kill().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            node = Node::start(&spec, &log).await;
        }
    }

    // Each notice read as its protocol's client reads it: the order it names, if its signature holds.
    let read = |r: &test_support::receiver::Received| -> Option<(String, bool)> {
        if r.path == Protocol::Epay.notify_path() {
            assert_eq!(r.method, "GET");
            let fields: BTreeMap<String, String> = url::form_urlencoded::parse(r.query.as_bytes())
                .into_owned()
                .collect();
            let good = fields.get("sign")
                == Some(&epay_sign(
                    &fields,
                    Protocol::Epay.id_and_key(&credentials[0]).1,
                ))
                && fields.get("money").map(String::as_str) == Some("1.23")
                && fields.get("trade_status").map(String::as_str) == Some("TRADE_SUCCESS");
            Some((fields.get("out_trade_no")?.clone(), good))
        } else if r.path == Protocol::Weidoufu.notify_path() {
            assert_eq!(r.method, "POST");
            match weidoufu_notice(&r.body, Protocol::Weidoufu.id_and_key(&credentials[1]).1) {
                Some((no, fee)) => Some((no, fee == 123)),
                None => Some((String::from_utf8_lossy(&r.body).into_owned(), false)),
            }
        } else if r.path == Protocol::Jeepay.notify_path() {
            assert_eq!(r.method, "POST");
            let fields: BTreeMap<String, String> =
                url::form_urlencoded::parse(&r.body).into_owned().collect();
            let secret = Protocol::Jeepay.id_and_key(&credentials[2]).1;
            let good = fields
                .get("sign")
                .is_some_and(|s| s.eq_ignore_ascii_case(&jeepay_sign(&fields, secret)))
                && fields.get("amount").map(String::as_str) == Some("123")
                && fields.get("state").map(String::as_str) == Some("2");
            Some((fields.get("mchOrderNo")?.clone(), good))
        } else {
            None
        }
    };
    // Settle: every paid order acknowledged by the merchant at least once.
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let notices = loop {
        let seen = receiver.seen();
        let acknowledged: BTreeSet<String> = seen
            .iter()
            .enumerate()
            .filter(|(i, _)| *i >= FAILED_ANSWERS)
            .filter_map(|(_, r)| read(r).map(|(no, _)| no))
            .collect();
        if paid.is_subset(&acknowledged) || Instant::now() >= deadline {
            let missing: Vec<_> = paid.difference(&acknowledged).collect();
            assert!(
                missing.is_empty(),
                "not acknowledged: {missing:?}\n{}",
                log.text()
            );
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for notice in &notices {
        if let Some((no, good)) = read(notice) {
            assert!(good, "a notice its client would refuse: {no}");
            assert!(paid.contains(&no), "an unpaid order was announced: {no}");
        }
    }
    assert!(unpaid.iter().all(|no| !paid.contains(no)));
    drop(node);
    lookup.close().await;
}
