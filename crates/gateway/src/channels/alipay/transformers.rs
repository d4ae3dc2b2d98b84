//! paygate's order → Alipay's request; Alipay's answers → paygate's vocabulary.

use ::alipay::{
    Buyer, CreateRequest, Notification, QueryResponse, RefundQueryRequest, RefundQueryResponse,
    RefundRequest, TradeRef, TradeStatus,
};
use channel_core::Fen;

use super::super::status::{expiry_of, timestamp_of};
use super::super::{AlipayAccount, ChannelError, RefundState, UpstreamStatus};
use crate::domain::{Attach, Order, OrderRequest, OrderStatus, Refund};

/// Alipay's code for a trade it does not have.
pub(super) const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";
/// Alipay's code for "not in a state that allows this" (close of a paid or closed trade).
pub(super) const TRADE_STATUS_ERROR: &str = "ACQ.TRADE_STATUS_ERROR";

/// The characters that delimit Alipay's signed text. Alipay signs notifications as
/// `k=v&k=v…` over raw values, so a value holding them can be re-split into other fields under
/// the same signature (`subject=x&trade_status=TRADE_SUCCESS…`).
const DELIMITERS: [char; 2] = ['&', '='];

/// The first merchant-supplied field of `request` that would reach Alipay's signed fields with a
/// delimiter in it. `subject` (the description) comes back in every notification as it was
/// sent; `passback_params` (attach) is form-encoded first, so it never does; the buyer id is a
/// token. Checked on all three so that a change of encoding cannot open the hole again.
pub(in crate::channels) fn unsignable_field(request: &OrderRequest) -> Option<&'static str> {
    let signed = [
        ("description", Some(request.description.as_str().to_owned())),
        ("attach", request.attach.as_ref().map(passback_params)),
        (
            "payer.buyer_id",
            request
                .payer
                .buyer_id
                .as_ref()
                .map(|b| b.as_str().to_owned()),
        ),
    ];
    signed
        .into_iter()
        .find(|(_, v)| v.as_deref().is_some_and(|v| v.contains(DELIMITERS)))
        .map(|(field, _)| field)
}

/// The subject Alipay gets. Orders are refused at creation when their description holds a
/// delimiter; one stored before that rule still never sends one: each becomes its full-width
/// form (`＆`, `＝`), which reads the same to the payer and splits nothing.
fn subject(description: &str) -> String {
    description.replace('&', "＆").replace('=', "＝")
}

/// Alipay returns passback_params verbatim and asks merchants to URL-encode it; decode with
/// `application/x-www-form-urlencoded` rules (`+` is a space).
fn passback_params(attach: &Attach) -> String {
    url::form_urlencoded::byte_serialize(attach.as_str().as_bytes()).collect()
}

/// The order's content as Alipay gets it, from stored fields only (see the WeChat transformer:
/// a repeat must carry the same content for Alipay to answer it with the same trade).
pub(super) fn order(
    account: &AlipayAccount,
    order: &Order,
) -> Result<::alipay::Order, ChannelError> {
    let mut request = ::alipay::Order::new(
        order.upstream_order_no.as_str(),
        order.amount.fen(),
        subject(order.description.as_str()),
    );
    request.time_expire = Some(expiry_of(order.expires_at)?);
    request.passback_params = order.attach.as_ref().map(passback_params);
    request.notify_url = Some(account.notify_url.clone());
    // Made for profit sharing: Alipay keeps the money frozen for `alipay.trade.order.settle`.
    request.royalty_freeze = order.profit_sharing;
    Ok(request)
}

/// Where Alipay's cashier sends the payer's browser after a WAP or PC page payment: the order's
/// own `return_url` when the site gave one (it knows where its payer should land), else the
/// operator's app-wide one, else none (the cashier then shows the result itself).
pub(super) fn return_url(account: &AlipayAccount, order: &Order) -> Option<String> {
    order
        .return_url
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .or_else(|| account.return_url.clone())
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

/// What a query's answer and a notification both say about a trade, read by one mapping
/// ([`status`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Trade<'a> {
    pub(super) out_trade_no: &'a str,
    pub(super) trade_no: &'a str,
    pub(super) status: TradeStatus,
    /// The order total Alipay recorded (not what the payer paid after discounts).
    pub(super) total_amount: Fen,
    pub(super) paid_at: Option<time::OffsetDateTime>,
    /// Whether the trade shows that it was paid (a payment time, a buyer amount, refund fields).
    pub(super) shows_payment: bool,
}

impl<'a> Trade<'a> {
    pub(super) fn of_query(answer: &'a QueryResponse) -> Self {
        Self {
            out_trade_no: &answer.out_trade_no,
            trade_no: &answer.trade_no,
            status: answer.trade_status,
            total_amount: answer.total_amount,
            paid_at: answer.send_pay_date,
            shows_payment: answer.send_pay_date.is_some()
                || answer.buyer_pay_amount.is_some_and(|f| f.0 > 0),
        }
    }

    pub(super) fn of_notification(n: &'a Notification) -> Self {
        Self {
            out_trade_no: &n.out_trade_no,
            trade_no: &n.trade_no,
            status: n.trade_status,
            total_amount: n.total_amount,
            paid_at: n.gmt_payment,
            shows_payment: n.refund_fee.is_some()
                || n.gmt_payment.is_some()
                || n.gmt_refund.is_some(),
        }
    }
}

