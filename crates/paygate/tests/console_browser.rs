//! The console in headless Chromium (`browser/console.mjs`, Node.js + `playwright-core`; needs
//! `/usr/bin/chromium`, which `.ci/run` installs), against a sandbox `paygate serve`: an admin
//! created with `paygate user create` signs in, sees the dashboard and its chart, finds an order
//! that was created and paid through the API, refunds part of it from its page (the site receives
//! the refund notification), and signs out; then an outsider's attempts — a forged or missing CSRF
//! token, a form posted from another site, a planted session cookie, another site's order by its
//! URL — each fail. Screenshots are kept in `target/test-output/console/`.

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
    paygate_command, signed_ok,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_finds_a_paid_order_refunds_part_of_it_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let site = Receiver::start(Vec::new());
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "Example Shop", &site.url("/notify"));
    create_user(dir.path(), "admin@example.com", "admin", None);
    paid_order(&pg, &keys, "console_order_0001", 2990).await;
    site.wait_for(1, Duration::from_secs(10)).await;
    let order_page = format!(
        "/console/orders/{}",
        console_id(dir.path(), "console_order_0001").await
    );
    let plan = json!({
        "base": pg.url,
        "steps": [
            {"goto": "/console"},
            {"fill": "email", "value": "admin@example.com"},
            {"fill": "password", "value": PASSWORD},
            {"click": "sign-in"},
            {"look": ["user", "paid-count", "paid-amount", "chart", "nav-audit", "sandbox"]},
            {"count": "[data-testid=chart] rect"},
            {"cookies": true},
            {"screenshot": png("dashboard")},
            {"click": "nav-orders"},
            {"fill": "f-out-trade-no", "value": "console_order_0001"},
            {"click": "search"},
            {"look": ["order-row", "order-link"]},
            {"click": "order-link"},
            {"fill": "refund-amount", "value": "10.00"},
            {"click": "refund"},
            {"look": ["question", "confirm-button"]},
            {"click": "confirm-button"},
            {"look": ["notice", "refund-row", "refund-amount-cell", "order-status"]},
            {"screenshot": png("order-refunded")},
            {"viewport": {"width": 390, "height": 844}},
            {"goto": "/console"},
            {"look": ["paid-count"]},
            {"screenshot": png("dashboard-phone")},
            {"goto": order_page},
            {"look": ["out-trade-no"]},
            {"screenshot": png("order-phone")},
            {"click": "logout"},
            {"goto": "/console"},
        ]
    });
    let found = console(&plan);
    clean(&found);
    // Not signed in: the login page.
    assert!(
        step(&found, 0)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/login"),
        "{found}"
    );
    // Signed in: the dashboard, with today's payment and its 30-day chart.
    assert!(
        step(&found, 3)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console"),
        "{found}"
    );
    let dashboard = &step(&found, 4)["testids"];
    assert!(
        dashboard["user"]["text"]
            .as_str()
            .unwrap()
            .contains("admin@example.com"),
        "{dashboard}"
    );
    assert_eq!(dashboard["paid-count"]["text"], "1", "{dashboard}");
    assert_eq!(dashboard["paid-amount"]["text"], "¥29.90", "{dashboard}");
    assert_eq!(dashboard["chart"]["count"], 1);
    assert_eq!(
        dashboard["nav-audit"]["count"], 1,
        "an admin sees the audit log"
    );
    assert_eq!(dashboard["sandbox"]["count"], 1, "the sandbox is marked");
    assert_eq!(step(&found, 5)["count"], 30, "a bar per day");
    let cookies = step(&found, 6)["cookies"].as_array().unwrap();
    let session = cookies.iter().find(|c| c["name"] == "pg_session").unwrap();
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Strict");
    assert_eq!(session["path"], "/console");
    // The search found the order, and its page refunded 10.00 of it after the confirmation.
    assert_eq!(
        step(&found, 11)["testids"]["order-row"]["count"],
        1,
        "{found}"
    );
    let confirm = &step(&found, 15)["testids"]["question"]["text"];
    assert!(confirm.as_str().unwrap().contains("10.00"), "{confirm}");
    assert!(
        step(&found, 16)["url"]
            .as_str()
            .unwrap()
            .contains("done=refund"),
        "{found}"
    );
    let refunded = &step(&found, 17)["testids"];
    assert_eq!(refunded["refund-row"]["count"], 1, "{refunded}");
    assert_eq!(refunded["refund-amount-cell"]["text"], "10.00");
    assert_eq!(
        refunded["order-status"]["text"], "已支付",
        "partly refunded, still paid"
    );
    // On a phone the dashboard and the order page fit the screen.
    assert_eq!(step(&found, 21)["fitsWidth"], true, "{found}");
    assert_eq!(step(&found, 24)["fitsWidth"], true, "{found}");
    // Signed out: back to the login page, and the console is closed again.
    assert!(
        step(&found, 26)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/login")
    );
    assert!(
        step(&found, 27)["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/login")
    );
    // The site hears of the refund as of any other.
    let notes = site.wait_for(2, Duration::from_secs(15)).await;
    let refund = notes[1].json();
    assert_eq!(refund["event_type"], "REFUND.SUCCESS", "{refund}");
    let order = signed_ok(&pg, &keys, Method::GET, "/v1/orders/console_order_0001", "").await;
    assert_eq!(order["refunds"][0]["amount"], 1000, "{order}");
    // Every action is in the audit log.
    let id = console_id(dir.path(), "console_order_0001").await;
    let db = Database::at(&format!(
        "sqlite://{}?mode=rw",
        dir.path().join("paygate.db").display()
    ));
    for action in ["login", "order.refund", "logout"] {
        let n = db
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' \
                 AND actor_email = 'admin@example.com' AND ip = '127.0.0.1'"
            ))
            .await;
        assert_eq!(n, 1, "{action}");
    }
    let on_order = db
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'order.refund' AND object_id = '{id}'"
        ))
        .await;
    assert_eq!(on_order, 1);
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
    let shop = json!({
        "base": pg.url,
        "steps": [
            {"goto": "/console/login"},
            {"fill": "email", "value": "shop@example.com"},
            {"fill": "password", "value": PASSWORD},
            {"click": "sign-in"},
            {"look": ["paid-amount", "nav-audit"]},
            {"goto": format!("/console/orders/{their_id}")},
            {"look": ["error"]},
            {"goto": "/console/orders?out_trade_no=console_theirs_01"},
            {"look": ["no-orders", "order-row"]},
            {"goto": order_page},
            {"look": ["out-trade-no", "refund-form"]},
        ]
    });
    let found = console(&shop);
    clean(&found);
    let dashboard = &step(&found, 4)["testids"];
    assert_eq!(
        dashboard["paid-amount"]["text"], "¥29.90",
        "their 77.70 is not counted: {dashboard}"
    );
    assert_eq!(
        dashboard["nav-audit"]["count"], 0,
        "no audit log for a site"
    );
    assert_eq!(step(&found, 5)["status"], 404, "{found}");
    assert!(
        !step(&found, 6)["main"]
            .as_str()
            .unwrap()
            .contains("console_theirs_01")
    );
    assert_eq!(
        step(&found, 8)["testids"]["no-orders"]["count"],
        1,
        "{found}"
    );
    assert_eq!(step(&found, 8)["testids"]["order-row"]["count"], 0);
    assert_eq!(step(&found, 9)["status"], 200);
    assert_eq!(
        step(&found, 10)["testids"]["out-trade-no"]["text"],
        "console_ours_0001"
    );
    assert_eq!(
        step(&found, 10)["testids"]["refund-form"]["count"],
        1,
        "a site may refund its own"
    );
    let order = signed_ok(&pg, &ours, Method::GET, "/v1/orders/console_ours_0001", "").await;
    assert_eq!(order["refunds"], json!([]), "{order}");
}
