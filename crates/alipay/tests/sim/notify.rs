//! Notifications: retried until the receiver says `success`, verified by the client, forgeries refused.

use std::sync::atomic::Ordering;

use alipay::{Error, Fen, Order, TradeStatus};
use sim::callbacks::CallbackState;

use crate::helpers::{spawn, unique};

#[tokio::test]
async fn retried_until_the_receiver_answers_success() {
    let app = spawn().await;
    app.refuse_next.store(2, Ordering::SeqCst);
    let no = unique("retry");
    app.client
        .precreate(&Order::new(&no, Fen(100), "retry"))
        .await
        .unwrap();
    app.pay(&no).await;

    let record = app.callback_reaches(&no, CallbackState::Delivered).await;
    assert_eq!(record.attempts.len(), 3);
    assert_eq!(record.attempts[0].response.as_deref(), Some("fail"));
    assert!(record.attempts[2].success);

    // Every attempt is a valid notification of the same payment (re-signed, same notify_id).
    let bodies = [
        app.next_notification_body().await,
        app.next_notification_body().await,
        app.next_notification_body().await,
    ];
    let verified: Vec<_> = bodies
        .iter()
        .map(|b| app.client.verify_notification(b).unwrap())
        .collect();
    assert!(
        verified
            .iter()
            .all(|n| n.trade_status == TradeStatus::TradeSuccess && n.out_trade_no == no)
    );
    assert!(
        verified
            .iter()
            .all(|n| n.notify_id == verified[0].notify_id)
    );

    let log: serde_json::Value = reqwest::get(format!("{}/sim/alipay/callbacks", app.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["reference"] == no.as_str() && r["state"] == "delivered")
    );
}

#[tokio::test]
async fn altered_notification_is_refused() {
    let app = spawn().await;
    let no = unique("forge");
    app.client
        .precreate(&Order::new(&no, Fen(100), "forge"))
        .await
        .unwrap();
    app.pay(&no).await;
    let body = String::from_utf8(app.next_notification_body().await).unwrap();
    assert!(app.client.verify_notification(body.as_bytes()).is_ok());

    let forged = body.replace("total_amount=1.00", "total_amount=0.01");
    assert_ne!(forged, body);
    assert!(matches!(
        app.client.verify_notification(forged.as_bytes()),
        Err(Error::Signature(_))
    ));

    let unsigned: String = body
        .split('&')
        .filter(|p| !p.starts_with("sign="))
        .collect::<Vec<_>>()
        .join("&");
    assert!(matches!(
        app.client.verify_notification(unsigned.as_bytes()),
        Err(Error::Signature(_))
    ));
}

#[tokio::test]
async fn failed_payment_closes_the_trade_and_says_so() {
    let app = spawn().await;
    let no = unique("fail");
    app.client
        .precreate(&Order::new(&no, Fen(100), "fail"))
        .await
        .unwrap();
    let resp = app
        .control(&format!(
            "/sim/alipay/trades/{no}/fail?app_id={}",
            crate::helpers::APP_ID
        ))
        .await;
    assert!(resp.status().is_success());
    let n = app.next_notification().await;
    assert_eq!(n.trade_status, TradeStatus::TradeClosed);
    assert!(n.gmt_payment.is_none());
}
