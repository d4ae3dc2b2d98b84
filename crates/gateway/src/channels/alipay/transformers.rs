//! paygate's order → Alipay's request; Alipay's answers → paygate's vocabulary.

use ::alipay::{Buyer, CreateRequest, QueryResponse, TradeStatus};

use super::super::status::{expiry_of, timestamp_of};
use super::super::{AlipayAccount, ChannelError, UpstreamStatus};
use crate::domain::{Order, OrderStatus};

/// Alipay's code for a trade it does not have.
pub(super) const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";
/// Alipay's code for "not in a state that allows this" (close of a paid or closed trade).
pub(super) const TRADE_STATUS_ERROR: &str = "ACQ.TRADE_STATUS_ERROR";

/// The order's content as Alipay gets it, from stored fields only (see the WeChat transformer:
/// a repeat must carry the same content for Alipay to answer it with the same trade).
pub(super) fn order(
    account: &AlipayAccount,
    order: &Order,
) -> Result<::alipay::Order, ChannelError> {
    let mut request = ::alipay::Order::new(
        order.upstream_order_no.as_str(),
        order.amount.fen(),
        order.description.as_str(),
    );
    request.time_expire = Some(expiry_of(order.expires_at)?);
    // Alipay returns passback_params verbatim and asks merchants to URL-encode it; decode with
    // `application/x-www-form-urlencoded` rules (`+` is a space).
    request.passback_params = order
        .attach
        .as_ref()
        .map(|a| url::form_urlencoded::byte_serialize(a.as_str().as_bytes()).collect());
    request.notify_url = Some(account.notify_url.clone());
    Ok(request)
}

/// `alipay.trade.create` for JSAPI and mini-program payments: the payer must be named, by the
/// classic user id (`2088` and 12 more digits) or by the newer per-app open id.
pub(super) fn create_request(
    request: ::alipay::Order,
    order: &Order,
) -> Result<CreateRequest, ChannelError> {
    let buyer = order
        .payer
        .buyer_id
        .as_ref()
        .ok_or_else(|| ChannelError::missing("the payer's buyer_id", order.pay_method))?
        .as_str();
    let is_user_id =
        buyer.len() == 16 && buyer.starts_with("2088") && buyer.bytes().all(|b| b.is_ascii_digit());
    let buyer = if is_user_id {
        Buyer::UserId(buyer.to_owned())
    } else {
        Buyer::OpenId(buyer.to_owned())
    };
    Ok(CreateRequest {
        order: request,
        buyer,
        op_app_id: None,
    })
}

/// A queried trade as paygate sees it.
///
/// `TRADE_CLOSED` means "closed unpaid" and also "refunded in full". A trade that was paid shows it
/// in the answer (`send_pay_date`, a positive buyer amount), and paygate's own record of a payment
/// settles it too: a paid trade can never close unpaid.
pub(super) fn status(
    answer: &QueryResponse,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    if answer.out_trade_no != order.upstream_order_no.as_str() {
        return Err(super::unknown("the answer is about another order"));
    }
    Ok(match answer.trade_status {
        TradeStatus::WaitBuyerPay => UpstreamStatus::NotPaid,
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => UpstreamStatus::Paid {
            transaction_id: answer.trade_no.clone(),
            paid_at: answer.send_pay_date.map(timestamp_of),
            amount: answer.total_amount,
        },
        TradeStatus::TradeClosed => {
            if was_paid(answer, order) {
                UpstreamStatus::Refunded
            } else {
                UpstreamStatus::Closed
            }
        }
    })
}

fn was_paid(answer: &QueryResponse, order: &Order) -> bool {
    let known_paid = match order.status {
        OrderStatus::Paid | OrderStatus::Refunded => true,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed | OrderStatus::Closed => {
            false
        }
    };
    known_paid || answer.send_pay_date.is_some() || answer.buyer_pay_amount.is_some_and(|f| f.0 > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::test_order::order;

    fn answer(status: &str, paid: bool) -> QueryResponse {
        let mut a = serde_json::json!({
            "trade_no": "2024013022001400001234567890", "out_trade_no": "pg1706601234000abcdefghijklmnopq",
            "trade_status": status, "total_amount": "29.90",
        });
        if paid {
            a["send_pay_date"] = "2024-01-30 16:00:00".into();
            a["buyer_pay_amount"] = "29.90".into();
        }
        serde_json::from_value(a).unwrap()
    }

    #[test]
    fn every_trade_status_has_its_status() {
        let pending = order("alipay.qr", OrderStatus::Pending);
        assert_eq!(
            status(&answer("WAIT_BUYER_PAY", false), &pending).unwrap(),
            UpstreamStatus::NotPaid
        );
        for s in ["TRADE_SUCCESS", "TRADE_FINISHED"] {
            assert!(matches!(
                status(&answer(s, true), &pending).unwrap(),
                UpstreamStatus::Paid {
                    amount: channel_core::Fen(2990),
                    paid_at: Some(_),
                    ..
                }
            ));
        }
        assert_eq!(
            status(&answer("TRADE_CLOSED", false), &pending).unwrap(),
            UpstreamStatus::Closed
        );
    }

    #[test]
    fn trade_closed_after_a_payment_is_a_refund() {
        let pending = order("alipay.qr", OrderStatus::Pending);
        assert_eq!(
            status(&answer("TRADE_CLOSED", true), &pending).unwrap(),
            UpstreamStatus::Refunded
        );
        // Even if the answer did not show it, paygate's own record of the payment decides.
        let paid = order("alipay.qr", OrderStatus::Paid);
        assert_eq!(
            status(&answer("TRADE_CLOSED", false), &paid).unwrap(),
            UpstreamStatus::Refunded
        );
    }

    #[test]
    fn buyer_kind_follows_the_id_shape() {
        let mut o = order("alipay.jsapi", OrderStatus::Created);
        let req = || ::alipay::Order::new("x", channel_core::Fen(1), "s");
        assert!(create_request(req(), &o).is_err());
        o.payer.buyer_id = Some(crate::domain::BuyerId::parse("2088102146225135").unwrap());
        assert!(matches!(
            create_request(req(), &o).unwrap().buyer,
            Buyer::UserId(_)
        ));
        o.payer.buyer_id = Some(crate::domain::BuyerId::parse("074a1CcTG1LelxKe4x").unwrap());
        assert!(matches!(
            create_request(req(), &o).unwrap().buyer,
            Buyer::OpenId(_)
        ));
    }
}
