//! One site: `GET /console/sites/{id}` shows it with the forms its viewer may use, and
//! `POST /console/sites/{id}/{edit,disable,enable,rotate}` acts on it through `service::console`
//! (the rules of who may do what are there: a site user edits their notify URL and rotates their
//! SK, an admin everything, a viewer nothing; another site is a 404). Disabling and rotating the
//! key are confirmed on a page of their own first; the confirmed rotation redirects to the page
//! that shows the new SK once (`sites::keys`). The page shows the site's balance from the ledger
//! and the operator's fee on its orders, and its statement form downloads a day's statement of
//! the site (`statement`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use crate::domain::{Balance, BillDay, FeeSchedule, Role, SiteId, SiteStatus, Timestamp};
use crate::service::{Acting as Actor, ConsoleError, SiteChange, site_right};
use crate::store::SiteUpdate;

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::{time, yuan};
use super::super::lang::{Names, remember};
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};
use super::confirm::{Confirm, confirm_page};
use super::order::{Done, Notice};
use super::site_protocols::{ProtocolRow, rows};
use super::sites::{
    BadSite, keys_path, method_boxes, methods_text, read_alipay_merchant, read_methods, read_name,
    read_notify_url, read_sub_merchant, status_text,
};

#[derive(Template)]
#[template(path = "console/site.html")]
struct SitePage {
    l: Layout,
    notice: Option<Notice>,
    id: String,
    name: String,
    ak: String,
    status: &'static str,
    status_text: &'static str,
    active: bool,
    methods_text: String,
    methods: Vec<(String, bool)>,
    notify_url: String,
    notify_url_text: String,
    /// The WeChat Pay sub-merchant as the summary shows it, and the form's two fields.
    sub_merchant_text: String,
    sub_mchid: String,
    sub_appid: String,
    /// The Alipay merchant's account as the summary shows it (never its token), and the form's.
    alipay_merchant_text: String,
    alipay_seller_id: String,
    created: String,
    orders_href: String,
    failed_href: String,
    balance: BalanceView,
    /// The operator's fee, as a person reads it (`0.60% + 0.00 yuan per order`).
    fee: String,
    /// Where the statement form asks for the file, the day it offers first (yesterday, the
    /// last whole day) and the latest it offers (today).
    statement_action: String,
    statement_day: String,
    statement_max: String,
    /// A site user's own site: their portal.
    portal: bool,
    may_edit: bool,
    may_edit_settings: bool,
    may_rotate: bool,
    may_switch: bool,
    protocols: Vec<ProtocolRow>,
    /// Turning other protocols on and off: the operator's decision.
    may_switch_protocols: bool,
}

/// A site's balance as the page shows it: yuan, each figure the sum of one account's entries.
struct BalanceView {
    paid: String,
    refunded: String,
    fees: String,
    shared: String,
    net: String,
    /// Fen, for tests and scripts reading the page.
    net_fen: i64,
}

impl From<Balance> for BalanceView {
    fn from(b: Balance) -> Self {
        Self {
            paid: yuan(b.paid),
            refunded: yuan(b.refunded),
            fees: yuan(b.fees),
            shared: yuan(b.shared),
            net: yuan(b.net()),
            net_fen: b.net(),
        }
    }
}

/// `60` bps and `0` fen → `0.60% + 0.00 …`, in the page's words; integers only.
fn fee_text(schedule: FeeSchedule, template: &str) -> String {
    let bps = schedule.rate_bps();
    template
        .replace("{rate}", &format!("{}.{:02}", bps / 100, bps % 100))
        .replace("{fixed}", &yuan(schedule.fixed_fen()))
}

