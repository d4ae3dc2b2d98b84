//! `GET /console/orders`: the order search. Every filter is a query parameter (so a search is a
//! link), parsed into the store's `OrderSearch` with the user's scope; pages follow one another by
//! keyset (`after=<created_at>_<id>` of the last row shown). A value that cannot be what it claims
//! (an order number with spaces, a date that is not one) is reported, and nothing is searched.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{
    Channel, Method, OrderStatus, OutTradeNo, PayMethod, SiteId, Timestamp, is_token,
};
use crate::service::console::{STUCK_AFTER, local_day_start, parse_local_date};
use crate::store::{ListedOrder, MethodFilter, OrderCursor, OrderSearch};

use super::super::ConsoleState;
use super::super::format::{time, yuan};
use super::super::lang::{Lang, Names, remember};
use super::super::page::{Layout, Section, html, internal_error};
use super::super::root::href;
use super::super::session::Signed;

/// Orders per page.
const PAGE: u32 = 50;

const STATUSES: [OrderStatus; 6] = [
    OrderStatus::Created,
    OrderStatus::Pending,
    OrderStatus::Paid,
    OrderStatus::Failed,
    OrderStatus::Closed,
    OrderStatus::Refunded,
];
const CHANNELS: [Channel; 2] = [Channel::Wechat, Channel::Alipay];
const METHODS: [Method; 8] = [
    Method::Native,
    Method::Jsapi,
    Method::Miniapp,
    Method::H5,
    Method::App,
    Method::Qr,
    Method::Wap,
    Method::Page,
];

/// The search form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub(in super::super) struct Params {
    #[serde(default)]
    out_trade_no: String,
    #[serde(default)]
    transaction_id: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    stuck: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    l: Layout,
    p: Params,
    /// The site filter is offered only to users who see several sites.
    sites: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    methods: Vec<(&'static str, &'static str)>,
    /// Labels of the fields that could not be read.
    invalid: Vec<&'static str>,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
}

struct Row {
    href: String,
    created: String,
    site: String,
    out_trade_no: String,
    method: String,
    status: &'static str,
    status_text: &'static str,
    amount: String,
    refunded: String,
}

/// `GET /console/orders`.
pub(in super::super) async fn search(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    Query(p): Query<Params>,
) -> Response {
    let lang = signed.lang;
    let t = lang.strings();
    let scope = signed.user.role.scope();
    let sites = match state.console.sites(&scope).await {
        Ok(sites) => sites,
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be read");
            return internal_error(lang);
        }
    };
    let names: HashMap<String, String> = sites
        .iter()
        .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
        .collect();
    let (search, invalid) = parse(&p, scope.clone(), lang, Timestamp::now());
    let (rows, next) = if invalid.is_empty() {
        match state.console.search(&search).await {
            Ok(page) => (
                page.orders.iter().map(|o| row(o, &names, lang)).collect(),
                page.next,
            ),
            Err(e) => {
                tracing::error!(error = %e, "console: an order search failed");
                return internal_error(lang);
            }
        }
    } else {
        (Vec::new(), None)
    };
    let query_without_after = query_of(&p, None);
    let page = OrdersPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            t.orders_title,
            Section::Orders,
            "/console/orders",
        ),
        sites: if scope.site().is_none() {
            sites
                .iter()
                .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
                .collect()
        } else {
            Vec::new()
        },
        statuses: STATUSES
            .iter()
            .map(|s| (s.as_str(), lang.order_status(*s)))
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|c| (c.as_str(), lang.channel(*c)))
            .collect(),
        methods: METHODS
            .iter()
            .map(|m| (m.as_str(), m.as_str()))
            .chain(std::iter::once(("any", t.method_any)))
            .collect(),
        invalid,
        rows,
        next_href: next
            .map(|cursor| href(&format!("/console/orders?{}", query_of(&p, Some(cursor))))),
        first_href: (!p.after.is_empty())
            .then(|| href(&format!("/console/orders?{query_without_after}"))),
        p,
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

