//! The operator's fee and a site's balance from the command line (`paygate site fee | show |
//! balance`): the fee set and audited, the balance read from the ledger the payments were booked
//! in, and the refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use gateway::config::{Flags, Settings};
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, NewOrder, OrderRequest,
    OrderStatus, OutTradeNo, PayMethod, Payer, SiteId, Timestamp, UpstreamFields,
};
use gateway::store::{InsertOutcome, Transition};
use serde_json::json;
use support::serve::{fails_with, ok_json, site_cmd};

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

/// An order of `fen` of site `id`, paid through the store's one transition (as a callback would).
async fn pay(data: &Path, id: &str, no: &str, fen: i64) {
    let store = gateway::app::open_store(&settings(data)).await.unwrap();
    let request = OrderRequest {
        out_trade_no: OutTradeNo::parse(no).unwrap(),
        pay_method: PayMethod::new(Channel::Wechat, Method::Native)
            .unwrap()
            .into(),
        amount: Amount::parse(fen).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
    };
    let new = NewOrder::prepare(SiteId::parse(id).unwrap(), request, Timestamp::now());
    let InsertOutcome::Inserted(order) = store.insert_order_if_absent(&new).await.unwrap() else {
        panic!("{no} existed");
    };
    let paid = store
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
    assert!(paid.won());
    store.close().await;
}

#[tokio::test]
async fn the_operator_sets_a_sites_fee_and_reads_its_balance() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let shop = ok_json(&site_cmd(&data, &["create", "--name", "shop", "--json"]));
    let id = shop["site_id"].as_str().unwrap().to_owned();

    let shown = ok_json(&site_cmd(&data, &["show", &id, "--json"]));
    assert_eq!(shown["name"], "shop");
    assert_eq!(
        shown["fee"],
        json!({"rate_bps": 0, "fixed_fen": 0}),
        "no fee by default"
    );

    let set = ok_json(&site_cmd(
        &data,
        &["fee", &id, "--rate-bps", "60", "--json"],
    ));
    assert_eq!(
        set,
        json!({"site_id": id, "fee": {"rate_bps": 60, "fixed_fen": 0}})
    );
    let shown = ok_json(&site_cmd(&data, &["show", &id, "--json"]));
    assert_eq!(shown["fee"], json!({"rate_bps": 60, "fixed_fen": 0}));
    let text = String::from_utf8(site_cmd(&data, &["show", &id]).stdout).unwrap();
    assert!(text.contains("fee\t60 bps + 0 fen"), "{text}");

    let empty = ok_json(&site_cmd(&data, &["balance", &id, "--json"]));
    assert_eq!(
        empty,
        json!({"site_id": id, "currency": "CNY", "paid": 0, "refunded": 0, "fees": 0, "shared": 0, "net": 0})
    );
    pay(&data, &id, "order_cli_001", 10_000).await;
    let balance = ok_json(&site_cmd(&data, &["balance", &id, "--json"]));
    assert_eq!(
        [
            &balance["paid"],
            &balance["refunded"],
            &balance["fees"],
            &balance["shared"],
            &balance["net"]
        ],
        [
            &json!(10_000),
            &json!(0),
            &json!(60),
            &json!(0),
            &json!(9_940)
        ]
    );
    let text = String::from_utf8(site_cmd(&data, &["balance", &id]).stdout).unwrap();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            ["paid", "100.00"],
            ["refunded", "0.00"],
            ["fees", "0.60"],
            ["shared", "0.00"],
            ["net", "99.40"]
        ]
    );

    // The part not given is 0: the fee is what the command says.
    let fixed = ok_json(&site_cmd(
        &data,
        &["fee", &id, "--fixed-fen", "30", "--json"],
    ));
    assert_eq!(fixed["fee"], json!({"rate_bps": 0, "fixed_fen": 30}));
    pay(&data, &id, "order_cli_002", 1_000).await;
    let balance = ok_json(&site_cmd(&data, &["balance", &id, "--json"]));
    assert_eq!(
        (&balance["fees"], &balance["net"]),
        (&json!(90), &json!(10_910)),
        "the first fee kept"
    );

    // Each fee set is in the audit log, as the command line's, naming its site.
    let db = test_support::db::Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ));
    let audited = db
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'site.fee' AND object_id = '{id}' \
             AND actor_user_id IS NULL"
        ))
        .await;
    assert_eq!(audited, 2);

    fails_with(
        &site_cmd(&data, &["fee", &id, "--rate-bps", "10001"]),
        "rate_bps",
    );
    fails_with(&site_cmd(&data, &["fee", &id, "--fixed-fen", "-1"]), "");
    fails_with(&site_cmd(&data, &["fee", &id]), "--rate-bps");
    fails_with(
        &site_cmd(&data, &["fee", "site_doesnotexist", "--rate-bps", "60"]),
        "site site_doesnotexist: no such site",
    );
    for command in ["show", "balance"] {
        fails_with(
            &site_cmd(&data, &[command, "site_doesnotexist"]),
            "site site_doesnotexist: no such site",
        );
    }
    let shown = ok_json(&site_cmd(&data, &["show", &id, "--json"]));
    assert_eq!(
        shown["fee"],
        json!({"rate_bps": 0, "fixed_fen": 30}),
        "refusals change nothing"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'site.fee'")
            .await,
        2
    );
}
