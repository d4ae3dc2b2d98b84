//! The console in headless Chromium (`browser/console.mjs`, Node.js + `playwright-core`; needs
//! `/usr/bin/chromium`, which `.ci/run` installs), against a sandbox `paygate serve`: an admin
//! created with `paygate user create` signs in, sees the dashboard and its chart, finds an order
//! that was created and paid through the API, refunds part of it from its page (the site receives
//! the refund notification), sends a failed notification again, changes a site's notify URL,
//! acknowledges an anomaly with a note, signs out, and finds each of these in the audit log; then an
//! outsider's attempts — a forged or missing CSRF token, a form posted from another site, a planted
//! session cookie — and a site user's — another site's order, action, notification or site by its
//! URL, in a list or a count, a form pointed at another site's order, a session cookie copied
//! before sign-out — each fail, and ten wrong passwords lock the account; and a day reconciled by
//! `paygate reconcile` read in the console (the list of days, the day's report with its discrepancy
//! linking to its order, reconcile again, audited), and a site user's statement downloaded from their
//! portal, the API's bytes. Screenshots are kept in `target/test-output/console/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::browser::{console, output_dir};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, checkout_token, create_site, create_site_notifying, http,
    paygate_command, paygate_run, signed, signed_ok,
};
use test_support::db::Database;
use test_support::receiver::Receiver;

const PASSWORD: &str = "correct horse battery staple";

