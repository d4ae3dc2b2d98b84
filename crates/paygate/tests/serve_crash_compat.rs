//! Notifications in the other protocols' formats survive SIGKILL like paygate's own: orders made
//! through EPay's `mapi.php` and weidoufu's `/pay/native`, paid in the simulator while paygate is
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

const ORDERS: usize = 40;
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
}

impl Protocol {
    fn flag(self) -> &'static str {
        match self {
            Self::Epay => "--epay",
            Self::Weidoufu => "--weidoufu",
        }
    }

    /// The identifier's and the key's names in `paygate site compat enable --json`.
    fn key_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Epay => ("pid", "key"),
            Self::Weidoufu => ("access_key", "secret_key"),
        }
    }

    fn notify_path(self) -> &'static str {
        match self {
            Self::Epay => "/epay/notify",
            Self::Weidoufu => "/weidoufu/notify",
        }
    }

    fn order_no(self, i: usize) -> String {
        match self {
            Self::Epay => format!("epay_crash_{i:04}"),
            // weidoufu's numbers are 18 or more letters and digits.
            Self::Weidoufu => format!("wdfcrash{i:012}"),
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

/// `paygate site compat enable SITE --PROTOCOL --json`: the identifier and key.
async fn enable(
    protocol: Protocol,
    data_dir: &std::path::Path,
    database_url: &str,
    config: &std::path::Path,
    site: &str,
) -> (String, String) {
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
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, key) = protocol.key_names();
    (
        v[id].as_str().unwrap().to_owned(),
        v[key].as_str().unwrap().to_owned(),
    )
}

/// Order `no` through `protocol`'s API, retried while paygate is down.
async fn create(
    protocol: Protocol,
    base: &str,
    (id, key): &(String, String),
    no: &str,
    notify_url: &str,
) {
    match protocol {
        Protocol::Epay => create_epay(base, id, key, no, notify_url).await,
        Protocol::Weidoufu => create_weidoufu(base, id, key, no, notify_url).await,
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
    const PROTOCOLS: [Protocol; 2] = [Protocol::Epay, Protocol::Weidoufu];
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
            let good = fields.get("sign") == Some(&epay_sign(&fields, &credentials[0].1))
                && fields.get("money").map(String::as_str) == Some("1.23")
                && fields.get("trade_status").map(String::as_str) == Some("TRADE_SUCCESS");
            Some((fields.get("out_trade_no")?.clone(), good))
        } else if r.path == Protocol::Weidoufu.notify_path() {
            assert_eq!(r.method, "POST");
            match weidoufu_notice(&r.body, &credentials[1].1) {
                Some((no, fee)) => Some((no, fee == 123)),
                None => Some((String::from_utf8_lossy(&r.body).into_owned(), false)),
            }
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
