//! The actions on an order, each in two steps: the order page's form posts here and gets a
//! confirmation page (nothing is done yet); its "confirm" button posts the same fields again with
//! `confirm=yes`, and the action runs through `service::console` (the same services as the API and
//! the CLI, with an audit entry), then the browser is sent back to the order page with the outcome.
//!
//! Each POST carries the session's CSRF token (and passed the same-origin check); a viewer's is
//! refused (403) before anything is read; an order outside the user's scope is a 404. A refund's
//! number is chosen at the first step and carried by the confirmation, so a confirmation sent twice
//! is the same refund, not two.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{Amount, OutRefundNo, RefundReason, RefundRequest, Timestamp};
use crate::service::{Acting as Actor, ChannelCheck, ConsoleError, ServiceError};

use super::super::ConsoleState;
use super::super::format::yuan;
use super::super::lang::{Lang, Names, refusal};
use super::super::page::{Section, internal_error, not_found_page, refused, see_other};
use super::super::session::Acting;
use super::confirm::{Confirm, confirm_page};
use super::order::{Notice, order_id, render};

/// What an action's forms send. Missing fields are empty.
#[derive(Debug, Default, Deserialize)]
pub(in super::super) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// `yes` on the confirmation page's form: do it.
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    out_refund_no: String,
}

/// The order actions the console knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Refund,
    Close,
    Query,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "refund" => Some(Self::Refund),
            "close" => Some(Self::Close),
            "query" => Some(Self::Query),
            _ => None,
        }
    }
}

/// `POST /console/orders/{id}/{refund,close,query}`.
pub(in super::super) async fn order_action(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !signed.csrf_ok(&form.csrf) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let (Some(order), Some(action)) = (order_id(&id), Action::parse(&action)) else {
        return not_found_page(lang);
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    let back = format!("/console/orders/{}", order.as_i64());
    let t = lang.strings();
    match action {
        Action::Refund => {
            let request = match refund_request(&form) {
                Ok(request) => request,
                Err(bad) => {
                    let notice = Notice {
                        error: true,
                        text: bad.message(lang).to_owned(),
                    };
                    return render(&state, &signed, &id, Some(notice), StatusCode::BAD_REQUEST)
                        .await;
                }
            };
            if form.confirm != "yes" {
                let question = t
                    .confirm_refund
                    .replace("{amount}", &yuan(request.amount.as_i64()));
                let fields = vec![
                    ("amount", form.amount.trim().to_owned()),
                    ("reason", form.reason.trim().to_owned()),
                    ("out_refund_no", request.out_refund_no.as_str().to_owned()),
                ];
                return confirm(&state, &signed, order, &question, "refund", fields, true).await;
            }
            match state.console.refund(acting, order, request).await {
                Ok(_) => see_other(&format!("{back}?done=refund"), None),
                Err(e) => failed(&state, &signed, &id, e).await,
            }
        }
        Action::Close => {
            if form.confirm != "yes" {
                return confirm(
                    &state,
                    &signed,
                    order,
                    t.confirm_close,
                    "close",
                    Vec::new(),
                    true,
                )
                .await;
            }
            match state.console.close(acting, order).await {
                Ok(_) => see_other(&format!("{back}?done=close"), None),
                Err(e) => failed(&state, &signed, &id, e).await,
            }
        }
        Action::Query => {
            if form.confirm != "yes" {
                return confirm(
                    &state,
                    &signed,
                    order,
                    t.confirm_query,
                    "query",
                    Vec::new(),
                    false,
                )
                .await;
            }
            match state.console.check_now(acting, order).await {
                Ok(ChannelCheck::Answered { said, .. }) => {
                    see_other(&format!("{back}?done=query_{said}"), None)
                }
                Ok(ChannelCheck::Failed { .. }) => {
                    see_other(&format!("{back}?done=query_failed"), None)
                }
                Ok(ChannelCheck::Scheduled { .. }) => {
                    see_other(&format!("{back}?done=query_scheduled"), None)
                }
                Err(e) => failed(&state, &signed, &id, e).await,
            }
        }
    }
}

/// `POST /console/orders/{id}/notifications/{event}/resend`.
pub(in super::super) async fn resend(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    Path((id, event)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !signed.csrf_ok(&form.csrf) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let Some(order) = order_id(&id) else {
        return not_found_page(lang);
    };
    if form.confirm != "yes" {
        let question = lang.strings().confirm_resend.replace("{event}", &event);
        let action = format!("notifications/{event}/resend");
        return confirm(
            &state,
            &signed,
            order,
            &question,
            &action,
            Vec::new(),
            false,
        )
        .await;
    }
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    match state.console.resend(acting, order, &event).await {
        Ok(()) => see_other(
            &format!("/console/orders/{}?done=resend", order.as_i64()),
            None,
        ),
        Err(e) => failed(&state, &signed, &id, e).await,
    }
}

/// What in a refund form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadRefund {
    Amount,
    Reason,
}

impl BadRefund {
    fn message(self, lang: Lang) -> &'static str {
        match self {
            Self::Amount => lang.strings().bad_amount,
            Self::Reason => lang.strings().bad_reason,
        }
    }
}