/// A trade as paygate sees it, from a query's answer or a notification.
///
/// `TRADE_CLOSED` means "closed unpaid" and also "refunded in full". A trade that was paid shows it
/// ([`Trade::shows_payment`]), and paygate's own record of a payment settles it too: a paid trade
/// can never close unpaid. Refund notifications also say `TRADE_SUCCESS` (with `refund_fee`): the
/// trade was paid, so for an order paygate already has as paid this is a duplicate, and for one it
/// missed it is the payment.
pub(super) fn status(trade: &Trade<'_>, order: &Order) -> Result<UpstreamStatus, ChannelError> {
    if trade.out_trade_no != order.upstream_order_no.as_str() {
        return Err(super::unknown("the answer is about another order"));
    }
    Ok(match trade.status {
        TradeStatus::WaitBuyerPay => UpstreamStatus::NotPaid,
        TradeStatus::TradeSuccess | TradeStatus::TradeFinished => UpstreamStatus::Paid {
            transaction_id: trade.trade_no.to_owned(),
            paid_at: trade.paid_at.map(timestamp_of),
            amount: trade.total_amount,
        },
        TradeStatus::TradeClosed => {
            if trade.shows_payment || known_paid(order) {
                UpstreamStatus::Refunded
            } else {
                UpstreamStatus::Closed
            }
        }
    })
}

fn known_paid(order: &Order) -> bool {
    match order.status {
        OrderStatus::Paid | OrderStatus::Refunded => true,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed | OrderStatus::Closed => {
            false
        }
    }
}

/// The refund as Alipay gets it (`alipay.trade.refund`), from stored fields only: its number
/// (`out_request_no`) makes a re-sent refund the same refund.
pub(super) fn refund_request(order: &Order, refund: &Refund) -> RefundRequest {
    RefundRequest {
        trade: trade_ref(order),
        out_request_no: refund.upstream_refund_no.as_str().to_owned(),
        refund_amount: refund.amount.fen(),
        refund_reason: refund.reason.as_ref().map(|r| subject(r.as_str())),
    }
}

pub(super) fn refund_query(order: &Order, refund: &Refund) -> RefundQueryRequest {
    RefundQueryRequest {
        trade: trade_ref(order),
        out_request_no: refund.upstream_refund_no.as_str().to_owned(),
    }
}

fn trade_ref(order: &Order) -> TradeRef {
    TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned())
}

/// A refund as paygate sees it from `alipay.trade.fastpay.refund.query`. Alipay answers an unknown
/// refund, and one that did not succeed, alike (no `refund_status`): no money moved under this
/// number, so sending the refund (again) is safe.
pub(super) fn refund_state(
    answer: &RefundQueryResponse,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    match answer.refund_status {
        ::alipay::RefundStatus::NotSucceeded => Ok(RefundState::NotFound),
        ::alipay::RefundStatus::Success => {
            if answer.out_request_no.as_deref() != Some(refund.upstream_refund_no.as_str())
                || answer.refund_amount != Some(refund.amount.fen())
            {
                return Err(super::unknown("the answer is about another refund"));
            }
            Ok(RefundState::Succeeded {
                channel_refund_id: answer.trade_no.clone(),
                at: answer.gmt_refund_pay.map(timestamp_of),
            })
        }
    }
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
            status(&Trade::of_query(&answer("WAIT_BUYER_PAY", false)), &pending).unwrap(),
            UpstreamStatus::NotPaid
        );
        for s in ["TRADE_SUCCESS", "TRADE_FINISHED"] {
            assert!(matches!(
                status(&Trade::of_query(&answer(s, true)), &pending).unwrap(),
                UpstreamStatus::Paid {
                    amount: channel_core::Fen(2990),
                    paid_at: Some(_),
                    ..
                }
            ));
        }
        assert_eq!(
            status(&Trade::of_query(&answer("TRADE_CLOSED", false)), &pending).unwrap(),
            UpstreamStatus::Closed
        );
    }

    #[test]
    fn trade_closed_after_a_payment_is_a_refund() {
        let pending = order("alipay.qr", OrderStatus::Pending);
        assert_eq!(
            status(&Trade::of_query(&answer("TRADE_CLOSED", true)), &pending).unwrap(),
            UpstreamStatus::Refunded
        );
        // Even if the answer did not show it, paygate's own record of the payment decides.
        let paid = order("alipay.qr", OrderStatus::Paid);
        assert_eq!(
            status(&Trade::of_query(&answer("TRADE_CLOSED", false)), &paid).unwrap(),
            UpstreamStatus::Refunded
        );
    }

    #[test]
    fn delimiters_in_a_description_are_found_and_never_sent() {
        use crate::domain::{Description, OrderRequest};
        let mut request: OrderRequest = crate::channels::test_order::request("alipay.qr");
        assert_eq!(unsignable_field(&request), None);
        request.description =
            Description::parse("x&total_amount=10.00&trade_status=TRADE_SUCCESS").unwrap();
        assert_eq!(unsignable_field(&request), Some("description"));
        request.description = Description::parse("a=b").unwrap();
        assert_eq!(unsignable_field(&request), Some("description"));
        // attach is form-encoded before it is sent, so it can hold anything.
        request.description = Description::parse("VIP月卡").unwrap();
        request.attach = Some(Attach::parse("a=1&b=2").unwrap());
        assert_eq!(unsignable_field(&request), None);
        assert_eq!(
            passback_params(request.attach.as_ref().unwrap()),
            "a%3D1%26b%3D2"
        );
        // An order stored before the rule: the subject sent carries no delimiter.
        assert_eq!(subject("Tom & Jerry=1"), "Tom ＆ Jerry＝1");
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
