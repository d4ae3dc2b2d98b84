//! A service provider's app calling for the merchants that authorised it: one client, one view per
//! merchant (`acting_for`), each merchant's trades its own, and the refusals of a bad token.

// The setup helpers below are test support: a failed step should stop the test right there.
#![allow(clippy::unwrap_used)]

use alipay::{
    AccountType, BillPeriod, BillType, Client, Error, Fen, Order, Receiver, RefundQueryRequest,
    RefundRequest, RelationRequest, RoyaltySplit, SettleRequest, SignatureFailure,
};
use channel_core::RsaPrivateKey;
use serde_json::{Value, json};

use crate::helpers::{APP_ID, TestApp, out, register, spawn, unique};

const MERCHANT_A: &str = "2088102150527498";
const MERCHANT_B: &str = "2088102150520001";

/// The merchant authorises the app (`POST /sim/alipay/app-auth`); the simulator's answer.
async fn authorise(app: &TestApp, app_id: &str, merchant_id: &str) -> Value {
    let r = app
        .http
        .post(format!("{}/sim/alipay/app-auth", app.base_url()))
        .json(&json!({"app_id": app_id, "merchant_id": merchant_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The app's view for `merchant_id`, which it authorised just now.
async fn acting_for(app: &TestApp, merchant_id: &str) -> (Client, Value) {
    let auth = authorise(app, APP_ID, merchant_id).await;
    let view = app
        .client
        .acting_for(auth["app_auth_token"].as_str().unwrap())
        .with_seller_id(merchant_id);
    (view, auth)
}

async fn pay_for(app: &TestApp, merchant_id: &str, no: &str) {
    let r = app
        .control(&format!(
            "/sim/alipay/trades/{no}/pay?app_id={APP_ID}&merchant_id={merchant_id}"
        ))
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

fn refused_code(e: &Error) -> (&str, Option<&str>) {
    match e {
        Error::Upstream { code, sub_code, .. } => (code.as_str(), sub_code.as_deref()),
        other => panic!("expected Alipay's refusal, got {other:?}"),
    }
}

fn refund(no: &str, request_no: &str, fen: i64) -> RefundRequest {
    RefundRequest {
        trade: out(no),
        out_request_no: request_no.to_owned(),
        refund_amount: Fen(fen),
        refund_reason: None,
    }
}

#[tokio::test]
async fn authorising_again_replaces_the_token_and_the_old_one_stops_working() {
    let app = spawn().await;
    let auth = authorise(&app, APP_ID, MERCHANT_A).await;
    assert_eq!(auth["user_id"], MERCHANT_A);
    for field in ["app_auth_token", "app_refresh_token", "auth_app_id"] {
        assert!(
            auth[field].as_str().is_some_and(|s| !s.is_empty()),
            "{auth}"
        );
    }
    assert!(auth["expires_in"].as_i64().unwrap() > 0);
    let old = app
        .client
        .acting_for(auth["app_auth_token"].as_str().unwrap());
    let no = unique("reauth");
    old.precreate(&Order::new(&no, Fen(1), "x")).await.unwrap();

    let again = authorise(&app, APP_ID, MERCHANT_A).await;
    assert_ne!(again["app_auth_token"], auth["app_auth_token"]);
    assert_eq!(
        (&again["user_id"], &again["auth_app_id"]),
        (&auth["user_id"], &auth["auth_app_id"])
    );
    let e = old.query_order(&out(&no)).await.unwrap_err();
    assert_eq!(
        refused_code(&e),
        ("20001", Some("aop.invalid-app-auth-token"))
    );
    // The merchant's trades stay its own under the new token.
    let new = app
        .client
        .acting_for(again["app_auth_token"].as_str().unwrap());
    assert!(new.query_order(&out(&no)).await.is_ok());
    let r = app
        .http
        .post(format!("{}/sim/alipay/app-auth", app.base_url()))
        .json(&json!({"app_id": "2021000000009999"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "unknown app");
}

#[tokio::test]
async fn a_merchants_trade_is_found_only_with_its_own_token() {
    let app = spawn().await;
    let (a, auth_a) = acting_for(&app, MERCHANT_A).await;
    let (b, _) = acting_for(&app, MERCHANT_B).await;
    let no = unique("isv");
    a.precreate(&Order::new(&no, Fen(500), "for A"))
        .await
        .unwrap();

    // The buyer pays; the notification names the merchant and its app, and A's view takes it.
    pay_for(&app, MERCHANT_A, &no).await;
    let body = app.next_notification_body().await;
    let n = a.verify_notification(&body).unwrap();
    assert_eq!(
        (n.out_trade_no.as_str(), n.seller_id.as_deref()),
        (no.as_str(), Some(MERCHANT_A))
    );
    assert_eq!(n.app_id, APP_ID);
    assert_eq!(
        n.fields.get("auth_app_id").map(String::as_str),
        auth_a["auth_app_id"].as_str()
    );
    assert!(matches!(
        b.verify_notification(&body),
        Err(Error::Signature(SignatureFailure::ForeignSeller))
    ));

    assert_eq!(
        a.query_order(&out(&no)).await.unwrap().total_amount,
        Fen(500)
    );
    for other in [&b, &app.client] {
        let e = other.query_order(&out(&no)).await.unwrap_err();
        assert_eq!(refused_code(&e), ("40004", Some("ACQ.TRADE_NOT_EXIST")));
        let e = other.refund(&refund(&no, "r1", 100)).await.unwrap_err();
        assert_eq!(refused_code(&e), ("40004", Some("ACQ.TRADE_NOT_EXIST")));
        let e = other.close_order(&out(&no)).await.unwrap_err();
        assert_eq!(refused_code(&e), ("40004", Some("ACQ.TRADE_NOT_EXIST")));
    }

    let r = a.refund(&refund(&no, "r1", 100)).await.unwrap();
    assert!(r.fund_change);
    let q = a
        .query_refund(&RefundQueryRequest {
            trade: out(&no),
            out_request_no: "r1".into(),
        })
        .await
        .unwrap();
    assert_eq!(q.out_trade_no.as_deref(), Some(no.as_str()));
    let refunded = a
        .verify_notification(&app.next_notification_body().await)
        .unwrap();
    assert_eq!(refunded.refund_fee, Some(Fen(100)));

    // The same out_trade_no is free for another merchant, and for the app itself.
    b.precreate(&Order::new(&no, Fen(700), "for B"))
        .await
        .unwrap();
    app.client
        .precreate(&Order::new(&no, Fen(900), "the app's own"))
        .await
        .unwrap();
    assert_eq!(
        b.query_order(&out(&no)).await.unwrap().total_amount,
        Fen(700)
    );
    assert_eq!(
        app.client
            .query_order(&out(&no))
            .await
            .unwrap()
            .total_amount,
        Fen(900)
    );
    let unpaid = unique("isv-close");
    a.precreate(&Order::new(&unpaid, Fen(1), "closed"))
        .await
        .unwrap();
    a.close_order(&out(&unpaid)).await.unwrap();
}

#[tokio::test]
async fn an_unknown_token_or_another_apps_token_is_refused_as_alipay_does() {
    let app = spawn().await;
    let e = app
        .client
        .acting_for("201509BBeff9351ad1874306903e96b91d248A36")
        .query_order(&out("any"))
        .await
        .unwrap_err();
    assert_eq!(
        refused_code(&e),
        ("20001", Some("aop.invalid-app-auth-token"))
    );

    let other_app = "2021000000000002";
    register(
        &app.http,
        app.base_url(),
        other_app,
        &RsaPrivateKey::generate().unwrap(),
    )
    .await;
    let theirs = authorise(&app, other_app, MERCHANT_A).await;
    let e = app
        .client
        .acting_for(theirs["app_auth_token"].as_str().unwrap())
        .precreate(&Order::new(unique("other"), Fen(1), "x"))
        .await
        .unwrap_err();
    assert_eq!(
        refused_code(&e),
        ("20001", Some("aop.invalid-app-auth-token"))
    );
    assert!(!e.is_outcome_unknown());
}

#[tokio::test]
async fn the_token_stays_out_of_errors_even_when_alipay_quotes_it() {
    let app = spawn().await;
    let auth = authorise(&app, APP_ID, MERCHANT_A).await;
    let token = auth["app_auth_token"].as_str().unwrap();
    let stranger = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let view = app
        .client_with(&stranger, &app.alipay_public_pem)
        .acting_for(token);
    let e = view.query_order(&out("x")).await.unwrap_err();
    assert_eq!(refused_code(&e), ("40002", Some("isv.invalid-signature")));
    let printed = format!("{e} {e:?} {view:?}");
    assert!(!printed.contains(token), "{printed}");
    assert!(
        printed.contains("app_auth_token=<app_auth_token>"),
        "{printed}"
    );
}

#[tokio::test]
async fn royalty_receivers_and_bills_are_the_merchants_own() {
    let app = spawn().await;
    let (a, _) = acting_for(&app, MERCHANT_A).await;
    let (b, _) = acting_for(&app, MERCHANT_B).await;
    let receiver = "2088101126765726";
    a.bind_royalty_receivers(&RelationRequest {
        out_request_no: unique("bind").replace('-', "_"),
        receivers: vec![Receiver {
            account_type: AccountType::UserId,
            account: receiver.into(),
            name: Some("站点".into()),
            memo: None,
        }],
    })
    .await
    .unwrap();

    let no = unique("isv-split");
    let mut order = Order::new(&no, Fen(1000), "split");
    order.royalty_freeze = true;
    a.precreate(&order).await.unwrap();
    pay_for(&app, MERCHANT_A, &no).await;
    let trade_no = a.query_order(&out(&no)).await.unwrap().trade_no;
    let settle = |request_no: &str| SettleRequest {
        out_request_no: request_no.to_owned(),
        trade_no: trade_no.clone(),
        splits: vec![RoyaltySplit::transfer(
            AccountType::UserId,
            receiver,
            Fen(100),
        )],
        royalty_finish: false,
    };
    a.settle(&settle("s1")).await.unwrap();
    // Neither another merchant nor the app itself sees A's trade.
    let e = b.settle(&settle("s2")).await.unwrap_err();
    assert_eq!(refused_code(&e).0, "40004");
    let e = app.client.settle(&settle("s3")).await.unwrap_err();
    assert_eq!(refused_code(&e).0, "40004");

    let today = (time::OffsetDateTime::now_utc() + time::Duration::hours(8)).date();
    a.bill_download_url(BillType::Trade, BillPeriod::Day(today))
        .await
        .unwrap();
    let e = b
        .bill_download_url(BillType::Trade, BillPeriod::Day(today))
        .await
        .unwrap_err();
    assert_eq!(refused_code(&e), ("40004", Some("isp.bill_not_exist")));
}
