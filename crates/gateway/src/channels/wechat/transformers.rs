//! paygate's order → WeChat Pay's request; WeChat Pay's answers → paygate's vocabulary.

use channel_core::Fen;
use wechatpay::{
    H5Info, NewOrder, NewRefund, OrderAmount, RefundRequestAmount, SceneInfo, SettleInfo, TradeRef,
    TradeState, TransactionFor,
};

use super::super::status::{expiry_of, timestamp_of};
use super::super::{ChannelError, RefundState, UpstreamStatus};
use crate::domain::{Channel, Order, Refund};

/// WeChat Pay's code for an order it does not have.
pub(super) const ORDER_NOT_EXIST: &str = "ORDER_NOT_EXIST";

/// The order's content as WeChat Pay gets it. Everything comes from the stored order (and the
/// account's fixed settings), nothing from the clock: a retried create must be byte-identical so
/// that WeChat Pay answers it with the first prepay instead of `OUT_TRADE_NO_USED`.
pub(super) fn new_order(
    notify_url: &str,
    appid: &str,
    order: &Order,
) -> Result<NewOrder, ChannelError> {
    let mut request = NewOrder::new(
        appid,
        order.description.as_str(),
        order.upstream_order_no.as_str(),
        notify_url,
        OrderAmount::cny(order.amount.as_i64()),
    );
    request.time_expire = Some(expiry_of(order.expires_at)?);
    request.attach = order.attach.as_ref().map(|a| a.as_str().to_owned());
    // Made for profit sharing: WeChat Pay keeps the money frozen until it is split or unfrozen.
    request.settle_info = order.profit_sharing.then_some(SettleInfo {
        profit_sharing: true,
    });
    Ok(request)
}

/// H5 orders must say where the payer is: their IP, and a mobile web page (`Wap`).
pub(super) fn h5_scene(order: &Order) -> Result<SceneInfo, ChannelError> {
    let ip = order
        .payer
        .client_ip
        .ok_or_else(|| ChannelError::missing("the payer's client_ip", order.pay_method))?;
    Ok(SceneInfo {
        payer_client_ip: ip.to_string(),
        device_id: None,
        store_info: None,
        h5_info: Some(H5Info {
            kind: "Wap".to_owned(),
            app_name: None,
            app_url: None,
            bundle_id: None,
            package_name: None,
        }),
    })
}

/// A queried transaction as paygate sees it. A paid answer without the fields a payment must carry
/// is not trusted: the outcome is unknown until a later query brings them.
pub(super) fn status<M, P>(
    t: &TransactionFor<M, P>,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    let unknown = |message: &str| ChannelError::Unknown {
        channel: Channel::Wechat,
        message: message.to_owned(),
    };
    if t.out_trade_no != order.upstream_order_no.as_str() {
        return Err(unknown("the answer is about another order"));
    }
    status_of(
        t.trade_state,
        t.transaction_id.as_deref(),
        t.success_time,
        t.amount.as_ref().map(|a| a.total),
    )
}

/// The one mapping of WeChat Pay's `trade_state` (of an order, or of a combined order's sub-order)
/// to paygate's news: a payment must carry its transaction id and amount.
pub(super) fn status_of(
    state: TradeState,
    transaction_id: Option<&str>,
    success_time: Option<time::OffsetDateTime>,
    total: Option<i64>,
) -> Result<UpstreamStatus, ChannelError> {
    let unknown = |message: &str| ChannelError::Unknown {
        channel: Channel::Wechat,
        message: message.to_owned(),
    };
    Ok(match state {
        TradeState::Success => UpstreamStatus::Paid {
            transaction_id: transaction_id
                .ok_or_else(|| unknown("SUCCESS without transaction_id"))?
                .to_owned(),
            paid_at: success_time.map(timestamp_of),
            amount: Fen(total.ok_or_else(|| unknown("SUCCESS without amount"))?),
        },
        TradeState::Refund => UpstreamStatus::Refunded,
        TradeState::Notpay => UpstreamStatus::NotPaid,
        TradeState::Closed | TradeState::Revoked => UpstreamStatus::Closed,
        TradeState::Userpaying | TradeState::Accept => UpstreamStatus::Paying,
        TradeState::Payerror => UpstreamStatus::Failed,
    })
}

pub(super) const RESOURCE_NOT_EXISTS: &str = "RESOURCE_NOT_EXISTS";

