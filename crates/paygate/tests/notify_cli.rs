//! `paygate notify list | show | resend`: the operator's view of notifications, on the same data dir
//! (and master key) as `serve`. Delivery itself is tested in `crates/gateway/tests/notify`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use gateway::config::{Flags, Settings};
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, NewOrder, NotificationStatus,
    OrderRequest, OrderStatus, OutTradeNo, PayMethod, Payer, SiteName, Timestamp, UpstreamFields,
};
use gateway::store::{InsertOutcome, NewAttempt, NewSite, Transition};
use serde_json::Value;
use support::serve::paygate_command;

fn notify(dir: &Path, args: &[&str]) -> Output {
    paygate_command()
        .arg("notify")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn settings(dir: &Path) -> Settings {
    Settings::load_with(
        Flags {
            data_dir: Some(dir.to_owned()),
            ..Flags::default()
        },
        &|_| None,
    )
    .unwrap()
}

/// A site and a paid order in the data dir's database; returns the event id.
async fn paid_order(dir: &Path) -> String {
    let store = gateway::app::open_store(&settings(dir)).await.unwrap();
    let site = store
        .create_site(
            NewSite {
                name: SiteName::parse("shop").unwrap(),
                notify_url: None,
                enabled_methods: BTreeSet::from([
                    PayMethod::new(Channel::Wechat, Method::Native).unwrap()
                ]),
                allow_private_targets: false,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let request = OrderRequest {
        out_trade_no: OutTradeNo::parse("order_cli_0001").unwrap(),
        pay_method: PayMethod::new(Channel::Wechat, Method::Native)
            .unwrap()
            .into(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
    };
    let new = NewOrder::prepare(site.id.clone(), request, Timestamp::now());
    let InsertOutcome::Inserted(order) = store.insert_order_if_absent(&new).await.unwrap() else {
        panic!("order existed");
    };
    let outcome = store
        .transition(&Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "test".to_owned(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    let id = outcome.event_id().unwrap().to_owned();
    store.close().await;
    id
}

#[tokio::test]
async fn the_operator_lists_shows_and_resends_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let event_id = paid_order(dir.path()).await;

    let out = notify(dir.path(), &["list", "--status", "pending", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["event_id"], event_id.as_str());
    assert_eq!(list[0]["out_trade_no"], "order_cli_0001");
    assert_eq!(list[0]["status"], "pending");

    let out = notify(dir.path(), &["list", "--status", "failed", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        Value::Array(vec![])
    );

    let out = notify(dir.path(), &["show", &event_id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(shown["attempt_log"], Value::Array(vec![]));

    let out = notify(dir.path(), &["resend", &event_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&event_id));
    // The resend is in the audit log as the command line's; an unknown event leaves no entry.
    let store = gateway::app::open_store(&settings(dir.path()))
        .await
        .unwrap();
    let resent = |log: &[gateway::store::AuditRecord]| {
        log.iter()
            .filter(|e| e.action == "notification.resend")
            .count()
    };
    let log = store.list_audit(10).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "notification.resend")
        .unwrap();
    assert_eq!(entry.object_id.as_deref(), Some(event_id.as_str()));
    assert_eq!(entry.actor_user_id, None, "the command line");

    let out = notify(dir.path(), &["resend", "evt_unknown"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no notification event evt_unknown"));
    assert_eq!(resent(&store.list_audit(10).await.unwrap()), 1);
}

#[tokio::test]
async fn the_operator_resends_every_failed_notification_of_a_site_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let event_id = paid_order(dir.path()).await;
    let store = gateway::app::open_store(&settings(dir.path()))
        .await
        .unwrap();
    let site = store.list_sites().await.unwrap().remove(0).id;
    store
        .mark_notification(&event_id, NotificationStatus::Failed, Timestamp::now())
        .await
        .unwrap();
    let out = notify(dir.path(), &["resend", "--failed", "--site", site.as_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 failed notifications"));
    let event = store.notification(&event_id).await.unwrap().unwrap();
    assert_eq!(event.status, NotificationStatus::Pending);
    let log = store.list_audit(5).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "notification.resend_failed")
        .unwrap();
    assert_eq!(entry.object_id.as_deref(), Some(site.as_str()));
    assert_eq!(entry.actor_user_id, None, "the command line");
    // None left: nothing to do, and said so.
    let out = notify(dir.path(), &["resend", "--failed", "--site", site.as_str()]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 failed notifications"));
    let out = notify(dir.path(), &["resend", "--failed", "--site", "site_nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such site"));
    let out = notify(dir.path(), &["resend", "--failed"]);
    assert!(!out.status.success(), "--failed needs --site");
    store.close().await;
}

#[tokio::test]
async fn the_operator_sees_what_a_private_target_answered_and_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let event_id = paid_order(dir.path()).await;
    let store = gateway::app::open_store(&settings(dir.path()))
        .await
        .unwrap();
    let refused = "refused: intranet.example resolves to 10.1.2.3, a private address";
    for (no, error, excerpt) in [
        (1, Some(refused), None),
        (2, Some("HTTP 500"), Some("internal: db password is …")),
    ] {
        let attempt = NewAttempt {
            event_id: event_id.clone(),
            attempt_no: no,
            at: Timestamp::now(),
            http_status: excerpt.map(|_| 500),
            latency_ms: 3,
            error: error.map(str::to_owned),
            response_excerpt: excerpt.map(str::to_owned),
            private_target: true,
            node: "n1".to_owned(),
        };
        store.record_attempt(&attempt).await.unwrap();
    }
    store.close().await;

    let out = notify(dir.path(), &["show", &event_id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = &shown["attempt_log"];
    assert_eq!(log[0]["error"], refused);
    assert_eq!(log[1]["response_excerpt"], "internal: db password is …");
    assert_eq!(log[1]["private_target"], true);
    let text = String::from_utf8(notify(dir.path(), &["show", &event_id]).stdout).unwrap();
    assert!(
        text.contains("10.1.2.3") && text.contains("non-public target"),
        "{text}"
    );
}