/// `GET /console/sites/{id}`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(done): Query<Done>,
    uri: Uri,
) -> Response {
    let m = signed.lang.manage();
    let notice = match done.done.as_str() {
        "edit" => Some(m.done_edit),
        "disable" => Some(m.done_disable),
        "enable" => Some(m.done_enable),
        "protocol-off" => Some(m.done_protocol_off),
        "protocol-unchanged" => Some(m.protocol_unchanged),
        _ => None,
    }
    .map(|text| Notice {
        error: false,
        text: text.to_owned(),
    });
    let mut response = render(&state, &signed, &id, notice, StatusCode::OK).await;
    if let Some(cookie) = remember(&uri, state.settings.secure()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}

/// The page of site `id` for `signed`, with `notice`, answered with `status`.
async fn render(
    state: &ConsoleState,
    signed: &Signed,
    id: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = signed.lang;
    let Ok(id) = SiteId::parse(id) else {
        return not_found_page(lang);
    };
    let site = match state.console.site(&signed.user.role.scope(), &id).await {
        Ok(site) => site,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: a site could not be read");
            return internal_error(lang);
        }
    };
    let protocols = match state
        .console
        .site_protocols(&signed.user.role.scope(), &site.id)
        .await
    {
        Ok(on) => rows(&on),
        Err(e) => {
            tracing::error!(error = %e, "console: a site's protocols could not be read");
            return internal_error(lang);
        }
    };
    let (balance, fee) = match state
        .console
        .site_money(&signed.user.role.scope(), &site.id)
        .await
    {
        Ok(money) => money,
        Err(e) => {
            tracing::error!(error = %e, "console: a site's balance could not be read");
            return internal_error(lang);
        }
    };
    let role = &signed.user.role;
    let may = |change| site_right(role, &site.id, change).is_ok();
    let path = format!("/console/sites/{}", site.id);
    let today = BillDay::of(Timestamp::now());
    let page = SitePage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            site.name.as_str(),
            Section::Sites,
            &path,
        ),
        notice,
        id: site.id.as_str().to_owned(),
        name: site.name.as_str().to_owned(),
        ak: site.access_key.as_str().to_owned(),
        status: site.status.as_str(),
        status_text: status_text(site.status, lang),
        active: site.status == SiteStatus::Active,
        methods_text: methods_text(&site.enabled_methods),
        methods: method_boxes(&site.enabled_methods),
        notify_url: site
            .notify_url
            .as_ref()
            .map_or_else(String::new, |u| u.as_str().to_owned()),
        notify_url_text: site.notify_url.as_ref().map_or_else(
            || lang.manage().no_notify_url.to_owned(),
            |u| u.as_str().to_owned(),
        ),
        sub_merchant_text: site.wechat_sub_merchant.as_ref().map_or_else(
            || lang.manage().sub_merchant_none.to_owned(),
            |m| match &m.sub_appid {
                Some(appid) => format!("{} · {appid}", m.sub_mchid),
                None => m.sub_mchid.to_string(),
            },
        ),
        sub_mchid: site
            .wechat_sub_merchant
            .as_ref()
            .map_or_else(String::new, |m| m.sub_mchid.to_string()),
        sub_appid: site
            .wechat_sub_merchant
            .as_ref()
            .and_then(|m| m.sub_appid.as_ref())
            .map_or_else(String::new, ToString::to_string),
        alipay_merchant_text: site.alipay_merchant.as_ref().map_or_else(
            || lang.manage().sub_merchant_none.to_owned(),
            |m| format!("{} · {}", m.seller_id, lang.manage().alipay_token_set),
        ),
        alipay_seller_id: site
            .alipay_merchant
            .as_ref()
            .map_or_else(String::new, |m| m.seller_id.to_string()),
        created: time(site.created_at),
        orders_href: href(&format!("/console/orders?site={}", site.id)),
        failed_href: href(&format!(
            "/console/notifications?status=failed&site={}",
            site.id
        )),
        balance: balance.into(),
        fee: fee_text(fee, lang.books().fee_text),
        statement_action: href(&format!("/console/sites/{}/statement", site.id)),
        statement_day: today.previous().to_string(),
        statement_max: today.to_string(),
        portal: matches!(role, Role::Site(_)),
        may_edit: may(SiteChange::NotifyUrl),
        may_edit_settings: may(SiteChange::Settings),
        may_rotate: may(SiteChange::RotateKey),
        may_switch: may(SiteChange::Status),
        protocols,
        may_switch_protocols: may(SiteChange::Settings),
    };
    html(status, &page, lang, None)
}