/// The refund as WeChat Pay gets it, from stored fields only: a re-sent refund carries the same
/// number and content, and WeChat Pay answers it as the same refund.
pub(super) fn new_refund(notify_url: &str, order: &Order, refund: &Refund) -> NewRefund {
    let mut request = NewRefund::new(
        TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned()),
        refund.upstream_refund_no.as_str(),
        RefundRequestAmount::cny(refund.amount.as_i64(), order.amount.as_i64()),
    );
    request.reason = refund.reason.as_ref().map(|r| r.as_str().to_owned());
    // Refund notifications come to the merchant's callback route, beside payment ones.
    request.notify_url = Some(notify_url.to_owned());
    request
}

/// A refund as paygate sees it, from a create's or a query's answer (and, later, a
/// notification's). An answer about another refund is not trusted.
pub(super) fn refund_state(
    answer: &wechatpay::Refund,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    if answer.out_refund_no != refund.upstream_refund_no.as_str() {
        return Err(ChannelError::Unknown {
            channel: Channel::Wechat,
            message: "the answer is about another refund".to_owned(),
        });
    }
    Ok(refund_state_of(
        answer.status,
        &answer.refund_id,
        answer.success_time,
    ))
}

/// The one mapping of WeChat Pay's refund status, for answers and notifications alike.
pub(super) fn refund_state_of(
    status: wechatpay::RefundStatus,
    refund_id: &str,
    success_time: Option<time::OffsetDateTime>,
) -> RefundState {
    let id = Some(refund_id.to_owned()).filter(|id| !id.is_empty());
    match status {
        wechatpay::RefundStatus::Success => RefundState::Succeeded {
            channel_refund_id: id,
            at: success_time.map(timestamp_of),
        },
        wechatpay::RefundStatus::Processing => RefundState::Processing {
            channel_refund_id: id,
        },
        wechatpay::RefundStatus::Closed => RefundState::Closed,
        wechatpay::RefundStatus::Abnormal => RefundState::Abnormal {
            channel_refund_id: id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::test_order::order;
    use crate::domain::{OrderStatus, Timestamp};
    use wechatpay::Transaction;

    fn transaction(state: &str, paid: bool) -> Transaction {
        let mut t = serde_json::json!({
            "appid": "wx1", "mchid": "1900000001", "out_trade_no": "pg1706601234000abcdefghijklmnopq",
            "trade_state": state, "trade_state_desc": "",
        });
        if paid {
            t["transaction_id"] = "4200000000202401011234567890".into();
            t["success_time"] = "2024-01-30T16:00:00+08:00".into();
            t["amount"] = serde_json::json!({"total": 2990, "payer_total": 2900});
        }
        serde_json::from_value(t).unwrap()
    }

    #[test]
    fn every_trade_state_has_its_status() {
        let o = order("wechat.native", OrderStatus::Pending);
        let cases = [
            ("REFUND", UpstreamStatus::Refunded),
            ("NOTPAY", UpstreamStatus::NotPaid),
            ("CLOSED", UpstreamStatus::Closed),
            ("REVOKED", UpstreamStatus::Closed),
            ("USERPAYING", UpstreamStatus::Paying),
            ("ACCEPT", UpstreamStatus::Paying),
            ("PAYERROR", UpstreamStatus::Failed),
        ];
        for (state, expected) in cases {
            assert_eq!(
                status(&transaction(state, false), &o).unwrap(),
                expected,
                "{state}"
            );
        }
        assert_eq!(
            status(&transaction("SUCCESS", true), &o).unwrap(),
            UpstreamStatus::Paid {
                transaction_id: "4200000000202401011234567890".into(),
                paid_at: Some(Timestamp::from_millis(1_706_601_600_000)),
                // The order total, not what the payer paid after a discount.
                amount: Fen(2990),
            }
        );
    }

    #[test]
    fn a_success_without_payment_fields_or_for_another_order_is_not_trusted() {
        let o = order("wechat.native", OrderStatus::Pending);
        let err = status(&transaction("SUCCESS", false), &o).unwrap_err();
        assert!(err.is_outcome_unknown());
        let mut other = transaction("SUCCESS", true);
        other.out_trade_no = "pg_other_order_0000".into();
        assert!(status(&other, &o).unwrap_err().is_outcome_unknown());
    }

    #[test]
    fn time_expire_is_the_stored_expiry_in_china_time_whole_seconds() {
        let mut o = order("wechat.native", OrderStatus::Created);
        o.expires_at = Timestamp::from_millis(1_706_601_234_567);
        let expiry = expiry_of(o.expires_at).unwrap();
        assert_eq!(
            wechatpay::timefmt::format(expiry).unwrap(),
            "2024-01-30T15:53:54+08:00"
        );
    }
}
