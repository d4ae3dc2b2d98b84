//! `GET /console/orders/{id}`: an order with everything paygate recorded about it, in one
//! timeline, and the actions its status allows (for users who may act). An order outside the
//! user's scope is a 404, exactly like one that does not exist.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{OrderId, OrderStatus, ReceiverResult, Scope, Timestamp};
use crate::service::{ConsoleError, OrderDetail};

use super::super::ConsoleState;
use super::super::format::{plain_yuan, time, time_or_dash, yuan};
use super::super::lang::{Lang, Names, remember};
use super::super::page::{Layout, Section, html, internal_error, not_found_page};
use super::super::root::href;
use super::super::session::Signed;
use super::orders::method_text;

/// A message at the top of the page: what an action did, or why it was not done.
pub(in super::super) struct Notice {
    pub error: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPage {
    l: Layout,
    id: i64,
    notice: Option<Notice>,
    out_trade_no: String,
    status: &'static str,
    status_text: &'static str,
    summary: Vec<(&'static str, String)>,
    may_act: bool,
    can_refund: bool,
    /// What is left to refund, as typed into the amount field.
    refundable_plain: String,
    can_close: bool,
    timeline: Vec<Entry>,
    refunds: Vec<RefundRow>,
    /// Shown only for an order made for profit sharing.
    profit_sharing: bool,
    splits: Vec<SplitRow>,
    notifications: Vec<EventRow>,
}

struct Entry {
    /// Where it goes in the timeline (see `timeline`); `when` is the time it carries.
    order: (i64, usize),
    when: String,
    kind: &'static str,
    text: String,
}

struct RefundRow {
    created: String,
    out_refund_no: String,
    amount: String,
    status: &'static str,
    status_text: &'static str,
    channel_refund_id: String,
}

struct SplitRow {
    created: String,
    out_split_no: String,
    purpose: &'static str,
    amount: String,
    status: &'static str,
    status_text: &'static str,
    /// Each share: its type, account, amount and result.
    receivers: Vec<String>,
}

struct EventRow {
    id: String,
    event_type: &'static str,
    status: &'static str,
    status_text: &'static str,
    created: String,
    attempts: usize,
    resend_action: String,
}

#[derive(Deserialize)]
pub(in super::super) struct Done {
    #[serde(default)]
    pub done: String,
}

/// `GET /console/orders/{id}`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(done): Query<Done>,
    uri: Uri,
) -> Response {
    let notice = done_notice(&done.done, signed.lang);
    let mut response = render(&state, &signed, &id, notice, StatusCode::OK).await;
    if let Some(cookie) = remember(&uri, state.settings.secure()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}

/// An order id as the path gives it; `None` for anything but a positive number.
pub(in super::super) fn order_id(text: &str) -> Option<OrderId> {
    (!text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .map(OrderId::from_i64)
}

/// The order page of `id` for `signed`, with `notice`, answered with `status`.
pub(in super::super) async fn render(
    state: &ConsoleState,
    signed: &Signed,
    id: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = signed.lang;
    let Some(id) = order_id(id) else {
        return not_found_page(lang);
    };
    let scope = signed.user.role.scope();
    let detail = match state.console.order(&scope, id).await {
        Ok(detail) => detail,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: an order could not be read");
            return internal_error(lang);
        }
    };
    let page = page(state, signed, &scope, &detail, notice);
    html(status, &page, lang, None)
}

fn page(
    state: &ConsoleState,
    signed: &Signed,
    scope: &Scope,
    d: &OrderDetail,
    notice: Option<Notice>,
) -> OrderPage {
    let lang = signed.lang;
    let t = lang.strings();
    let o = &d.listed.order;
    let totals = &d.listed.refunds;
    let id = o.id.as_i64();
    // Splits hold part of the payment too: what they took cannot be refunded.
    let refundable = d.listed.refundable();
    let transaction = o
        .upstream
        .transaction_id
        .clone()
        .or_else(|| o.upstream.trade_no.clone())
        .unwrap_or_else(|| "—".to_owned());
    let mut summary = vec![
        (t.site, format!("{} ({})", d.site.name.as_str(), d.site.id)),
        (t.amount, yuan(o.amount.as_i64())),
        (t.refunded, yuan(totals.refunded)),
        (t.refundable, yuan(refundable)),
        (t.method, method_text(o)),
        (t.description, o.description.as_str().to_owned()),
        (t.transaction_id, transaction),
        (t.upstream_no, o.upstream_order_no.as_str().to_owned()),
        (t.created, time(o.created_at)),
        (t.paid_at, time_or_dash(o.paid_at)),
        (t.expires_at, time(o.expires_at)),
        (t.next_check, time_or_dash(d.next_check)),
    ];
    if let Some(origin) = &o.origin {
        // The number that protocol's client knows the order by (EPay's trade_no…).
        let number = crate::domain::compat_trade_no(o.id, o.created_at);
        summary.push((
            t.made_through,
            format!("{} · {number}", origin.protocol.as_str()),
        ));
    }
    if let Some(fee) = d.billed_fee {
        // Beside what was refunded: what the payment cost, once the channel's bill said.
        summary.insert(4, (lang.books().billed_fee, yuan(fee)));
    }
    let may_act = signed.user.role.may_act();
    OrderPage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            &format!("{} {}", t.order_title, o.out_trade_no.as_str()),
            Section::Orders,
            &format!("/console/orders/{id}"),
        ),
        id,
        notice,
        out_trade_no: o.out_trade_no.as_str().to_owned(),
        status: o.status.as_str(),
        status_text: lang.order_status(o.status),
        summary,
        may_act,
        can_refund: may_act && o.status == OrderStatus::Paid && refundable > 0,
        refundable_plain: plain_yuan(refundable.max(0)),
        can_close: may_act && matches!(o.status, OrderStatus::Created | OrderStatus::Pending),
        timeline: timeline(d, scope, lang),
        refunds: d
            .refunds
            .iter()
            .map(|r| RefundRow {
                created: time(r.created_at),
                out_refund_no: r.out_refund_no.as_str().to_owned(),
                amount: yuan(r.amount.as_i64()),
                status: r.status.as_str(),
                status_text: lang.refund_status(r.status),
                channel_refund_id: r
                    .channel_refund_id
                    .clone()
                    .unwrap_or_else(|| "—".to_owned()),
            })
            .collect(),
        profit_sharing: o.profit_sharing,
        splits: d
            .splits
            .iter()
            .map(|s| SplitRow {
                created: time(s.created_at),
                out_split_no: s.out_split_no.as_str().to_owned(),
                purpose: lang.split_purpose(s.purpose),
                amount: yuan(s.amount.as_i64()),
                status: s.status.as_str(),
                status_text: lang.split_status(s.status),
                receivers: s
                    .shares
                    .iter()
                    .map(|share| {
                        format!(
                            "{} {} · {} · {}",
                            share.receiver.kind.as_str(),
                            share.receiver.account.as_str(),
                            yuan(share.receiver.amount.as_i64()),
                            match share.result {
                                ReceiverResult::Pending => lang.pick("待分", "Pending"),
                                ReceiverResult::Succeeded => lang.pick("已分", "Paid"),
                                ReceiverResult::Failed => lang.pick("未分", "Not paid"),
                            }
                        )
                    })
                    .collect(),
            })
            .collect(),
        notifications: d
            .notifications
            .iter()
            .map(|h| EventRow {
                resend_action: href(&format!(
                    "/console/orders/{id}/notifications/{}/resend",
                    h.event.id
                )),
                id: h.event.id.clone(),
                event_type: h.event.event_type.as_str(),
                status: h.event.status.as_str(),
                status_text: lang.notification_status(h.event.status),
                created: time(h.event.created_at),
                attempts: h.attempts.len(),
            })
            .collect(),
    }
}

