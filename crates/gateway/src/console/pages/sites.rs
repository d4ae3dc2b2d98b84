//! The sites: `GET /console/sites` lists those within the user's scope (a site user's own only),
//! `GET /console/sites/new` and `POST /console/sites` create one (admins only), and
//! `GET /console/sites/{id}/keys` shows a new SK once.
//!
//! A new SK (a new site's, or a rotated one) is shown after a redirect, never on the answer to the
//! form: reloading that answer would post the form again — a second site, another rotation. The
//! POST makes the change and keeps the SK for the session (`ConsoleService::take_key`: in the
//! database, so any node serves the next page; sealed; for a few minutes), and answers `303` to
//! the keys page, whose first GET takes it; a reload finds it gone and says so. The SK is never in
//! a URL or a log, and every console page is `no-store`.

use std::collections::BTreeSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use crate::domain::{
    AlipayMerchant, AlipaySellerId, AppAuthToken, NotifyUrl, PayMethod, Role, Site, SiteId,
    SiteName, SiteStatus, WechatSubMerchant,
};
use crate::service::{Acting as Actor, ConsoleError};
use crate::store::{KeyShown, NewSite};

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::time;
use super::super::lang::{Lang, Names, remember};
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};

#[derive(Template)]
#[template(path = "console/sites.html")]
struct SitesPage {
    l: Layout,
    may_create: bool,
    rows: Vec<Row>,
}

struct Row {
    href: String,
    name: String,
    id: String,
    ak: String,
    status: &'static str,
    status_text: &'static str,
    methods: String,
    notify_url: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/site_new.html")]
struct NewSitePage {
    l: Layout,
    error: Option<&'static str>,
    name: String,
    notify_url: String,
    /// Every method, and whether it is ticked.
    methods: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "console/site_keys.html")]
struct KeysPage {
    l: Layout,
    name: String,
    site_id: String,
    ak: String,
    /// `None` once it was shown.
    sk: Option<String>,
    back: String,
}

/// `GET /console/sites`.
pub(in super::super) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
) -> Response {
    let lang = signed.lang;
    let sites = match state.console.sites(&signed.user.role.scope()).await {
        Ok(sites) => sites,
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be listed");
            return internal_error(lang);
        }
    };
    let page = SitesPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            lang.manage().sites_title,
            Section::Sites,
            "/console/sites",
        ),
        may_create: signed.user.role == Role::Admin,
        rows: sites.iter().map(|s| row(s, lang)).collect(),
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

fn row(site: &Site, lang: Lang) -> Row {
    Row {
        href: href(&format!("/console/sites/{}", site.id)),
        name: site.name.as_str().to_owned(),
        id: site.id.as_str().to_owned(),
        ak: site.access_key.as_str().to_owned(),
        status: site.status.as_str(),
        status_text: status_text(site.status, lang),
        methods: methods_text(&site.enabled_methods),
        notify_url: site.notify_url.as_ref().map_or_else(
            || lang.manage().no_notify_url.to_owned(),
            |u| u.as_str().to_owned(),
        ),
        created: time(site.created_at),
    }
}

pub(in super::super) fn status_text(status: SiteStatus, lang: Lang) -> &'static str {
    match status {
        SiteStatus::Active => lang.manage().active,
        SiteStatus::Disabled => lang.manage().disabled,
    }
}

pub(in super::super) fn methods_text(methods: &BTreeSet<PayMethod>) -> String {
    methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every method, ticked when `chosen` has it.
pub(in super::super) fn method_boxes(chosen: &BTreeSet<PayMethod>) -> Vec<(String, bool)> {
    PayMethod::all()
        .into_iter()
        .map(|m| (m.to_string(), chosen.contains(&m)))
        .collect()
}

/// `GET /console/sites/new`: the creation form, for admins.
pub(in super::super) async fn new_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
) -> Response {
    if signed.user.role != Role::Admin {
        return refused(&headers);
    }
    let all = PayMethod::all().into_iter().collect();
    new_page(&state, &signed, None, "", "", &all, StatusCode::OK)
}

fn new_page(
    state: &ConsoleState,
    signed: &Signed,
    error: Option<&'static str>,
    name: &str,
    notify_url: &str,
    methods: &BTreeSet<PayMethod>,
    status: StatusCode,
) -> Response {
    let page = NewSitePage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            signed.lang.manage().new_site,
            Section::Sites,
            "/console/sites/new",
        ),
        error,
        name: name.to_owned(),
        notify_url: notify_url.to_owned(),
        methods: method_boxes(methods),
    };
    html(status, &page, signed.lang, None)
}

/// What in a site's form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in super::super) enum BadSite {
    Name,
    NotifyUrl,
    NoMethods,
    SubMerchant,
    AlipayMerchant,
}

impl BadSite {
    pub(in super::super) fn message(self, lang: Lang) -> &'static str {
        match self {
            Self::Name => lang.manage().bad_name,
            Self::NotifyUrl => lang.manage().bad_notify_url,
            Self::NoMethods => lang.manage().no_methods,
            Self::SubMerchant => lang.manage().bad_sub_merchant,
            Self::AlipayMerchant => lang.manage().bad_alipay_merchant,
        }
    }
}