/// What can be done to a site from its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Edit,
    Disable,
    Enable,
    Rotate,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "edit" => Some(Self::Edit),
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            "rotate" => Some(Self::Rotate),
            _ => None,
        }
    }
}

/// `POST /console/sites/{id}/{edit,disable,enable,rotate}`.
pub(in super::super) async fn act(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let (Ok(site_id), Some(action)) = (SiteId::parse(&id), Action::parse(&action)) else {
        return not_found_page(lang);
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    let back = format!("/console/sites/{site_id}");
    let m = lang.manage();
    let confirmed = f.get("confirm") == "yes";
    let outcome = match action {
        Action::Edit => {
            let update = match edit_of(&f) {
                Ok(update) => update,
                Err(bad) => {
                    let notice = Notice {
                        error: true,
                        text: bad.message(lang).to_owned(),
                    };
                    return render(&state, &signed, &id, Some(notice), StatusCode::BAD_REQUEST)
                        .await;
                }
            };
            state
                .console
                .edit_site(acting, &site_id, update)
                .await
                .map(|_| see_other(&format!("{back}?done=edit"), None))
        }
        Action::Disable | Action::Enable | Action::Rotate if !confirmed => {
            let (change, question, danger) = match action {
                Action::Disable => (SiteChange::Status, m.confirm_disable, true),
                Action::Enable => (SiteChange::Status, m.confirm_enable, false),
                _ => (SiteChange::RotateKey, m.confirm_rotate, true),
            };
            ask(&state, &signed, &site_id, change, question, action, danger).await
        }
        Action::Disable | Action::Enable => {
            let (status, done) = if action == Action::Disable {
                (SiteStatus::Disabled, "disable")
            } else {
                (SiteStatus::Active, "enable")
            };
            state
                .console
                .set_site_status(acting, &site_id, status)
                .await
                .map(|_| see_other(&format!("{back}?done={done}"), None))
        }
        Action::Rotate => state
            .console
            .rotate_site_key(acting, &signed.token, &site_id)
            .await
            .map(|()| see_other(&keys_path(&site_id), None)),
    };
    match outcome {
        Ok(response) => response,
        Err(ConsoleError::NotFound) => not_found_page(lang),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: a site action failed");
            internal_error(lang)
        }
    }
}

/// The confirmation page of `action` on `site`, if the user may make `change` to it (another
/// site is not found, a change they may not make refused, before anything is asked).
async fn ask(
    state: &ConsoleState,
    signed: &Signed,
    site: &SiteId,
    change: SiteChange,
    question: &str,
    action: Action,
    danger: bool,
) -> Result<Response, ConsoleError> {
    site_right(&signed.user.role, site, change)?;
    let site = state.console.site(&signed.user.role.scope(), site).await?;
    let back = format!("/console/sites/{}", site.id);
    let c = Confirm {
        section: Section::Sites,
        question: question.replace("{site}", site.name.as_str()),
        action: format!("{back}/{}", action_name(action)),
        back,
        fields: Vec::new(),
        danger,
    };
    Ok(confirm_page(state, signed, c))
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Edit => "edit",
        Action::Disable => "disable",
        Action::Enable => "enable",
        Action::Rotate => "rotate",
    }
}

/// The change an edit form asks for: the notify URL always (empty removes it); the name, the
/// methods and the WeChat Pay sub-merchant when the form has them (an admin's form; a site user's
/// has the notify URL only).
fn edit_of(f: &Fields) -> Result<SiteUpdate, BadSite> {
    Ok(SiteUpdate {
        name: if f.has("name") {
            Some(read_name(f)?)
        } else {
            None
        },
        notify_url: if f.has("notify_url") {
            Some(read_notify_url(f)?)
        } else {
            None
        },
        enabled_methods: if f.has("methods_shown") {
            Some(read_methods(f)?)
        } else {
            None
        },
        allow_private_targets: None,
        wechat_sub_merchant: if f.has("sub_merchant_shown") {
            Some(read_sub_merchant(f)?)
        } else {
            None
        },
        alipay_merchant: if f.has("sub_merchant_shown") {
            read_alipay_merchant(f)?
        } else {
            None
        },
    })
}
