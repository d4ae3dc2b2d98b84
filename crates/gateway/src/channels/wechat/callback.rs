//! WeChat Pay's notifications (`TRANSACTION.SUCCESS`, `REFUND.*`, `PROFITSHARING.SUCCESS`).
//!
//! Verified by the merchant's client (signature over the raw body, timestamp skew, key id), then
//! decrypted (AEAD_AES_256_GCM with the APIv3 key) and decoded. A transaction is read with the
//! same mapping as a query's answer ([`transformers::status`]), after checking that it names the
//! order's merchant and app. Answered 204 when received, else `{"code":"FAIL","message":…}`,
//! which WeChat Pay retries (15 times over a day).

use wechatpay::{NotificationEvent, PartnerTransaction, Transaction};

use super::super::callback::{
    Callback, NewsPayload, NewsRefusal, Received, RefundNews, RefundNewsPayload, Rejection, Reply,
    ReplyBody, TradeNews,
};
use super::super::{RefundState, UpstreamStatus, WechatAccount};
use super::combine::CombinedNews;
use super::{partner, transformers};
use crate::domain::{Order, Refund};

/// Verifies and decodes a notification to `account`: to its direct merchant's route, or to its
/// service provider's, whose client verifies it.
pub(in crate::channels) async fn decode(
    account: &WechatAccount,
    received: Received<'_>,
) -> Result<Callback, Rejection> {
    let client = match &account.partner {
        Some(p) if p.sp_mchid == received.account && account.mchid != received.account => &p.client,
        _ => &account.client,
    };
    let notification = client
        .verify_notification(received.headers, received.body)
        .await
        .map_err(|e| rejection(received.account, &e))?;
    match notification.event {
        NotificationEvent::TransactionSuccess(t) => Ok(Callback::Trade(TradeNews {
            out_trade_no: t.out_trade_no.clone(),
            payload: NewsPayload::Wechat(Box::new(t)),
        })),
        NotificationEvent::PartnerTransactionSuccess(t) => Ok(Callback::Trade(TradeNews {
            out_trade_no: t.out_trade_no.clone(),
            payload: NewsPayload::WechatPartner(Box::new(t)),
        })),
        NotificationEvent::Refund(r) => Ok(Callback::Refund(RefundNews {
            out_refund_no: r.out_refund_no.clone(),
            payload: RefundNewsPayload::Wechat(Box::new(r)),
        })),
        NotificationEvent::CombineTransactionSuccess(t) => Ok(Callback::Trades(
            CombinedNews::split(t)
                .into_iter()
                .map(|news| TradeNews {
                    out_trade_no: news.sub.out_trade_no.clone(),
                    payload: NewsPayload::WechatCombined(Box::new(news)),
                })
                .collect(),
        )),
        // WeChat Pay tells receivers, not the merchant that split: paygate hears of its own
        // splits when the operator receives its fee.
        NotificationEvent::ProfitSharingSuccess(n) => Ok(Callback::Split {
            upstream_split_no: n.out_order_no,
        }),
        // paygate makes no returns.
        NotificationEvent::ProfitSharingReturn(_) | NotificationEvent::Unmodelled => {
            tracing::warn!(event = %notification.event_type, id = %notification.id, "WeChat Pay notification paygate does not handle");
            Ok(Callback::Ignored)
        }
    }
}

/// Why a notification was not accepted. Its order cannot be identified without trusting it (the
/// resource is encrypted, and decrypting what failed its signature would be trusting it), so no
/// order is claimed: the order's scheduled check still finds out.
fn rejection(mchid: &str, e: &wechatpay::Error) -> Rejection {
    match e {
        // The error names what failed (bad signature, stale timestamp, unknown serial): never the
        // signature itself or anything secret.
        wechatpay::Error::Signature(_) => Rejection::Unverified {
            detail: format!("WeChat Pay callback to merchant {mchid} not accepted: {e}"),
            claimed_order: None,
        },
        // The signature verified, so this is WeChat Pay's message and paygate cannot read it: its
        // APIv3 key is wrong.
        wechatpay::Error::Decrypt => Rejection::Undecryptable {
            detail: format!("WeChat Pay callback to merchant {mchid} not accepted: {e}"),
        },
        wechatpay::Error::Decode(_) => Rejection::Invalid(e.to_string()),
        wechatpay::Error::Transport(_)
        | wechatpay::Error::Upstream { .. }
        | wechatpay::Error::BillHashMismatch { .. }
        | wechatpay::Error::Config(_)
        | wechatpay::Error::InvalidRequest(_) => Rejection::Error(e.to_string()),
    }
}

