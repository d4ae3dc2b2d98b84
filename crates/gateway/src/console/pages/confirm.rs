//! The confirmation step every action that cannot be taken back goes through: the action's form
//! posts its fields, the page asks the question, and its "confirm" button posts the same fields
//! again with `confirm=yes` and the session's CSRF token. Nothing is done before that second post.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::super::ConsoleState;
use super::super::lang::Names;
use super::super::page::{Layout, Section, html};
use super::super::root::href;
use super::super::session::Signed;

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    l: Layout,
    question: String,
    action: String,
    back: String,
    /// Hidden fields carried to the second step.
    fields: Vec<(&'static str, String)>,
    danger: bool,
}

/// What to ask before an action.
pub(in super::super) struct Confirm {
    pub section: Section,
    pub question: String,
    /// Where the confirmation posts: the action's own path.
    pub action: String,
    /// Where "cancel" leads.
    pub back: String,
    /// The action's fields, carried as they were given.
    pub fields: Vec<(&'static str, String)>,
    /// Whether it is shown as dangerous (refunds, disabling, key rotation).
    pub danger: bool,
}

/// The confirmation page of `c` for `signed`.
pub(in super::super) fn confirm_page(
    state: &ConsoleState,
    signed: &Signed,
    c: Confirm,
) -> Response {
    let mut fields = c.fields;
    fields.push(("confirm", "yes".to_owned()));
    fields.push(("csrf", signed.session.csrf_token.clone()));
    let page = ConfirmPage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            signed.lang.strings().confirm_title,
            c.section,
            &c.back,
        ),
        question: c.question,
        action: href(&c.action),
        back: href(&c.back),
        fields,
        danger: c.danger,
    };
    html(StatusCode::OK, &page, signed.lang, None)
}
