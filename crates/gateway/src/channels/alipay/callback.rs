//! Alipay's `trade_status_sync` notifications.
//!
//! Verified by the app's client (RSA2 over the sorted fields without `sign` and `sign_type`;
//! `sign_type` must be `RSA2`, and the notification must name this app), then read with the same
//! mapping as a query's answer ([`transformers::status`]) once it names the merchant account of its
//! order (`seller_id`: the app's own, or the merchant's that authorised the app).
//! Alipay signs raw `k=v&k=v` text, so a notification's fields are not proof of what they say (a
//! `subject` holding `&trade_status=TRADE_SUCCESS…` re-splits into other fields under the same
//! signature): its news is confirmed with a query before it changes anything
//! ([`Confirm::Changes`](super::super::callback::Confirm)). Answered with the plain text `success`
//! when handled, which includes duplicates; anything else makes Alipay retry (about 8 times over
//! 25 hours).

use ::alipay::{NOTIFICATION_ACK, Notification};

use super::super::callback::{
    Callback, NewsPayload, NewsRefusal, Received, Rejection, Reply, ReplyBody, TradeNews,
};
use super::super::{AlipayAccount, UpstreamStatus};
use super::transformers::{self, Trade};
use crate::domain::Order;

/// Verifies and decodes a notification to `account`.
pub(in crate::channels) fn decode(
    account: &AlipayAccount,
    received: Received<'_>,
) -> Result<Callback, Rejection> {
    let body = received.body;
    match account.verifier.verify_notification(body) {
        Ok(n) => Ok(Callback::Trade(TradeNews {
            out_trade_no: n.out_trade_no.clone(),
            payload: NewsPayload::Alipay(Box::new(n)),
        })),
        // The claimed order number is read from the form as sent, not trusted: it only lets
        // paygate ask Alipay about that order sooner, which is how a real payment behind a
        // garbled notification still gets recorded. Attacker-controlled text: quoted, and bounded.
        Err(::alipay::Error::Signature(failure)) => {
            let claimed_order = claimed_field(body, "out_trade_no");
            let detail = format!(
                "Alipay notification to app {} not accepted: {failure}; it claims out_trade_no {:?}, trade_status {:?}",
                account.app_id,
                claimed_order.as_deref().unwrap_or("-"),
                claimed_field(body, "trade_status")
                    .as_deref()
                    .unwrap_or("-"),
            );
            Err(Rejection::Unverified {
                detail,
                claimed_order,
            })
        }
        Err(::alipay::Error::Decode(message)) => Err(Rejection::Invalid(message)),
        Err(
            e @ (::alipay::Error::Transport(_)
            | ::alipay::Error::Upstream { .. }
            | ::alipay::Error::Config(_)),
        ) => Err(Rejection::Error(e.to_string())),
    }
}

/// A field of the form as sent, for identifying what an unverified notification is about only.
fn claimed_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.chars().take(64).collect())
}

/// What a verified notification means for `order`: it must name the merchant account the order is
/// paid to (its Alipay merchant's, or this app's own when configured). Its app was checked when
/// it was verified.
pub(in crate::channels) fn read(
    account: &AlipayAccount,
    n: &Notification,
    order: &Order,
) -> Result<UpstreamStatus, NewsRefusal> {
    let expected = match &order.alipay_seller_id {
        Some(seller) => Some(seller.as_str()),
        None => account.client.seller_id(),
    };
    if expected.is_some() && n.seller_id.as_deref() != expected {
        return Err(NewsRefusal::Mismatch(format!(
            "verified Alipay notification for order {} names seller_id {}; the order is {}'s",
            order.id.as_i64(),
            n.seller_id.as_deref().unwrap_or("-"),
            expected.unwrap_or("-"),
        )));
    }
    transformers::status(&Trade::of_notification(n), order)
        .map_err(|e| NewsRefusal::Malformed(e.to_string()))
}

/// `success` when handled; anything else makes Alipay retry. Alipay only looks for the exact body
/// `success`: the status is for logs and people.
pub(in crate::channels) fn reply(reply: Reply) -> ReplyBody {
    let (status, body) = if reply.accepted {
        (axum::http::StatusCode::OK, NOTIFICATION_ACK)
    } else {
        (reply.status, "fail")
    };
    ReplyBody {
        status,
        content_type: "text/plain; charset=utf-8",
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn received_is_the_exact_text_success_and_anything_else_is_fail() {
        let ok = reply(Reply {
            status: StatusCode::OK,
            accepted: true,
            message: "",
        });
        assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "success"));
        let refused = reply(Reply {
            status: StatusCode::UNAUTHORIZED,
            accepted: false,
            message: "signature verification failed",
        });
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (StatusCode::UNAUTHORIZED, "fail")
        );
        assert_eq!(refused.content_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn an_unverified_notification_names_the_order_it_claims_without_being_believed() {
        let body = b"out_trade_no=pg123&trade_status=TRADE_SUCCESS&sign=forged";
        assert_eq!(
            claimed_field(body, "out_trade_no").as_deref(),
            Some("pg123")
        );
        let long = format!("out_trade_no={}", "9".repeat(500));
        assert_eq!(
            claimed_field(long.as_bytes(), "out_trade_no").map(|v| v.len()),
            Some(64)
        );
        assert_eq!(claimed_field(b"x=1", "out_trade_no"), None);
    }
}