/// What a verified transaction means for `order`: it must name the order's merchant and the app
/// the order's method pays under; then it reads like a query's answer.
pub(in crate::channels) fn read(
    account: &WechatAccount,
    t: &Transaction,
    order: &Order,
) -> Result<UpstreamStatus, NewsRefusal> {
    if order.sub_merchant.is_some() {
        return Err(NewsRefusal::Mismatch(format!(
            "verified TRANSACTION.SUCCESS for order {} names the direct merchant {}; the order is \
             a sub-merchant's",
            order.id.as_i64(),
            t.merchant.mchid,
        )));
    }
    let expected_appid = account.appids.for_method(order.pay_method.method());
    if t.merchant.mchid != account.mchid || expected_appid != Some(t.merchant.appid.as_str()) {
        return Err(NewsRefusal::Mismatch(format!(
            "verified TRANSACTION.SUCCESS for order {} names mchid {} appid {}; the order is mchid {} appid {}",
            order.id.as_i64(),
            t.merchant.mchid,
            t.merchant.appid,
            account.mchid,
            expected_appid.unwrap_or("-"),
        )));
    }
    transformers::status(t, order).map_err(|e| NewsRefusal::Malformed(e.to_string()))
}

/// What a verified partner transaction means for `order`: it must be a sub-merchant's order and
/// name its service provider, sub-merchant and appids; then it reads like a query's answer.
pub(in crate::channels) fn read_partner(
    account: &WechatAccount,
    t: &PartnerTransaction,
    order: &Order,
) -> Result<UpstreamStatus, NewsRefusal> {
    let (Some(partner), Some(sub)) = (&account.partner, &order.sub_merchant) else {
        return Err(NewsRefusal::Mismatch(format!(
            "verified partner TRANSACTION.SUCCESS for order {} names sub-merchant {}; the order is \
             the direct merchant's",
            order.id.as_i64(),
            t.merchant.sub_mchid,
        )));
    };
    partner::check_merchant(partner, sub, t, order).map_err(NewsRefusal::Mismatch)?;
    transformers::status(t, order).map_err(|e| NewsRefusal::Malformed(e.to_string()))
}

/// What a verified refund notification means for `refund` of `order`: it must name the order's
/// merchant, the order and refund by paygate's numbers, and their amounts; then it reads like a
/// refund query's answer.
pub(in crate::channels) fn read_refund(
    account: &WechatAccount,
    notice: &wechatpay::RefundNotice,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, NewsRefusal> {
    // A direct merchant's notice names `mchid`; a sub-merchant's, `sp_mchid` and `sub_mchid`.
    let named = (
        notice.mchid.as_deref(),
        notice.sp_mchid.as_deref(),
        notice.sub_mchid.as_deref(),
        notice.out_trade_no.as_str(),
        notice.out_refund_no.as_str(),
        notice.amount.refund,
        notice.amount.total,
    );
    let (mchid, sp_mchid, sub_mchid) = match (&order.sub_merchant, &account.partner) {
        (None, _) => (Some(account.mchid.as_str()), None, None),
        (Some(sub), partner) => (
            None,
            // No service provider configured any more: nothing can match.
            Some(partner.as_ref().map_or("-", |p| p.sp_mchid.as_str())),
            Some(sub.sub_mchid.as_str()),
        ),
    };
    let expected = (
        mchid,
        sp_mchid,
        sub_mchid,
        order.upstream_order_no.as_str(),
        refund.upstream_refund_no.as_str(),
        refund.amount.as_i64(),
        order.amount.as_i64(),
    );
    if named != expected {
        return Err(NewsRefusal::Mismatch(format!(
            "verified REFUND notification names (mchid, sp_mchid, sub_mchid, out_trade_no, out_refund_no, refund, total) {named:?}; refund {} is {expected:?}",
            refund.id
        )));
    }
    Ok(transformers::refund_state_of(
        notice.refund_status,
        &notice.refund_id,
        notice.success_time,
    ))
}

/// 204 when received; otherwise WeChat Pay's failure body, which it retries.
pub(in crate::channels) fn reply(reply: Reply) -> ReplyBody {
    if reply.accepted {
        return ReplyBody {
            status: axum::http::StatusCode::NO_CONTENT,
            content_type: "",
            body: String::new(),
        };
    }
    ReplyBody {
        status: reply.status,
        content_type: "application/json",
        body: serde_json::json!({ "code": "FAIL", "message": reply.message }).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn received_is_an_empty_204_and_a_refusal_is_wechat_pays_fail_body() {
        let ok = reply(Reply {
            status: StatusCode::OK,
            accepted: true,
            message: "",
        });
        assert_eq!((ok.status, ok.body.as_str()), (StatusCode::NO_CONTENT, ""));
        let refused = reply(Reply {
            status: StatusCode::BAD_REQUEST,
            accepted: false,
            message: "the notification does not match the order",
        });
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.content_type, "application/json");
        let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"code": "FAIL", "message": "the notification does not match the order"})
        );
    }
}
