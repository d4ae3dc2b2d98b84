//! The operator's site commands (`paygate site create | list | update | disable | enable | compat`) from a
//! clean data dir, a disabled site refused by a running server, and the modes of the files paygate
//! keeps in its data dir.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, create_native, fails_with, http, ok_json, signed, site_cmd,
};

/// `paygate site ARGS… --data-dir DATA` with `stdin` piped in.
fn site_with_stdin(data: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = support::serve::paygate_command()
        .arg("site")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run paygate");
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_operator_updates_disables_and_enables_sites_from_a_clean_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");

    let intranet = ok_json(&site_cmd(
        &data,
        &[
            "create",
            "--name",
            "intranet",
            "--notify-url",
            "http://10.0.0.5/notify",
            "--allow-private-targets",
            "--json",
        ],
    ));
    let id = intranet["site_id"].as_str().unwrap().to_owned();
    let shop = ok_json(&site_cmd(&data, &["create", "--name", "shop", "--json"]));
    let list = ok_json(&site_cmd(&data, &["list", "--json"]));
    let flags: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["site_id"].clone(), s["allow_private_targets"].clone()))
        .collect();
    assert_eq!(
        flags,
        [
            (json!(id), json!(true)),
            (shop["site_id"].clone(), json!(false))
        ]
    );
    let text = String::from_utf8(site_cmd(&data, &["list"]).stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with(&id)).unwrap();
    // The last columns: the private-target permission, and no WeChat Pay or Alipay merchant.
    assert!(line.ends_with("\tprivate-targets\t-\t-"), "{line}");

    let updated = ok_json(&site_cmd(
        &data,
        &[
            "update",
            &id,
            "--notify-url",
            "https://shop.example/notify",
            "--methods",
            "alipay.qr,alipay.wap",
            "--json",
        ],
    ));
    assert_eq!(updated["notify_url"], "https://shop.example/notify");
    assert_eq!(updated["methods"], json!(["alipay.qr", "alipay.wap"]));
    assert_eq!(updated["allow_private_targets"], true, "kept");

    let updated = ok_json(&site_cmd(
        &data,
        &["update", &id, "--allow-private-targets", "false", "--json"],
    ));
    assert_eq!(updated["allow_private_targets"], false);
    assert_eq!(updated["notify_url"], "https://shop.example/notify", "kept");
    let updated = ok_json(&site_cmd(
        &data,
        &["update", &id, "--clear-notify-url", "--json"],
    ));
    assert_eq!(updated["notify_url"], Value::Null);
    assert_eq!(
        updated["methods"],
        json!(["alipay.qr", "alipay.wap"]),
        "kept"
    );

    let renamed = ok_json(&site_cmd(
        &data,
        &["update", &id, "--name", "内网商店", "--json"],
    ));
    assert_eq!(renamed["name"], "内网商店");
    assert_eq!(renamed["notify_url"], Value::Null, "kept");

    // Served as a WeChat Pay sub-merchant, then paid to the operator's merchant again.
    let served = ok_json(&site_cmd(
        &data,
        &[
            "update",
            &id,
            "--wechat-sub-mchid",
            "1900000109",
            "--wechat-sub-appid",
            "wxd678efh567hg6999",
            "--json",
        ],
    ));
    assert_eq!(served["wechat_sub_mchid"], "1900000109");
    assert_eq!(served["wechat_sub_appid"], "wxd678efh567hg6999");
    let listed = String::from_utf8_lossy(&site_cmd(&data, &["list"]).stdout).into_owned();
    assert!(
        listed.contains("wechat-sub:1900000109/wxd678efh567hg6999"),
        "{listed}"
    );
    let cleared = ok_json(&site_cmd(
        &data,
        &["update", &id, "--clear-wechat-sub-merchant", "--json"],
    ));
    assert_eq!(cleared["wechat_sub_mchid"], Value::Null);
    assert_eq!(cleared["name"], "内网商店", "kept");

    // Served as an Alipay merchant: the token comes on standard input, and is never printed.
    let token = "202612BBf2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7";
    let alipay = site_with_stdin(
        &data,
        &[
            "update",
            &id,
            "--alipay-seller-id",
            "2088102146225135",
            "--json",
        ],
        &format!("{token}\n"),
    );
    let shown = ok_json(&alipay);
    assert_eq!(shown["alipay_seller_id"], "2088102146225135");
    assert!(!String::from_utf8_lossy(&alipay.stdout).contains(token));
    let listed = String::from_utf8_lossy(&site_cmd(&data, &["list"]).stdout).into_owned();
    assert!(listed.contains("\talipay:2088102146225135"), "{listed}");
    assert!(!listed.contains(token), "{listed}");
    let bad_token = site_with_stdin(
        &data,
        &["update", &id, "--alipay-seller-id", "2088102146225135"],
        "not a token!\n",
    );
    fails_with(&bad_token, "app_auth_token");
    assert!(!String::from_utf8_lossy(&bad_token.stderr).contains("not a token!"));
    fails_with(
        &site_with_stdin(
            &data,
            &["update", &id, "--alipay-seller-id", "1088102146225135"],
            token,
        ),
        "--alipay-seller-id",
    );
    let cleared = ok_json(&site_cmd(
        &data,
        &["update", &id, "--clear-alipay-merchant", "--json"],
    ));
    assert_eq!(cleared["alipay_seller_id"], Value::Null);

    let disabled = ok_json(&site_cmd(&data, &["disable", &id, "--json"]));
    assert_eq!(disabled["status"], "disabled");
    let enabled = ok_json(&site_cmd(&data, &["enable", &id, "--json"]));
    assert_eq!(enabled["status"], "active");
    assert!(
        !String::from_utf8_lossy(&site_cmd(&data, &["disable", &id]).stdout).contains("sk_"),
        "no SK outside create and rotate-key"
    );

    // Each change is in the audit log, as the command line's (no user, no address), naming its
    // site; never with a key in it.
    let db = test_support::db::Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ));
    let count = |action: &str| {
        let db = &db;
        let sql = format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND object_kind = 'site' \
             AND actor_user_id IS NULL AND ip IS NULL"
        );
        async move { db.count(&sql).await }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert_eq!(count("site.create").await, 2);
        assert_eq!(count("site.update").await, 8);
        assert_eq!(count("site.disable").await, 2);
        assert_eq!(count("site.enable").await, 1);
        let keys = db
            .count("SELECT COUNT(*) FROM audit_log WHERE instr(detail, 'sk_') > 0 OR instr(detail, 'ak_') > 0 \
                    OR instr(detail, '202612BB') > 0")
            .await;
        assert_eq!(keys, 0);
    });

    fails_with(&site_cmd(&data, &["update", &id]), "nothing to update");
    fails_with(
        &site_cmd(&data, &["update", &id, "--methods", "wechat.telepathy"]),
        "unknown method",
    );
    fails_with(
        &site_cmd(
            &data,
            &[
                "update",
                &id,
                "--notify-url",
                "https://a.example/n",
                "--clear-notify-url",
            ],
        ),
        "cannot be used with",
    );
    fails_with(
        &site_cmd(&data, &["update", &id, "--allow-private-targets", "maybe"]),
        "invalid value",
    );
    fails_with(
        &site_cmd(&data, &["update", &id, "--wechat-sub-mchid", "19000001O9"]),
        "--wechat-sub-mchid",
    );
    fails_with(
        &site_cmd(
            &data,
            &["update", &id, "--wechat-sub-appid", "wxd678efh567hg6999"],
        ),
        "--wechat-sub-mchid",
    );
    fails_with(
        &site_cmd(
            &data,
            &[
                "update",
                &id,
                "--wechat-sub-mchid",
                "1900000109",
                "--clear-wechat-sub-merchant",
            ],
        ),
        "cannot be used with",
    );
    for command in ["disable", "enable"] {
        fails_with(
            &site_cmd(&data, &[command, "site_doesnotexist"]),
            "site site_doesnotexist: no such site",
        );
    }
    fails_with(
        &site_cmd(
            &data,
            &[
                "update",
                "site_doesnotexist",
                "--allow-private-targets",
                "true",
            ],
        ),
        "site site_doesnotexist: no such site",
    );
}