/// The form's name, trimmed and parsed.
pub(in super::super) fn read_name(f: &Fields) -> Result<SiteName, BadSite> {
    SiteName::parse(f.get("name").trim()).map_err(|_| BadSite::Name)
}

/// The form's notify URL: `None` when left empty.
pub(in super::super) fn read_notify_url(f: &Fields) -> Result<Option<NotifyUrl>, BadSite> {
    match f.get("notify_url").trim() {
        "" => Ok(None),
        url => NotifyUrl::parse(url)
            .map(Some)
            .map_err(|_| BadSite::NotifyUrl),
    }
}

/// The form's WeChat Pay sub-merchant: `None` when its number is left empty.
pub(in super::super) fn read_sub_merchant(
    f: &Fields,
) -> Result<Option<WechatSubMerchant>, BadSite> {
    let mchid = f.get("wechat_sub_mchid").trim();
    let appid = f.get("wechat_sub_appid").trim();
    WechatSubMerchant::from_columns(
        Some(mchid).filter(|m| !m.is_empty()),
        Some(appid).filter(|a| !a.is_empty()),
    )
    .map_err(|_| BadSite::SubMerchant)
}

/// The form's Alipay merchant: a new account with its token (both given), removed (`alipay_clear`
/// ticked), or unchanged (`None`: both left empty; the token is never shown back in the form).
pub(in super::super) fn read_alipay_merchant(
    f: &Fields,
) -> Result<Option<Option<AlipayMerchant>>, BadSite> {
    if f.has("alipay_clear") {
        return Ok(Some(None));
    }
    match (
        f.get("alipay_seller_id").trim(),
        f.get("alipay_app_auth_token").trim(),
    ) {
        ("", "") => Ok(None),
        (seller, token) => Ok(Some(Some(AlipayMerchant {
            seller_id: AlipaySellerId::parse(seller).map_err(|_| BadSite::AlipayMerchant)?,
            app_auth_token: AppAuthToken::parse(token).map_err(|_| BadSite::AlipayMerchant)?,
        }))),
    }
}

/// The ticked methods (unknown names are a tampered form: refused like none at all).
pub(in super::super) fn read_methods(f: &Fields) -> Result<BTreeSet<PayMethod>, BadSite> {
    let methods = f
        .all("method")
        .into_iter()
        .map(PayMethod::parse_dotted)
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|_| BadSite::NoMethods)?;
    if methods.is_empty() {
        Err(BadSite::NoMethods)
    } else {
        Ok(methods)
    }
}

/// `POST /console/sites`: creates the site and sends the browser to its keys, shown once there.
pub(in super::super) async fn create(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) {
        return refused(&headers);
    }
    if signed.user.role != Role::Admin {
        return refused(&headers);
    }
    let lang = signed.lang;
    let chosen = read_methods(&f).unwrap_or_default();
    let new = read_name(&f).and_then(|name| {
        Ok(NewSite {
            name,
            notify_url: read_notify_url(&f)?,
            enabled_methods: read_methods(&f)?,
            // Private notify targets are the operator's decision on the command line.
            allow_private_targets: false,
        })
    });
    let new = match new {
        Ok(new) => new,
        Err(bad) => {
            return new_page(
                &state,
                &signed,
                Some(bad.message(lang)),
                f.get("name"),
                f.get("notify_url"),
                &chosen,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    match state.console.create_site(acting, &signed.token, new).await {
        Ok(site) => see_other(&keys_path(&site.id), None),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: a site could not be created");
            internal_error(lang)
        }
    }
}

/// Where a new SK of site `id` is shown once.
pub(in super::super) fn keys_path(id: &SiteId) -> String {
    format!("/console/sites/{id}/keys")
}

/// `GET /console/sites/{id}/keys`: the SK kept for this session by a creation or rotation, shown
/// this once; afterwards (a reload, the back button) the page says it was shown and cannot be
/// shown again.
pub(in super::super) async fn keys(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let lang = signed.lang;
    let Ok(id) = SiteId::parse(&id) else {
        return not_found_page(lang);
    };
    let scope = signed.user.role.scope();
    let (site, key) = match state.console.take_key(&scope, &signed.token, &id).await {
        Ok(found) => found,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: a new SK could not be read");
            return internal_error(lang);
        }
    };
    let m = lang.manage();
    let (title, sk) = match &key {
        Some((KeyShown::Created, sk)) => (m.created_title, Some(sk)),
        Some((KeyShown::Rotated, sk)) => (m.rotated_title, Some(sk)),
        None => (m.keys_shown_title, None),
    };
    let back = format!("/console/sites/{}", site.id);
    let page = KeysPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            title,
            Section::Sites,
            &keys_path(&site.id),
        ),
        name: site.name.as_str().to_owned(),
        site_id: site.id.as_str().to_owned(),
        ak: site.access_key.as_str().to_owned(),
        sk: sk.map(|sk| sk.expose().to_owned()),
        back: href(&back),
    };
    html(StatusCode::OK, &page, lang, None)
}