/// The search the fields ask for, within `scope`, and the labels of the fields that could not be
/// read.
fn parse(
    p: &Params,
    scope: crate::domain::Scope,
    lang: Lang,
    now: Timestamp,
) -> (OrderSearch, Vec<&'static str>) {
    let t = lang.strings();
    let mut invalid = Vec::new();
    let mut field = |text: &str, label: &'static str, read: &dyn Fn(&str) -> Option<()>| {
        if !text.trim().is_empty() && read(text.trim()).is_none() {
            invalid.push(label);
        }
    };
    let given = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    field(&p.out_trade_no, t.out_trade_no, &|s| {
        OutTradeNo::parse(s).ok().map(drop)
    });
    field(&p.transaction_id, t.transaction_id, &|s| {
        is_token(s, 1, 64).then_some(())
    });
    field(&p.site, t.site, &|s| SiteId::parse(s).ok().map(drop));
    field(&p.status, t.status, &|s| {
        OrderStatus::parse(s).ok().map(drop)
    });
    field(&p.channel, t.channel, &|s| Channel::parse(s).ok().map(drop));
    field(&p.method, t.method, &|s| method_filter(s).map(drop));
    field(&p.from, t.created_from, &|s| parse_local_date(s).map(drop));
    field(&p.to, t.created_to, &|s| parse_local_date(s).map(drop));
    field(&p.after, t.next_page, &|s| OrderCursor::parse(s).map(drop));
    let search = OrderSearch {
        scope,
        out_trade_no: given(&p.out_trade_no).and_then(|s| OutTradeNo::parse(&s).ok()),
        transaction_id: given(&p.transaction_id),
        site: given(&p.site).and_then(|s| SiteId::parse(&s).ok()),
        status: given(&p.status).and_then(|s| OrderStatus::parse(&s).ok()),
        channel: given(&p.channel).and_then(|s| Channel::parse(&s).ok()),
        method: given(&p.method).and_then(|s| method_filter(&s)),
        created_from: given(&p.from)
            .and_then(|s| parse_local_date(&s))
            .map(local_day_start),
        // Until the end of that day.
        created_before: given(&p.to)
            .and_then(|s| parse_local_date(&s))
            .map(|day| local_day_start(day + 1)),
        stuck_before: (p.stuck == "1").then(|| now.minus(STUCK_AFTER)),
        after: given(&p.after).and_then(|s| OrderCursor::parse(&s)),
        limit: PAGE,
    };
    (search, invalid)
}

fn method_filter(s: &str) -> Option<MethodFilter> {
    if s == "any" {
        return Some(MethodFilter::Any);
    }
    Method::parse(s).ok().map(MethodFilter::Fixed)
}

/// The query string of this search, with `after` as given.
fn query_of(p: &Params, after: Option<OrderCursor>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("out_trade_no", &p.out_trade_no),
        ("transaction_id", &p.transaction_id),
        ("site", &p.site),
        ("status", &p.status),
        ("channel", &p.channel),
        ("method", &p.method),
        ("from", &p.from),
        ("to", &p.to),
        ("stuck", &p.stuck),
    ] {
        if !value.trim().is_empty() {
            q.append_pair(name, value.trim());
        }
    }
    if let Some(after) = after {
        q.append_pair("after", &after.to_param());
    }
    q.finish()
}

fn row(listed: &ListedOrder, names: &HashMap<String, String>, lang: Lang) -> Row {
    let o = &listed.order;
    Row {
        href: href(&format!("/console/orders/{}", o.id.as_i64())),
        created: time(o.created_at),
        site: names
            .get(o.site_id.as_str())
            .cloned()
            .unwrap_or_else(|| o.site_id.as_str().to_owned()),
        out_trade_no: o.out_trade_no.as_str().to_owned(),
        method: method_text(o),
        status: o.status.as_str(),
        status_text: lang.order_status(o.status),
        amount: yuan(o.amount.as_i64()),
        refunded: yuan(listed.refunds.refunded),
    }
}

/// `wechat.native`; `any` for a channel-neutral order no app has paid.
pub(super) fn method_text(o: &crate::domain::Order) -> String {
    if o.is_unbound() {
        "any".to_owned()
    } else {
        PayMethod::to_string(&o.pay_method)
    }
}