/// `POST /pay/wechat/native` signed by `keys`: the status and JSON answer.
async fn try_native(pg: &Paygate, keys: &SiteKeys, no: &str) -> (u16, Value) {
    let body = json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990});
    let r = signed(
        &http(),
        &pg.url,
        keys,
        reqwest::Method::POST,
        "/pay/wechat/native",
        &body.to_string(),
    )
    .send()
    .await
    .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_disabled_site_is_refused_by_the_running_server_until_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = support::serve::create_site(dir.path(), "shop");
    create_native(&pg, &keys, "order_enabled_001").await;

    ok_json(&site_cmd(dir.path(), &["disable", &keys.site_id, "--json"]));
    let (status, answer) = try_native(&pg, &keys, "order_disabled_01").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("site_disabled")),
        "{answer}"
    );

    ok_json(&site_cmd(dir.path(), &["enable", &keys.site_id, "--json"]));
    create_native(&pg, &keys, "order_enabled_002").await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_its_secrets_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // Made by hand, open to everyone: paygate tightens it.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    let pg = Paygate::start(ServeOptions::new(&data));
    let keys = support::serve::create_site(&data, "shop");
    // The simulator writes its state when an order reaches it.
    create_native(&pg, &keys, "order_modes_001").await;

    assert_eq!(mode(&data), 0o700, "data dir");
    for name in ["master.key", "paygate.db", "sandbox-keys.sealed"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    let mut sidecars = 0;
    for name in ["paygate.db-wal", "paygate.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            sidecars += 1;
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    assert!(sidecars > 0, "serve runs SQLite in WAL mode");
    let sim = data.join("sim");
    assert_eq!(mode(&sim), 0o700, "sim state dir");
    let mut states = 0;
    for entry in std::fs::read_dir(&sim).unwrap() {
        let path = entry.unwrap().path();
        states += 1;
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(states >= 1, "the simulator wrote its state");
    pg.stop();
}

#[test]
fn another_protocol_is_turned_on_rotated_listed_and_turned_off_from_a_clean_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let created = ok_json(&site_cmd(&data, &["create", "--name", "shop", "--json"]));
    let id = created["site_id"].as_str().unwrap();
    let compat = |args: &[&str]| {
        let mut all = vec!["compat"];
        all.extend_from_slice(args);
        site_cmd(&data, &all)
    };
    assert_eq!(ok_json(&compat(&["show", id, "--json"])), json!([]));

    let on = ok_json(&compat(&["enable", id, "--epay", "--json"]));
    let pid = on["pid"].as_str().unwrap().to_owned();
    let key = on["key"].as_str().unwrap().to_owned();
    assert!(pid.len() == 8 && pid.parse::<u64>().is_ok(), "{on}");
    assert_eq!(key.len(), 32, "{on}");
    fails_with(&compat(&["enable", id, "--epay"]), "is on already");

    let rotated = ok_json(&compat(&["rotate", id, "--epay", "--json"]));
    assert_eq!(rotated["pid"], pid.as_str(), "the pid stays");
    assert_ne!(rotated["key"].as_str().unwrap(), key);

    let jeepay = ok_json(&compat(&["enable", id, "--jeepay", "--json"]));
    assert!(
        jeepay["mchNo"].as_str().unwrap().starts_with('M'),
        "{jeepay}"
    );
    assert_eq!(jeepay["appSecret"].as_str().unwrap().len(), 128);
    // The list names identifiers, never a key.
    let shown = compat(&["show", id, "--json"]);
    let listed = ok_json(&shown);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        !text.contains(rotated["key"].as_str().unwrap()) && !text.contains("appSecret"),
        "{text}"
    );

    let off = compat(&["disable", id, "--epay"]);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    fails_with(&compat(&["disable", id, "--epay"]), "is not on");
    fails_with(&compat(&["rotate", id, "--epay"]), "is not on");
    assert_eq!(
        ok_json(&compat(&["show", id, "--json"]))[0]["protocol"],
        "jeepay"
    );

    // Exactly one protocol, of a site that exists.
    assert!(!compat(&["enable", id]).status.success());
    assert!(
        !compat(&["enable", id, "--epay", "--jeepay"])
            .status
            .success()
    );
    fails_with(
        &compat(&["enable", "site_doesnotexist00", "--weidoufu"]),
        "no such site",
    );
}