/// Everything that happened to the order, oldest first. Times are shown to the second, and the
/// times of one second do not tell the order of what happened in it (a transition carries the
/// channel's payment time, in whole seconds, and its notification that time too, while the
/// transition before it carries paygate's clock): within a second, entries go in the order of
/// their kinds (the order's history first, in its recorded order, then pay attempts, refunds,
/// notifications, their deliveries, anomalies).
fn timeline(d: &OrderDetail, scope: &Scope, lang: Lang) -> Vec<Entry> {
    let t = lang.strings();
    let mut entries = Vec::new();
    let mut add = |second: i64, at: Timestamp, kind: &'static str, text: String| {
        let seq = entries.len();
        entries.push(Entry {
            order: (second, seq),
            when: time(at),
            kind,
            text,
        });
    };
    let second = |at: Timestamp| at.as_millis().div_euclid(1000);
    // The history in its recorded order: each entry no earlier than the one before.
    let mut last = i64::MIN;
    for e in &d.history {
        last = last.max(second(e.at));
        let text = format!(
            "{} → {} ({})",
            lang.order_status(e.from),
            lang.order_status(e.to),
            e.reason
        );
        add(last, e.at, t.history_entry, text);
    }
    for a in &d.attempts {
        let text = format!("{} {}", a.pay_method, a.upstream_order_no.as_str());
        add(
            second(a.created_at),
            a.created_at,
            t.pay_attempt_entry,
            text,
        );
    }
    for r in &d.refunds {
        let text = format!(
            "{} ¥{} — {}",
            r.out_refund_no.as_str(),
            yuan(r.amount.as_i64()),
            lang.refund_status(r.status)
        );
        add(second(r.created_at), r.created_at, t.refund_entry, text);
        if let Some(error) = &r.upstream_error {
            let text = format!("{}: {error}", r.out_refund_no.as_str());
            add(second(r.updated_at), r.updated_at, t.refund_entry, text);
        }
    }
    // A site user does not see what a private target (the operator's own network) answered.
    let operator = scope.site().is_none();
    let mut deliveries = Vec::new();
    for h in &d.notifications {
        let text = format!("{} {}", h.event.event_type.as_str(), h.event.id);
        add(
            second(h.event.created_at),
            h.event.created_at,
            t.notification_entry,
            text,
        );
        for a in &h.attempts {
            let outcome = match (a.http_status, &a.error) {
                _ if a.private_target && !operator => "—".to_owned(),
                (Some(status), _) => format!("HTTP {status}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "—".to_owned(),
            };
            let text = format!(
                "{} #{}: {outcome} ({} ms)",
                h.event.id, a.attempt_no, a.latency_ms
            );
            deliveries.push((a.at, text));
        }
    }
    for (at, text) in deliveries {
        add(second(at), at, t.attempt_entry, text);
    }
    for a in &d.anomalies {
        let text = format!("{} ×{}: {}", a.kind, a.occurrences, a.detail);
        add(second(a.at), a.at, t.anomaly_entry, text);
    }
    // Stable, and `seq` follows the kinds' order above.
    entries.sort_by_key(|e| e.order);
    entries
}

/// The message of `?done=` after an action; nothing for anything else.
fn done_notice(done: &str, lang: Lang) -> Option<Notice> {
    let t = lang.strings();
    let text = match done {
        "refund" => t.done_refund.to_owned(),
        "close" => t.done_close.to_owned(),
        "resend" => t.done_resend.to_owned(),
        "query_failed" => t.done_query_failed.to_owned(),
        "query_scheduled" => t.done_query_scheduled.to_owned(),
        _ => {
            let said = done.strip_prefix("query_")?;
            format!("{}{}", t.done_query, lang.upstream(said))
        }
    };
    Some(Notice { error: false, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_positive_numbers_only() {
        assert_eq!(order_id("42"), Some(OrderId::from_i64(42)));
        for bad in ["", "0", "-1", "4 2", "1e3", "99999999999999999999", "abc"] {
            assert_eq!(order_id(bad), None, "{bad:?}");
        }
    }
}
