//! Notifications in another protocol's format survive SIGKILL like paygate's own: EPay orders made
//! through `mapi.php` and paid in the simulator while paygate is killed and restarted, with the
//! merchant failing its first answers so that deliveries are pending across the kills. After the
//! run every paid order's EPay notice has been acknowledged, signed as EPay clients verify it, and
//! no unpaid order was announced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use serde_json::Value;
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

/// `paygate site compat enable SITE --epay --json`: the pid and key.
async fn enable_epay(
    data_dir: &std::path::Path,
    database_url: &str,
    config: &std::path::Path,
    site: &str,
) -> (String, String) {
    let mut cmd = tokio::process::Command::from(paygate_command());
    cmd.args(["site", "compat", "enable", site, "--epay", "--json"])
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
    (
        v["pid"].as_str().unwrap().to_owned(),
        v["key"].as_str().unwrap().to_owned(),
    )
}

/// `mapi.php` for order `no`, retried while paygate is down.
async fn create(base: &str, pid: &str, key: &str, no: &str, notify_url: &str) {
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
async fn epay_notices_pending_at_a_sigkill_are_delivered_after_the_restart() {
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
    let (pid, key) = enable_epay(&data_dir, pg.url(), &accounts.config, &keys.site_id).await;
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
    let notify_url = receiver.url("/epay/notify");

    let mut unpaid = BTreeSet::new();
    for i in 0..ORDERS {
        let no = format!("epay_crash_{i:04}");
        create(&base, &pid, &key, &no, &notify_url).await;
        // Every fifth order is left unpaid: nothing may be announced of it.
        if i % 5 == 4 {
            unpaid.insert(no);
        } else {
            let upstream = lookup.upstream_no(&no).await.expect("stored");
            accounts.pay(Channel::Wechat, &upstream).await.unwrap();
        }
        if i == ORDERS / 3 || i == 2 * ORDERS / 3 {
            log.push(format!("=== SIGKILL after order {i} ==="));
            node.kill().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            node = Node::start(&spec, &log).await;
        }
    }

    // Settle: every paid order acknowledged by the merchant at least once.
    let paid: BTreeSet<String> = (0..ORDERS)
        .map(|i| format!("epay_crash_{i:04}"))
        .filter(|no| !unpaid.contains(no))
        .collect();
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let notices = loop {
        let seen = receiver.seen();
        let acknowledged: BTreeSet<String> = seen
            .iter()
            .enumerate()
            .filter(|(i, r)| *i >= FAILED_ANSWERS && r.path == "/epay/notify")
            .filter_map(|(_, r)| {
                url::form_urlencoded::parse(r.query.as_bytes())
                    .find(|(k, _)| k == "out_trade_no")
                    .map(|(_, v)| v.into_owned())
            })
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
    for notice in notices.iter().filter(|r| r.path == "/epay/notify") {
        assert_eq!(notice.method, "GET");
        let fields: BTreeMap<String, String> = url::form_urlencoded::parse(notice.query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            fields.get("sign"),
            Some(&epay_sign(&fields, &key)),
            "{fields:?}"
        );
        assert_eq!(fields.get("money").map(String::as_str), Some("1.23"));
        assert_eq!(
            fields.get("trade_status").map(String::as_str),
            Some("TRADE_SUCCESS")
        );
        let no = &fields["out_trade_no"];
        assert!(paid.contains(no), "an unpaid order was announced: {no}");
    }
    drop(node);
    lookup.close().await;
}
