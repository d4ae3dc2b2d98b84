//! Refunds through each channel against the simulator: partial, repeated, re-sent, queried.

use gateway::channels::RefundState;
use gateway::domain::{EventType, OrderStatus, RefundStatus};
use gateway::service::RefundApplied;

use crate::support::{AMOUNT_FEN, env};

#[tokio::test]
async fn wechat_pay_refunds_in_parts_and_answers_a_resent_refund_as_the_same_one() {
    let env = env().await;
    let order = env.paid("wechat.native").await;
    let first = env.refund(&order, "r_001", 990).await;
    let answered = env.channels.refund(&order, &first).await.unwrap();
    let id = match &answered {
        RefundState::Processing {
            channel_refund_id: Some(id),
        }
        | RefundState::Succeeded {
            channel_refund_id: Some(id),
            ..
        } => id.clone(),
        other => panic!("{other:?}"),
    };
    // Re-sent after a crash or a timeout: the same refund, not a second one.
    let again = env.channels.refund(&order, &first).await.unwrap();
    assert!(
        matches!(
            &again,
            RefundState::Processing { channel_refund_id: Some(i) } | RefundState::Succeeded { channel_refund_id: Some(i), .. } if *i == id
        ),
        "{again:?}"
    );
    let queried = env.channels.query_refund(&order, &first).await.unwrap();
    assert!(
        matches!(
            &queried,
            RefundState::Processing { channel_refund_id: Some(i) } | RefundState::Succeeded { channel_refund_id: Some(i), .. } if *i == id
        ),
        "{queried:?}"
    );
    // The rest, under another number.
    let rest = env.refund(&order, "r_002", AMOUNT_FEN - 990).await;
    assert!(!matches!(
        env.channels.refund(&order, &rest).await.unwrap(),
        RefundState::Closed | RefundState::NotFound
    ));
}

#[tokio::test]
async fn wechat_pay_knows_no_refund_that_was_never_sent() {
    let env = env().await;
    let order = env.paid("wechat.native").await;
    let unsent = env.refund(&order, "r_001", 100).await;
    assert_eq!(
        env.channels.query_refund(&order, &unsent).await.unwrap(),
        RefundState::NotFound
    );
}

#[tokio::test]
async fn alipay_refunds_in_parts_at_once_and_a_resent_refund_moves_no_more_money() {
    let env = env().await;
    let order = env.paid("alipay.qr").await;
    let first = env.refund(&order, "r_001", 990).await;
    assert_eq!(
        env.channels.query_refund(&order, &first).await.unwrap(),
        RefundState::NotFound,
        "not sent yet"
    );
    let RefundState::Succeeded {
        channel_refund_id: Some(trade_no),
        at: Some(_),
    } = env.channels.refund(&order, &first).await.unwrap()
    else {
        panic!("Alipay refunds synchronously");
    };
    // Re-sent: fund_change N, and the query says it succeeded under this number.
    assert!(matches!(
        env.channels.refund(&order, &first).await.unwrap(),
        RefundState::Succeeded { channel_refund_id: Some(t), .. } if t == trade_no
    ));
    assert!(matches!(
        env.channels.query_refund(&order, &first).await.unwrap(),
        RefundState::Succeeded { .. }
    ));
    let trade = env.alipay_trade(&order).await;
    assert_eq!(
        trade["refunds"].as_array().map(Vec::len),
        Some(1),
        "{trade}"
    );
    let rest = env.refund(&order, "r_002", AMOUNT_FEN - 990).await;
    assert!(matches!(
        env.channels.refund(&order, &rest).await.unwrap(),
        RefundState::Succeeded { .. }
    ));
    assert_eq!(
        env.alipay_trade(&order).await["trade_status"],
        "TRADE_CLOSED"
    );
}

#[tokio::test]
async fn the_channels_answer_ends_a_refund_once_and_a_full_refund_refunds_the_order() {
    let env = env().await;
    let service = gateway::service::OrderService::new(
        env.store.clone(),
        env.channels.clone(),
        gateway::service::ServiceSettings::new("http://127.0.0.1:9"),
    );
    let order = env.paid("alipay.qr").await;
    let whole = env.refund(&order, "r_all", AMOUNT_FEN).await;
    let answered = env.channels.refund(&order, &whole).await.unwrap();
    let RefundApplied::Ended(ended) = service.apply_refund_state(&whole, &answered).await.unwrap()
    else {
        panic!("a synchronous success did not end the refund");
    };
    assert_eq!(ended.status, RefundStatus::Succeeded);
    assert_eq!(env.reload(&order).await.status, OrderStatus::Refunded);
    // The same answer again (a retry, a query): nothing more happens.
    assert!(matches!(
        service.apply_refund_state(&whole, &answered).await.unwrap(),
        RefundApplied::Unchanged(r) if r.status == RefundStatus::Succeeded
    ));
    let events = env
        .store
        .notifications_for_order(&env.site.id, order.id)
        .await
        .unwrap();
    let refund_events: Vec<_> = events
        .iter()
        .filter(|e| e.refund.is_some())
        .map(|e| e.event_type)
        .collect();
    assert_eq!(refund_events, [EventType::RefundSuccess]);
}