/// The refund the form asks for: the amount read exactly from yuan into fen
/// (`Amount::parse_yuan`, as `paygate refund create --amount` reads it), the reason, and the
/// refund's number (chosen now at the first step, carried by the confirmation).
fn refund_request(form: &ActionForm) -> Result<RefundRequest, BadRefund> {
    let amount = Amount::parse_yuan(form.amount.trim()).map_err(|_| BadRefund::Amount)?;
    let reason = match form.reason.trim() {
        "" => None,
        text => Some(RefundReason::parse(text).map_err(|_| BadRefund::Reason)?),
    };
    let out_refund_no = match form.out_refund_no.trim() {
        "" => OutRefundNo::generate_for_operator(Timestamp::now()),
        // Only ever the one the first step chose; anything else is a tampered form.
        no => OutRefundNo::parse(no).map_err(|_| BadRefund::Amount)?,
    };
    Ok(RefundRequest {
        out_refund_no,
        amount,
        reason,
        // The site hears of it at its usual notify URL, like any refund of its own.
        notify_url: None,
    })
}

/// The confirmation page of `action` on `order` (still checked to be in the user's scope).
async fn confirm(
    state: &ConsoleState,
    signed: &super::super::session::Signed,
    order: crate::domain::OrderId,
    question: &str,
    action: &str,
    fields: Vec<(&'static str, String)>,
    danger: bool,
) -> Response {
    let lang = signed.lang;
    let scope = signed.user.role.scope();
    let detail = match state.console.order(&scope, order).await {
        Ok(detail) => detail,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: an order could not be read");
            return internal_error(lang);
        }
    };
    let id = order.as_i64();
    let c = Confirm {
        section: Section::Orders,
        question: question.replace("{order}", detail.listed.order.out_trade_no.as_str()),
        action: format!("/console/orders/{id}/{action}"),
        back: format!("/console/orders/{id}"),
        fields,
        danger,
    };
    confirm_page(state, signed, c)
}

/// The order page with why the action was not done.
async fn failed(
    state: &ConsoleState,
    signed: &super::super::session::Signed,
    id: &str,
    e: ConsoleError,
) -> Response {
    let lang = signed.lang;
    let (status, why) = match &e {
        ConsoleError::NotFound => return not_found_page(lang),
        ConsoleError::NotAllowed => return refused(&HeaderMap::new()),
        ConsoleError::Service(ServiceError::Store(_)) => {
            tracing::error!(error = %e, "console: an action failed");
            return internal_error(lang);
        }
        ConsoleError::Service(
            why @ (ServiceError::UpstreamRefused { .. }
            | ServiceError::UpstreamUnknown { .. }
            | ServiceError::Channel(_)),
        ) => (StatusCode::BAD_GATEWAY, why),
        ConsoleError::Service(why) => (StatusCode::CONFLICT, why),
    };
    // The page says it in the user's language; the log keeps the service's own words.
    tracing::info!(error = %e, "console: an action was not done");
    let notice = Notice {
        error: true,
        text: format!("{}{}", lang.strings().refused_action, refusal(lang, why)),
    };
    render(state, signed, id, Some(notice), status).await
}