/// `paygate user create --email EMAIL --role ROLE [--site SITE] --password-stdin`.
fn create_user(data: &Path, email: &str, role: &str, site: Option<&str>) {
    let mut args = vec!["user", "create", "--email", email, "--role", role];
    if let Some(site) = site {
        args.extend(["--site", site]);
    }
    let mut child = paygate_command()
        .args(&args)
        .arg("--password-stdin")
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run paygate user create");
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A WeChat Native order of `amount` fen created through the API and paid in the sandbox's
/// simulator; returns once paygate has recorded the payment.
async fn paid_order(pg: &Paygate, keys: &SiteKeys, no: &str, amount: i64) {
    let body = json!({"out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "VIP年卡", "amount_total": amount});
    let order = signed_ok(pg, keys, Method::POST, "/v1/orders", &body.to_string()).await;
    let token = checkout_token(&order);
    let paid = http()
        .post(format!("{}/sandbox/pay?token={token}", pg.url))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success(), "{:?}", paid.text().await);
    for _ in 0..200 {
        let now = signed_ok(pg, keys, Method::GET, &format!("/v1/orders/{no}"), "").await;
        if now["status"] == "paid" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid\n{}", pg.log());
}

/// The console's id of an order (its row id), read from the sandbox's SQLite file.
async fn console_id(data: &Path, no: &str) -> i64 {
    let db = Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ));
    db.count(&format!(
        "SELECT id FROM orders WHERE out_trade_no = '{no}'"
    ))
    .await
}

fn png(name: &str) -> String {
    output_dir("console")
        .join(format!("{name}.png"))
        .to_string_lossy()
        .into_owned()
}

/// The findings of step `i`.
fn step(found: &Value, i: usize) -> &Value {
    &found["steps"][i]
}

/// Nothing broke in the browser: no script error, no CSP violation, nothing loaded from elsewhere.
#[track_caller]
fn clean(found: &Value) {
    assert_eq!(found["pageErrors"], json!([]), "{found}");
    assert_eq!(found["cspViolations"], json!([]), "{found}");
    assert_eq!(found["foreignRequests"], json!([]), "{found}");
}

/// A plan for `browser/console.mjs` built step by step, each step's index kept to find what it
/// found.
struct Plan {
    base: String,
    cookies: Vec<Value>,
    steps: Vec<Value>,
}

impl Plan {
    fn new(pg: &Paygate) -> Self {
        Self {
            base: pg.url.clone(),
            cookies: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Adds `step`; its index in the findings.
    fn step(&mut self, step: Value) -> usize {
        self.steps.push(step);
        self.steps.len() - 1
    }

    /// Fills in the sign-in form on the current page and sends it; the index of the click.
    fn sign_in(&mut self, email: &str, password: &str) -> usize {
        self.step(json!({"fill": "email", "value": email}));
        self.step(json!({"fill": "password", "value": password}));
        self.step(json!({"click": "sign-in"}))
    }

    fn run(&self) -> Value {
        console(&json!({"base": self.base, "cookies": self.cookies, "steps": self.steps}))
    }
}

/// Waits until no notification is pending: each delivered, or failed, and recorded so.
async fn settled(db: &Database) {
    for _ in 0..200 {
        let pending = db
            .count("SELECT COUNT(*) FROM notification_events WHERE status = 'pending'")
            .await;
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("notifications still pending");
}

/// The console's SQLite database in the data dir.
fn sqlite(data: &Path) -> Database {
    Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_refunds_resends_edits_a_site_signs_out_and_finds_each_action_in_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let site = Receiver::start(Vec::new());
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "Example Shop", &site.url("/notify"));
    create_user(dir.path(), "admin@example.com", "admin", None);
    paid_order(&pg, &keys, "console_order_0001", 2990).await;
    site.wait_for(1, Duration::from_secs(10)).await;
    let db = sqlite(dir.path());
    let id = console_id(dir.path(), "console_order_0001").await;
    let order_page = format!("/console/orders/{id}");
    // Its notification's every retry failed (as after a day of the site being down): once paygate
    // has recorded the delivery, which it does after the site answered.
    settled(&db).await;
    db.execute("UPDATE notification_events SET status = 'failed'")
        .await
        .unwrap();
    // And the channel once reported another amount for it.
    let now = gateway::domain::Timestamp::now().as_millis();
    db.execute(&format!(
        "INSERT INTO anomalies (kind, channel, order_id, detail, at, occurrences, last_at, \
         dedupe_key) VALUES ('amount_mismatch', 'wechat', {id}, 'the channel said 29.80', {now}, 1, {now}, \
         'amount_mismatch:console_order_0001')"
    ))
    .await
    .unwrap();

    let mut plan = Plan::new(&pg);
    let login_page = plan.step(json!({"goto": "/console"}));
    let signed_in = plan.sign_in("admin@example.com", PASSWORD);
    let dashboard = plan.step(
        json!({"look": ["user", "paid-count", "paid-amount", "chart", "nav-audit", "nav-users", "sandbox", "failed-notifications"]}),
    );
    let bars = plan.step(json!({"count": "[data-testid=chart] rect"}));
    let cookies = plan.step(json!({"cookies": true}));
    plan.step(json!({"screenshot": png("dashboard")}));
    // The order, found by its number, refunded in part.
    plan.step(json!({"click": "nav-orders"}));
    plan.step(json!({"fill": "f-out-trade-no", "value": "console_order_0001"}));
    plan.step(json!({"click": "search"}));
    let found = plan.step(json!({"look": ["order-row", "order-link"]}));
    plan.step(json!({"click": "order-link"}));
    plan.step(json!({"fill": "refund-amount", "value": "10.00"}));
    plan.step(json!({"click": "refund"}));
    let refund_question = plan.step(json!({"look": ["question", "confirm-button"]}));
    let refund_done = plan.step(json!({"click": "confirm-button"}));
    let refunded =
        plan.step(json!({"look": ["notice", "refund-row", "refund-amount-cell", "order-status"]}));
    plan.step(json!({"screenshot": png("order-refunded")}));
    // The failed notification, sent again from the list of failed ones.
    plan.step(json!({"click": "nav-notifications"}));
    let failed = plan.step(json!({"look": ["event-row", "total", "resend"]}));
    plan.step(json!({"screenshot": png("notifications-failed")}));
    plan.step(json!({"click": "resend"}));
    let resend_question = plan.step(json!({"look": ["question"]}));
    let resent = plan.step(json!({"click": "confirm-button"}));
    // The site's notify URL, changed on its page.
    plan.step(json!({"click": "nav-sites"}));
    let sites = plan.step(json!({"look": ["site-row", "new-site"]}));
    plan.step(json!({"screenshot": png("sites")}));
    plan.step(json!({"goto": format!("/console/sites/{}", keys.site_id)}));
    plan.step(json!({"fill": "notify-url", "value": site.url("/notify-moved")}));
    // And served as a WeChat Pay sub-merchant of the sandbox's service provider.
    plan.step(json!({"fill": "sub-mchid", "value": "1900000109"}));
    plan.step(json!({"click": "save-site"}));
    let edited = plan.step(json!({"look": ["notice", "site-notify-url", "site-sub-merchant"]}));
    plan.step(json!({"screenshot": png("site-edited")}));
    // EPay turned on from the site's page: its pid and key shown once, on the answer itself.
    plan.step(json!({"click": "enable-epay"}));
    let epay_keys = plan.step(json!({"look": ["keys-once", "key-pid", "key-key"]}));
    plan.step(json!({"screenshot": png("protocol-keys")}));
    plan.step(json!({"goto": format!("/console/sites/{}", keys.site_id)}));
    let protocols =
        plan.step(json!({"look": ["protocols", "protocol-ids", "rotate-epay", "enable-jeepay"]}));
    plan.step(json!({"screenshot": png("site-protocols")}));
    // A new site: its keys shown once, on the page the form leads to; a reload shows them no more.
    plan.step(json!({"goto": "/console/sites/new"}));
    plan.step(json!({"fill": "site-name", "value": "新商城"}));
    let created = plan.step(json!({"click": "create-site"}));
    let keys_once = plan.step(json!({"look": ["keys-once", "sk", "site-id"]}));
    plan.step(json!({"screenshot": png("site-keys")}));
    let reloaded = plan.step(json!({"reload": true}));
    let keys_gone = plan.step(json!({"look": ["keys-shown", "sk", "keys-once", "site-id"]}));
    plan.step(json!({"screenshot": png("site-keys-shown")}));
    plan.step(json!({"goto": "/console/users"}));
    let users = plan.step(json!({"look": ["user-row", "user-form"]}));
    plan.step(json!({"screenshot": png("users")}));
    // The anomaly, seen to with a note.
    plan.step(json!({"goto": "/console/anomalies"}));
    let open = plan.step(json!({"look": ["anomaly-row", "ack-form"]}));
    plan.step(json!({"screenshot": png("anomalies")}));
    plan.step(json!({"fill": "ack-note", "value": "渠道对账确认为 29.90，已核对"}));
    plan.step(json!({"click": "acknowledge"}));
    let acknowledged = plan.step(json!({"look": ["notice", "anomaly-row", "no-anomalies"]}));
    plan.step(json!({"click": "show-all"}));
    let all = plan.step(json!({"look": ["anomaly-row", "ack"]}));
    plan.step(json!({"screenshot": png("anomalies-all")}));
    // On a phone the pages fit the screen.
    plan.step(json!({"viewport": {"width": 390, "height": 844}}));
    plan.step(json!({"goto": "/console"}));
    let phone_dashboard = plan.step(json!({"look": ["paid-count"]}));
    plan.step(json!({"screenshot": png("dashboard-phone")}));
    plan.step(json!({"goto": order_page}));
    let phone_order = plan.step(json!({"look": ["out-trade-no"]}));
    plan.step(json!({"screenshot": png("order-phone")}));
    plan.step(json!({"goto": format!("/console/sites/{}", keys.site_id)}));
    let phone_site = plan.step(json!({"look": ["site-notify-url"]}));
    plan.step(json!({"screenshot": png("site-phone")}));
    // Signed out, the console is closed; signed in again, the audit log has the whole run.
    let signed_out = plan.step(json!({"click": "logout"}));
    let closed = plan.step(json!({"goto": "/console"}));
    plan.step(json!({"viewport": {"width": 1280, "height": 800}}));
    plan.sign_in("admin@example.com", PASSWORD);
    plan.step(json!({"click": "nav-audit"}));
    let audit = plan.step(json!({"texts": "audit-action"}));
    plan.step(json!({"screenshot": png("audit")}));
    let found_all = plan.run();
    clean(&found_all);
    let url = |i: usize| step(&found_all, i)["url"].as_str().unwrap().to_owned();
    let testids = |i: usize| step(&found_all, i)["testids"].clone();

    // Not signed in: the login page; signed in: the dashboard, with today's payment, its chart,
    // the failed notification counted, and the admin's pages in the navigation.
    assert!(url(login_page).ends_with("/console/login"), "{found_all}");
    assert!(url(signed_in).ends_with("/console"), "{found_all}");
    let d = testids(dashboard);
    assert!(
        d["user"]["text"]
            .as_str()
            .unwrap()
            .contains("admin@example.com"),
        "{d}"
    );
    assert_eq!(d["paid-count"]["text"], "1", "{d}");
    assert_eq!(d["paid-amount"]["text"], "¥29.90", "{d}");
    assert_eq!(d["chart"]["count"], 1);
    assert_eq!(d["nav-audit"]["count"], 1, "an admin sees the audit log");
    assert_eq!(d["nav-users"]["count"], 1, "and the users");
    assert_eq!(d["sandbox"]["count"], 1, "the sandbox is marked");
    assert!(
        d["failed-notifications"]["text"]
            .as_str()
            .unwrap()
            .starts_with('1'),
        "{d}"
    );
    assert_eq!(step(&found_all, bars)["count"], 30, "a bar per day");
    // The new site's keys: after a redirect, shown once, gone on a reload (no second site).
    assert!(url(created).ends_with("/keys"), "{found_all}");
    let k = testids(keys_once);
    assert_eq!(k["keys-once"]["count"], 1, "{k}");
    let new_sk = k["sk"]["text"].as_str().unwrap().to_owned();
    assert!(new_sk.starts_with("sk_test_"), "{k}");
    assert_eq!(step(&found_all, reloaded)["status"], 200);
    assert_eq!(url(reloaded), url(created));
    let g = testids(keys_gone);
    assert_eq!(g["sk"]["count"], 0, "{g}");
    assert_eq!(g["keys-once"]["count"], 0, "{g}");
    assert!(
        g["keys-shown"]["text"]
            .as_str()
            .unwrap()
            .contains("已经显示过一次"),
        "{g}"
    );
    assert_eq!(g["site-id"]["text"], k["site-id"]["text"]);
    assert!(!url(created).contains(&new_sk), "never in a URL");
    let jar = step(&found_all, cookies)["cookies"]
        .as_array()
        .unwrap()
        .clone();
    let session = jar.iter().find(|c| c["name"] == "pg_session").unwrap();
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Strict");
    assert_eq!(session["path"], "/console");
    // The search found the order, and its page refunded 10.00 of it after the confirmation.
    assert_eq!(testids(found)["order-row"]["count"], 1, "{found_all}");
    let question = testids(refund_question)["question"]["text"].clone();
    assert!(question.as_str().unwrap().contains("10.00"), "{question}");
    assert!(url(refund_done).contains("done=refund"), "{found_all}");
    let r = testids(refunded);
    assert_eq!(r["refund-row"]["count"], 1, "{r}");
    assert_eq!(r["refund-amount-cell"]["text"], "10.00");
    assert_eq!(
        r["order-status"]["text"], "已支付",
        "partly refunded, still paid"
    );
    // The failed notification was listed and sent again after its confirmation.
    let f = testids(failed);
    assert_eq!(f["event-row"]["count"], 1, "{f}");
    assert_eq!(f["total"]["text"], "(1)", "{f}");
    assert!(
        testids(resend_question)["question"]["text"]
            .as_str()
            .unwrap()
            .contains("evt_")
    );
    assert!(url(resent).contains("done=resend"), "{found_all}");
    // The site's notify URL was changed on its page.
    // Example Shop, and the sandbox's demo site.
    assert_eq!(testids(sites)["site-row"]["count"], 2);
    assert_eq!(testids(sites)["new-site"]["count"], 1);
    let e = testids(edited);
    assert_eq!(e["notice"]["count"], 1, "{e}");
    assert_eq!(
        e["site-notify-url"]["text"],
        site.url("/notify-moved"),
        "{e}"
    );
    assert_eq!(e["site-sub-merchant"]["text"], "1900000109", "{e}");
    let k = testids(epay_keys);
    assert_eq!(k["keys-once"]["count"], 1, "{k}");
    let pid = k["key-pid"]["text"].as_str().unwrap().to_owned();
    assert!(pid.parse::<u64>().is_ok(), "{k}");
    assert_eq!(k["key-key"]["text"].as_str().unwrap().len(), 32, "{k}");
    let p = testids(protocols);
    assert_eq!(p["protocol-ids"]["text"], format!("pid {pid}"), "{p}");
    assert_eq!(
        (
            p["rotate-epay"]["count"].as_i64(),
            p["enable-jeepay"]["count"].as_i64()
        ),
        (Some(1), Some(1)),
        "{p}"
    );
    assert_eq!(testids(open)["anomaly-row"]["count"], 1);
    assert_eq!(testids(open)["ack-form"]["count"], 1);
    let a = testids(acknowledged);
    assert_eq!(
        (
            a["notice"]["count"].clone(),
            a["no-anomalies"]["count"].clone()
        ),
        (json!(1), json!(1)),
        "{a}"
    );
    assert!(
        testids(all)["ack"]["text"]
            .as_str()
            .unwrap()
            .contains("已核对")
    );
    assert_eq!(testids(users)["user-row"]["count"], 1);
    assert_eq!(testids(users)["user-form"]["count"], 1);
    for i in [phone_dashboard, phone_order, phone_site] {
        assert_eq!(
            step(&found_all, i)["fitsWidth"],
            true,
            "step {i}: {found_all}"
        );
    }
    assert!(url(signed_out).ends_with("/console/login"));
    assert!(url(closed).ends_with("/console/login"));
    // Each action of the run is in the audit log, newest first, as the page shows it.
    let actions: Vec<String> = step(&found_all, audit)["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let mut run: Vec<&str> = actions.iter().map(String::as_str).collect();
    run.reverse();
    // The set-up first: the sandbox's demo site at paygate's first start, then the command line's
    // (`paygate site create`, `paygate user create`). A refund goes to the channel: recorded as
    // asked before the call, and again with its outcome.
    assert_eq!(
        run,
        [
            "site.create",
            "site.create",
            "user.create",
            "login",
            "order.refund",
            "order.refund",
            "notification.resend",
            "site.update",
            "compat.enable",
            "site.create",
            "anomaly.acknowledge",
            "logout",
            "login"
        ],
        "{actions:?}"
    );
    for action in [
        "login",
        "order.refund",
        "notification.resend",
        "site.update",
        "site.create",
        "anomaly.acknowledge",
        "logout",
    ] {
        let n = db
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' \
                 AND actor_email = 'admin@example.com' AND ip = '127.0.0.1'"
            ))
            .await;
        assert!(n >= 1, "{action}");
    }
    let on_order = db
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'order.refund' AND object_id = '{id}'"
        ))
        .await;
    assert_eq!(on_order, 2, "asked, then its outcome");

    // The site heard of the refund, and of the payment again; later news goes to its new URL.
    let notes = site.wait_for(3, Duration::from_secs(15)).await;
    let kinds: Vec<String> = notes[1..]
        .iter()
        .map(|n| n.json()["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"REFUND.SUCCESS".to_owned()), "{kinds:?}");
    assert!(
        kinds.contains(&"TRANSACTION.SUCCESS".to_owned()),
        "{kinds:?}"
    );
    let resent = notes[1..]
        .iter()
        .find(|n| n.json()["event_type"] == "TRANSACTION.SUCCESS")
        .unwrap();
    assert_eq!(
        resent.json()["event_id"],
        notes[0].json()["event_id"],
        "the same event, again"
    );
    let order = signed_ok(&pg, &keys, Method::GET, "/v1/orders/console_order_0001", "").await;
    assert_eq!(order["refunds"][0]["amount"], 1000, "{order}");
    paid_order(&pg, &keys, "console_order_0002", 100).await;
    let later = site.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(later[3].path, "/notify-moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_can_neither_forge_a_form_nor_fix_a_session_nor_open_another_sites_order() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let ours = create_site(dir.path(), "Example Shop");
    let theirs = create_site(dir.path(), "Other Shop");
    create_user(dir.path(), "admin@example.com", "admin", None);
    create_user(dir.path(), "shop@example.com", "site", Some(&ours.site_id));
    paid_order(&pg, &ours, "console_ours_0001", 2990).await;
    paid_order(&pg, &theirs, "console_theirs_01", 7770).await;
    let our_id = console_id(dir.path(), "console_ours_0001").await;
    let their_id = console_id(dir.path(), "console_theirs_01").await;
    let order_page = format!("/console/orders/{our_id}");
    let refund_action = format!("/console/orders/{our_id}/refund");
    // A session token the attacker planted in the admin's browser before the login.
    let planted = format!("pgs_{}", "A".repeat(43));
    let admin = json!({
        "base": pg.url,
        "cookies": [{"name": "pg_session", "value": planted}],
        "steps": [
            {"goto": "/console/login"},
            {"fill": "email", "value": "admin@example.com"},
            {"fill": "password", "value": PASSWORD},
            {"click": "sign-in"},
            {"cookies": true},
            // The refund form without its token...
            {"goto": order_page},
            {"removeField": "[data-testid=refund-form] input[name=csrf]"},
            {"fill": "refund-amount", "value": "1.00"},
            {"click": "refund"},
            // ... and with a forged one.
            {"goto": order_page},
            {"setField": "[data-testid=refund-form] input[name=csrf]", "value": "forged0000000000000000000000000"},
            {"fill": "refund-amount", "value": "1.00"},
            {"click": "refund"},
            // A page elsewhere posting the confirmed refund, even with the real token leaked.
            {"goto": order_page},
            {"crossSite": {"action": refund_action, "withCsrf": true,
                "fields": {"amount": "1.00", "confirm": "yes"}}},
            {"screenshot": png("cross-site-refused")},
            // The admin is still signed in, and nothing was refunded.
            {"goto": order_page},
            {"count": "[data-testid=refund-row]"},
        ]
    });
    let found = console(&admin);
    clean(&found);
    // The planted cookie (on `/`) is still in the jar; the console's own, on `/console`, is new.
    let cookies = step(&found, 4)["cookies"].as_array().unwrap();
    let session = cookies
        .iter()
        .find(|c| c["name"] == "pg_session" && c["path"] == "/console")
        .unwrap_or_else(|| panic!("no console session cookie: {found}"));
    assert_ne!(session["value"], planted.as_str(), "a new token at login");
    assert!(
        step(&found, 3)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console")
    );
    assert_eq!(step(&found, 8)["status"], 403, "no token: {found}");
    assert_eq!(step(&found, 12)["status"], 403, "forged token: {found}");
    let cross = step(&found, 14);
    assert_eq!(cross["status"], 403, "cross-site: {found}");
    assert_eq!(cross["sentCsrf"], true);
    // The refusal says what happened and where the console is, in Chinese by default.
    let said = cross["text"].as_str().unwrap();
    assert!(
        said.contains(&format!(
            "这个表单是从 http://attacker.test 提交的，但控制台的地址是 {}",
            pg.url
        )),
        "{said}"
    );
    assert!(said.contains(&format!("{}/console", pg.url)), "{said}");
    assert_eq!(step(&found, 16)["status"], 200, "still signed in: {found}");
    assert_eq!(step(&found, 17)["count"], 0, "nothing refunded: {found}");
    // The planted token signs nobody in.
    let with_planted = json!({
        "base": pg.url,
        "cookies": [{"name": "pg_session", "value": planted}],
        "steps": [{"goto": "/console"}],
    });
    let found = console(&with_planted);
    assert!(
        step(&found, 0)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/login"),
        "{found}"
    );
    // A site user: their own order, but not the other site's, by URL or by search or in a count.
    // Their order's notification and the other's both failed; an anomaly is about the other's.
    let db = sqlite(dir.path());
    db.execute("UPDATE notification_events SET status = 'failed'")
        .await
        .unwrap();
    let their_event: String = db
        .scalar(&format!(
            "SELECT id FROM notification_events WHERE order_id = {their_id}"
        ))
        .await
        .unwrap();
    db.execute(&format!(
        "INSERT INTO anomalies (kind, channel, order_id, detail, at, occurrences, last_at, \
         dedupe_key) VALUES ('amount_mismatch', 'wechat', {their_id}, 'about theirs', 0, 1, 0, \
         'amount_mismatch:theirs')"
    ))
    .await
    .unwrap();
    let their_site = &theirs.site_id;
    let mut shop = Plan::new(&pg);
    shop.step(json!({"goto": "/console/login"}));
    shop.sign_in("shop@example.com", PASSWORD);
    let dashboard = shop.step(
        json!({"look": ["paid-amount", "nav-audit", "nav-users", "failed-notifications", "anomalies"]}),
    );
    let stolen = shop.step(json!({"cookies": true}));
    let mut not_found = Vec::new();
    for path in [
        format!("/console/orders/{their_id}"),
        format!("/console/orders/{their_id}/refund"),
        format!("/console/orders/{their_id}/notifications/{their_event}/resend"),
        format!("/console/sites/{their_site}"),
    ] {
        not_found.push(shop.step(json!({"goto": path})));
        shop.step(json!({"look": ["error"]}));
    }
    shop.step(json!({"goto": "/console/orders?out_trade_no=console_theirs_01"}));
    let search = shop.step(json!({"look": ["no-orders", "order-row"]}));
    shop.step(json!({"goto": "/console/notifications"}));
    let notifications = shop.step(json!({"look": ["event-row", "total"]}));
    shop.step(json!({"goto": format!("/console/notifications?status=failed&site={their_site}")}));
    let their_notifications = shop.step(json!({"look": ["no-events", "event-row"]}));
    shop.step(json!({"goto": "/console/anomalies?show=all"}));
    let anomalies = shop.step(json!({"look": ["no-anomalies", "anomaly-row"]}));
    shop.step(json!({"goto": "/console/sites"}));
    let sites = shop.step(json!({"look": ["site-row", "new-site"]}));
    shop.step(json!({"click": "site-link"}));
    let portal = shop.step(
        json!({"look": ["portal-note", "notify-url", "site-name", "disable-site", "rotate-key"]}),
    );
    shop.step(json!({"screenshot": png("site-portal")}));
    shop.step(json!({"goto": order_page}));
    let own = shop.step(json!({"look": ["out-trade-no", "refund-form"]}));
    // Their own refund form, pointed at the other site's order: not found either.
    shop.step(
        json!({"setAttribute": "[data-testid=refund-form]", "name": "action",
        "value": format!("/console/orders/{their_id}/refund")}),
    );
    shop.step(json!({"fill": "refund-amount", "value": "1.00"}));
    shop.step(json!({"click": "refund"}));
    let tampered = shop.step(json!({"look": ["error"]}));
    shop.step(json!({"goto": "/console"}));
    shop.step(json!({"click": "logout"}));
    let found = shop.run();
    clean(&found);
    let testids = |i: usize| step(&found, i)["testids"].clone();
    let d = testids(dashboard);
    assert_eq!(
        d["paid-amount"]["text"], "¥29.90",
        "their 77.70 is not counted: {d}"
    );
    assert_eq!(d["nav-audit"]["count"], 0, "no audit log for a site");
    assert_eq!(d["nav-users"]["count"], 0, "no users for a site");
    assert!(
        d["failed-notifications"]["text"]
            .as_str()
            .unwrap()
            .starts_with('1'),
        "theirs not counted: {d}"
    );
    assert!(
        d["anomalies"]["text"].as_str().unwrap().starts_with('0'),
        "theirs not counted: {d}"
    );
    for i in not_found {
        assert_eq!(
            step(&found, i)["status"],
            404,
            "{}: {found}",
            step(&found, i)["goto"]
        );
        let page = step(&found, i + 1)["main"].as_str().unwrap().to_owned();
        assert!(
            !page.contains("console_theirs_01") && !page.contains("Other Shop"),
            "{page}"
        );
    }
    assert_eq!(testids(search)["no-orders"]["count"], 1, "{found}");
    assert_eq!(testids(search)["order-row"]["count"], 0);
    assert_eq!(testids(notifications)["event-row"]["count"], 1, "{found}");
    assert_eq!(testids(notifications)["total"]["text"], "(1)");
    assert_eq!(
        testids(their_notifications)["no-events"]["count"],
        1,
        "{found}"
    );
    assert_eq!(testids(anomalies)["no-anomalies"]["count"], 1, "{found}");
    assert_eq!(testids(anomalies)["anomaly-row"]["count"], 0);
    assert_eq!(
        testids(sites)["site-row"]["count"],
        1,
        "their own site only"
    );
    assert_eq!(testids(sites)["new-site"]["count"], 0);
    let p = testids(portal);
    assert_eq!(
        (
            p["portal-note"]["count"].clone(),
            p["notify-url"]["count"].clone(),
            p["rotate-key"]["count"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{p}"
    );
    assert_eq!(
        (
            p["site-name"]["count"].clone(),
            p["disable-site"]["count"].clone()
        ),
        (json!(0), json!(0)),
        "{p}"
    );
    assert_eq!(testids(own)["out-trade-no"]["text"], "console_ours_0001");
    assert_eq!(
        testids(own)["refund-form"]["count"],
        1,
        "a site may refund its own"
    );
    assert_eq!(step(&found, tampered - 1)["status"], 404, "{found}");
    let order = signed_ok(&pg, &ours, Method::GET, "/v1/orders/console_ours_0001", "").await;
    assert_eq!(order["refunds"], json!([]), "{order}");
    let order = signed_ok(
        &pg,
        &theirs,
        Method::GET,
        "/v1/orders/console_theirs_01",
        "",
    )
    .await;
    assert_eq!(order["refunds"], json!([]), "{order}");

    // The session cookie the site user had, copied before they signed out: it signs nobody in.
    let copied = step(&found, stolen)["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pg_session")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut thief = Plan::new(&pg);
    thief
        .cookies
        .push(json!({"name": "pg_session", "value": copied}));
    let tried = thief.step(json!({"goto": "/console/orders"}));
    let found = thief.run();
    assert!(
        step(&found, tried)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/login"),
        "{found}"
    );

    // The admin opens the console at another name of the same server (localhost, while
    // public_url names 127.0.0.1): the sign-in is refused with a page that says why and links to
    // the console's own address, in their language.
    let port = pg.url.rsplit(':').next().unwrap();
    let mut elsewhere = Plan::new(&pg);
    elsewhere.base = format!("http://localhost:{port}");
    elsewhere.step(json!({"goto": "/console/login"}));
    let refused = elsewhere.sign_in("admin@example.com", PASSWORD);
    let told = elsewhere.step(json!({"look": ["error-message", "go-to", "user"]}));
    elsewhere.step(json!({"screenshot": png("wrong-origin")}));
    elsewhere.step(json!({"goto": "/console/login?lang=en"}));
    elsewhere.sign_in("admin@example.com", PASSWORD);
    let told_en = elsewhere.step(json!({"look": ["error-message", "go-to"]}));
    let found = elsewhere.run();
    assert_eq!(found["pageErrors"], json!([]), "{found}");
    assert_eq!(step(&found, refused)["status"], 403, "{found}");
    let t = &step(&found, told)["testids"];
    let message = t["error-message"]["text"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "这个表单是从 http://localhost:{port} 提交的，但控制台的地址是 {}。",
            pg.url
        )),
        "{message}"
    );
    assert_eq!(t["go-to"]["text"], format!("{}/console", pg.url).as_str());
    assert_eq!(t["user"]["count"], 0, "not signed in");
    let t = &step(&found, told_en)["testids"];
    let message = t["error-message"]["text"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "This form was sent from http://localhost:{port}, but the console's address is {}.",
            pg.url
        )),
        "{message}"
    );

    // Ten wrong passwords lock the account: then even the right one is refused, and told why.
    let mut guesser = Plan::new(&pg);
    guesser.step(json!({"goto": "/console/login"}));
    for i in 0..10 {
        guesser.sign_in("admin@example.com", &format!("guess number {i:02}"));
    }
    let tenth = guesser.step(json!({"look": ["login-error"]}));
    guesser.sign_in("admin@example.com", PASSWORD);
    let locked = guesser.step(json!({"look": ["login-error", "user"]}));
    guesser.step(json!({"screenshot": png("locked")}));
    let found = guesser.run();
    clean(&found);
    let text = |i: usize| {
        step(&found, i)["testids"]["login-error"]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(text(tenth).contains("锁定"), "{}", text(tenth));
    assert!(text(locked).contains("锁定"), "{}", text(locked));
    assert_eq!(
        step(&found, locked)["testids"]["user"]["count"],
        0,
        "not signed in"
    );
    let log = db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'")
        .await;
    assert!(log >= 10, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reads_a_reconciled_day_and_a_site_downloads_its_statement() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let ours = create_site(dir.path(), "Example Shop");
    let theirs = create_site(dir.path(), "Other Shop");
    create_user(dir.path(), "admin@example.com", "admin", None);
    create_user(dir.path(), "shop@example.com", "site", Some(&ours.site_id));
    paid_order(&pg, &ours, "recon_order_0001", 2990).await;
    paid_order(&pg, &ours, "recon_order_0002", 10_000).await;
    paid_order(&pg, &theirs, "recon_theirs_001", 5000).await;
    // paygate's record of one payment no longer says what the channel billed: a discrepancy.
    let db = sqlite(dir.path());
    db.execute("UPDATE orders SET amount_fen = 10100 WHERE out_trade_no = 'recon_order_0002'")
        .await
        .unwrap();
    let mismatched = console_id(dir.path(), "recon_order_0002").await;
    let matched = console_id(dir.path(), "recon_order_0001").await;
    let today = gateway::domain::BillDay::of(gateway::domain::Timestamp::now()).to_string();
    let out = paygate_run(
        &[
            "reconcile",
            "--date",
            &today,
            "--channel",
            "wechat",
            "--wait",
            "60",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        pg.log()
    );
    let day_page = format!("/console/reconciliation/wechat/{today}");

    let mut plan = Plan::new(&pg);
    plan.step(json!({"goto": "/console/login"}));
    plan.sign_in("admin@example.com", PASSWORD);
    plan.step(json!({"click": "nav-reconciliation"}));
    let list = plan.step(
        json!({"look": ["day-row", "day-status", "day-payments", "day-paid",
        "day-fees", "day-net", "day-matched", "day-discrepancies"]}),
    );
    plan.step(json!({"screenshot": png("reconciliation")}));
    plan.step(json!({"goto": day_page}));
    let day = plan.step(
        json!({"look": ["day-heading", "run-status", "run-paid", "run-fees",
        "run-net", "discrepancy-row", "discrepancy-order", "rerun"]}),
    );
    plan.step(json!({"screenshot": png("reconciliation-day")}));
    let rerun = plan.step(json!({"click": "rerun"}));
    let rerun_done = plan.step(json!({"look": ["notice", "run-status"]}));
    plan.step(json!({"screenshot": png("reconciliation-day-rerun")}));
    plan.step(json!({"click": "discrepancy-order"}));
    let order = plan.step(json!({"look": ["out-trade-no", "summary"]}));
    plan.step(json!({"goto": format!("/console/orders/{matched}")}));
    let matched_order = plan.step(json!({"look": ["summary"]}));
    plan.step(json!({"screenshot": png("order-billed-fee")}));
    plan.step(json!({"goto": "/console/reconciliation?lang=en"}));
    plan.step(json!({"screenshot": png("reconciliation-en")}));
    plan.step(json!({"goto": format!("{day_page}?lang=zh")}));
    plan.step(json!({"viewport": {"width": 390, "height": 844}}));
    let phone_list = plan.step(json!({"goto": "/console/reconciliation"}));
    let phone_list_look = plan.step(json!({"look": ["day-row"]}));
    plan.step(json!({"screenshot": png("reconciliation-phone")}));
    plan.step(json!({"goto": day_page}));
    let phone_day = plan.step(json!({"look": ["discrepancy-row"]}));
    plan.step(json!({"screenshot": png("reconciliation-day-phone")}));
    plan.step(json!({"viewport": {"width": 1280, "height": 800}}));
    plan.step(json!({"goto": "/console/audit"}));
    let audit = plan.step(json!({"texts": "audit-action"}));
    let found = plan.run();
    clean(&found);
    let testids = |i: usize| step(&found, i)["testids"].clone();

    // Tomorrow, planned by the day's run for when its bill is out; then the day: WeChat Pay's
    // account, complete, its three payments of 29.90, 100.00 and 50.00 (the bill lists every
    // site's), one of them a discrepancy.
    let l = testids(list);
    assert_eq!(l["day-row"]["count"], 2, "{found}");
    assert_eq!(l["day-status"]["text"], "已计划", "{l}");
    let main = step(&found, list)["main"].as_str().unwrap().to_owned();
    assert!(
        main.contains(&format!("{today}\t微信支付")) && main.contains("已完成"),
        "{main}"
    );
    assert_eq!(l["day-payments"]["text"], "3", "{l}");
    assert_eq!(l["day-paid"]["text"], "179.90", "{l}");
    assert_eq!(l["day-matched"]["text"], "2", "{l}");
    assert_eq!(l["day-discrepancies"]["text"], "1", "{l}");
    let fees = l["day-fees"]["text"].as_str().unwrap().to_owned();
    assert_ne!(fees, "0.00", "the simulator's bill charges fees: {l}");
    let d = testids(day);
    assert!(
        d["day-heading"]["text"].as_str().unwrap().contains(&today),
        "{d}"
    );
    assert_eq!(d["run-paid"]["text"], "¥179.90", "{d}");
    assert_eq!(d["run-fees"]["text"], format!("¥{fees}").as_str(), "{d}");
    assert_eq!(d["discrepancy-row"]["count"], 1, "{d}");
    assert_eq!(d["discrepancy-order"]["text"], "recon_order_0002", "{d}");
    assert_eq!(d["rerun"]["count"], 1, "an admin may run it again");
    assert!(
        step(&found, rerun)["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{day_page}?done=rerun")),
        "{found}"
    );
    assert_eq!(testids(rerun_done)["notice"]["count"], 1, "{found}");
    let o = testids(order);
    assert_eq!(o["out-trade-no"]["text"], "recon_order_0002", "{o}");
    assert!(
        step(&found, order)["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/console/orders/{mismatched}")),
        "{found}"
    );
    // The bill's fee of a payment it matched is on the order's page; the mismatched one has none.
    assert!(
        !o["summary"]["text"]
            .as_str()
            .unwrap()
            .contains("渠道手续费"),
        "{o}"
    );
    let summary = testids(matched_order)["summary"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        summary.contains("渠道手续费（账单，元）0.18"),
        "0.6 % of 29.90: {summary}"
    );
    assert_eq!(step(&found, phone_list)["status"], 200);
    for i in [phone_list_look, phone_day] {
        assert_eq!(step(&found, i)["fitsWidth"], true, "step {i}: {found}");
    }
    let actions = step(&found, audit)["texts"].clone();
    assert_eq!(actions[0], "reconciliation.request", "{actions}");
    let asked = db
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation.request' \
             AND actor_email = 'admin@example.com' AND ip = '127.0.0.1'",
        )
        .await;
    assert_eq!(asked, 1);

    // The site user: no reconciliation, and their own statement from their portal, the API's
    // bytes; another site's by its URL is not found, a date that is not one is a 400 page.
    let mut shop = Plan::new(&pg);
    shop.step(json!({"goto": "/console/login"}));
    shop.sign_in("shop@example.com", PASSWORD);
    let nav = shop.step(json!({"look": ["nav-reconciliation", "nav-orders"]}));
    let refused = shop.step(json!({"goto": "/console/reconciliation"}));
    shop.step(json!({"goto": format!("/console/sites/{}", ours.site_id)}));
    let portal = shop.step(
        json!({"look": ["statement-form", "statement-date", "download-csv", "download-json"]}),
    );
    shop.step(json!({"screenshot": png("site-statement")}));
    shop.step(json!({"fill": "statement-date", "value": today}));
    let csv = shop.step(json!({"download": "download-csv"}));
    let json_file = shop.step(json!({"download": "download-json"}));
    let cross = shop.step(json!({"goto": format!(
        "/console/sites/{}/statement?date={today}&format=csv",
        theirs.site_id
    )}));
    let cross_look = shop.step(json!({"look": ["error"]}));
    let bad = shop.step(json!({"goto": format!(
        "/console/sites/{}/statement?date=2026-02-30&format=csv",
        ours.site_id
    )}));
    let bad_look = shop.step(json!({"look": ["error-message"]}));
    shop.step(json!({"screenshot": png("statement-bad-date")}));
    let found = shop.run();
    clean(&found);
    let testids = |i: usize| step(&found, i)["testids"].clone();
    assert_eq!(testids(nav)["nav-reconciliation"]["count"], 0, "{found}");
    assert_eq!(testids(nav)["nav-orders"]["count"], 1);
    assert_eq!(step(&found, refused)["status"], 403, "{found}");
    let p = testids(portal);
    for id in [
        "statement-form",
        "statement-date",
        "download-csv",
        "download-json",
    ] {
        assert_eq!(p[id]["count"], 1, "{id}: {p}");
    }
    for (i, format) in [(csv, "csv"), (json_file, "json")] {
        let file = step(&found, i);
        assert_eq!(
            file["filename"],
            format!("statement-{}-{today}.{format}", ours.site_id).as_str(),
            "{file}"
        );
        let api = signed(
            &http(),
            &pg.url,
            &ours,
            Method::GET,
            &format!("/v1/statements/{today}?format={format}"),
            "",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(api.status(), 200);
        let api = api.text().await.unwrap();
        assert_eq!(file["text"], api.as_str(), "{format}: the API's bytes");
        assert!(
            api.contains("recon_order_0002") && !api.contains("recon_theirs"),
            "{api}"
        );
    }
    assert_eq!(step(&found, cross)["status"], 404, "{found}");
    let main = step(&found, cross_look)["main"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !main.contains("recon_theirs") && !main.contains("Other Shop"),
        "{main}"
    );
    assert_eq!(step(&found, bad)["status"], 400, "{found}");
    assert!(
        testids(bad_look)["error-message"]["text"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD"),
        "{found}"
    );
    pg.stop();
}
