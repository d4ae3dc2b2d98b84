//! The checkout page of a combined order (合单): the total the payer pays, each sub-order (its
//! site, description and amount), the one payment's way to pay and its live status. It uses the
//! single order's style, script, states and ways to pay; only what it lists differs.

use askama::Template;

use super::assets::{SCRIPT, STYLE};
use super::lang::{Lang, Text};
use super::page::{PayOption, pay_option, status_text};
use super::state::{PageState, mm_ss, seconds_left};
use crate::channels::PayParams;
use crate::domain::{Amount, CombinedOrder, Description, PayerStatus, Timestamp};

/// One sub-order as the payer sees it.
#[derive(Debug)]
pub struct CombinedItem<'a> {
    pub site_name: &'a str,
    pub description: &'a Description,
    pub amount: Amount,
}

/// What the combined order's page is made from.
#[derive(Debug)]
pub struct CombinedCheckout<'a> {
    pub combined: &'a CombinedOrder,
    /// Where the page's token is: `/combined-checkout/ck_…`.
    pub path: &'a str,
    pub status: PayerStatus,
    pub items: Vec<CombinedItem<'a>>,
    /// The platform site's name, which made the combined order.
    pub site_name: &'a str,
    /// The combined payment's parameters, while every sub-order is payable.
    pub pay_params: Option<&'a PayParams>,
    pub lang: Lang,
    pub lang_in_url: bool,
    pub sandbox: bool,
    pub now: Timestamp,
}

/// A sub-order as the template shows it.
pub struct ItemRow<'a> {
    site_name: &'a str,
    description: &'a str,
    amount: String,
}

#[derive(Template)]
#[template(path = "checkout_combined.html")]
pub struct CombinedPage<'a> {
    t: &'static Text,
    t_lang: &'static str,
    style: &'static str,
    script: &'static str,
    site_name: &'a str,
    total: String,
    items: Vec<ItemRow<'a>>,
    recorded: &'static str,
    state: &'static str,
    status_text: &'static str,
    remaining: i64,
    countdown: String,
    status_url: String,
    events_url: String,
    refresh_url: String,
    sandbox: bool,
    option: Option<PayOption>,
    /// The sandbox's "simulate payment" form action: the one payment, for every sub-order.
    simulate: Option<String>,
}

impl<'a> CombinedPage<'a> {
    #[must_use]
    pub fn new(c: &CombinedCheckout<'a>) -> Self {
        let t = c.lang.text();
        let state = PageState::at(
            c.status.status,
            c.status.closed_at,
            c.combined.expires_at,
            c.now,
        );
        let lang = if c.lang_in_url {
            format!("?lang={}", c.lang.param())
        } else {
            String::new()
        };
        let remaining = seconds_left(c.combined.expires_at, c.now);
        let simulate = c
            .combined
            .checkout_token
            .as_ref()
            .filter(|_| c.sandbox && state == PageState::Pending && c.pay_params.is_some())
            .map(|token| {
                let lang = lang.replace('?', "&");
                format!("/sandbox/pay?token={}{lang}", token.as_str())
            });
        let option = c
            .pay_params
            .filter(|_| state == PageState::Pending)
            .map(|params| pay_option(params, t));
        Self {
            t,
            t_lang: c.lang.html_lang(),
            style: STYLE,
            script: SCRIPT,
            site_name: c.site_name,
            total: channel_core::Fen(c.combined.amount_total).to_yuan_string(),
            items: c
                .items
                .iter()
                .map(|i| ItemRow {
                    site_name: i.site_name,
                    description: i.description.as_str(),
                    amount: i.amount.fen().to_yuan_string(),
                })
                .collect(),
            recorded: c.status.status.as_str(),
            state: state.as_str(),
            status_text: status_text(state, t),
            remaining,
            countdown: mm_ss(remaining),
            status_url: format!("{}/status", c.path),
            events_url: format!("{}/events", c.path),
            refresh_url: format!("{}{lang}", c.path),
            sandbox: c.sandbox,
            option,
            simulate,
        }
    }
}
