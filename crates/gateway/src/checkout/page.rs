//! The checkout page and its error page as askama templates (`templates/checkout*.html`, compiled
//! into the binary), and how an order becomes the checkout page: everything it shows is decided
//! here from the stored order, so the page is complete with JavaScript off.

use askama::Template;

use super::assets::{SCRIPT, STYLE};
use super::lang::{Lang, Text};
use super::qr;
use super::state::{PageState, mm_ss, seconds_left};
use crate::channels::PayParams;
use crate::domain::{Channel, Method, Order, OrderStatus, PayMethod, Timestamp};

/// One way to pay that the page offers.
#[derive(Debug)]
pub enum PayChoice<'a> {
    /// The pay parameters of an upstream order: a QR code to scan, a link to the channel's pay
    /// page, or a note for parameters only an app can use. `method` names it for the sandbox's
    /// "simulate payment" of one of a channel-neutral order's upstream orders.
    Params {
        params: &'a PayParams,
        method: Option<PayMethod>,
    },
    /// A phone browser's choice of app: a link to the route that makes that app's payment.
    App { channel: Channel, href: String },
    /// Inside WeChat: the JSAPI parameters (JSON) the page hands to `WeixinJSBridge`.
    Jsapi { params_json: String },
}

/// What the checkout page is made from.
#[derive(Debug)]
pub struct Checkout<'a> {
    pub order: &'a Order,
    /// How the payer can pay, while the order is payable.
    pub choices: Vec<PayChoice<'a>>,
    pub site_name: &'a str,
    pub lang: Lang,
    /// Whether the language was asked for in the URL (`?lang=`): the page's own links then keep
    /// asking for it.
    pub lang_in_url: bool,
    /// Where this page was asked for, without query (`/checkout/ck_…`,
    /// `/pay/wechat/checkout`): its refresh link reloads it.
    pub path: &'a str,
    pub sandbox: bool,
    pub now: Timestamp,
    /// For a sub-order of a combined order: the combined order's page, where it is paid.
    pub combined_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub struct CheckoutPage<'a> {
    t: &'static Text,
    t_lang: &'static str,
    style: &'static str,
    script: &'static str,
    site_name: &'a str,
    description: &'a str,
    amount: String,
    out_trade_no: &'a str,
    /// paygate's recorded status, where the script starts from.
    recorded: &'static str,
    state: &'static str,
    status_text: &'static str,
    remaining: i64,
    countdown: String,
    status_url: String,
    events_url: String,
    refresh_url: String,
    return_url: Option<&'a str>,
    /// Where a paid page without JavaScript sends the payer (`<meta http-equiv=refresh>`).
    redirect: Option<&'a str>,
    sandbox: bool,
    options: Vec<PayOption>,
    /// JSAPI parameters for `WeixinJSBridge` (inside WeChat).
    jsapi: Option<String>,
    combined_url: Option<&'a str>,
}

/// One way to pay as the template shows it.
#[derive(Default)]
pub struct PayOption {
    /// Which app, when the page offers more than one.
    pub(super) title: Option<&'static str>,
    pub(super) qr_svg: Option<String>,
    pub(super) hint: Option<&'static str>,
    pub(super) link: Option<String>,
    pub(super) link_text: &'static str,
    /// The sandbox's "simulate payment" form action.
    pub(super) simulate: Option<String>,
}

impl<'a> CheckoutPage<'a> {
    #[must_use]
    pub fn new(c: &Checkout<'a>) -> Self {
        let order = c.order;
        let t = c.lang.text();
        let state = PageState::of(order, c.now);
        let token = order.checkout_token.as_str();
        let lang_query = |sep: char| {
            if c.lang_in_url {
                format!("{sep}lang={}", c.lang.param())
            } else {
                String::new()
            }
        };
        let refresh_url = if c.path.starts_with("/checkout/") {
            format!("{}{}", c.path, lang_query('?'))
        } else {
            format!("{}?token={token}{}", c.path, lang_query('&'))
        };
        let several = c.choices.len() > 1;
        let simulate = |method: Option<PayMethod>| {
            let method = method.map_or_else(String::new, |m| format!("&method={m}"));
            (c.sandbox && state == PageState::Pending)
                .then(|| format!("/sandbox/pay?token={token}{method}{}", lang_query('&')))
        };
        let mut jsapi = None;
        let options = if state == PageState::Pending {
            c.choices
                .iter()
                .map(|choice| match choice {
                    PayChoice::Params { params, method } => PayOption {
                        title: several.then(|| app_name(params.channel(), t)),
                        simulate: simulate(*method),
                        ..pay_option(params, t)
                    },
                    PayChoice::App { channel, href } => PayOption {
                        link: Some(href.clone()),
                        link_text: app_name(*channel, t),
                        ..PayOption::default()
                    },
                    PayChoice::Jsapi { params_json } => {
                        jsapi = Some(params_json.clone());
                        PayOption {
                            hint: Some(t.in_wechat),
                            simulate: simulate(PayMethod::new(Channel::Wechat, Method::Jsapi).ok()),
                            ..PayOption::default()
                        }
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let return_url = order.return_url.as_ref().map(|u| u.as_str());
        let remaining = seconds_left(order.expires_at, c.now);
        Self {
            t,
            t_lang: c.lang.html_lang(),
            style: STYLE,
            script: SCRIPT,
            site_name: c.site_name,
            description: order.description.as_str(),
            amount: order.amount.fen().to_yuan_string(),
            out_trade_no: order.out_trade_no.as_str(),
            recorded: order.status.as_str(),
            state: state.as_str(),
            status_text: status_text(state, t),
            remaining,
            countdown: mm_ss(remaining),
            // The status route of either path answers any order; a channel-neutral order's has
            // no channel of its own yet.
            status_url: format!(
                "/pay/{}/status?token={token}",
                order.pay_method.channel().as_str()
            ),
            events_url: format!("/pay/events?token={token}"),
            refresh_url,
            return_url,
            redirect: return_url.filter(|_| order.status == OrderStatus::Paid),
            sandbox: c.sandbox,
            options,
            jsapi,
            combined_url: c.combined_url,
        }
    }
}

/// The page that posts the payer on to a channel's pay page (Alipay's WAP cashier), by itself
/// with JavaScript, by a button without.
#[derive(Template)]
#[template(path = "checkout_redirect.html")]
pub struct OnwardPage {
    t: &'static Text,
    t_lang: &'static str,
    style: &'static str,
    script: &'static str,
    action: String,
    fields: Vec<(String, String)>,
}

impl OnwardPage {
    /// The page for a signed `GET` URL of the channel, sent as a `POST` form of the same
    /// fields. `None` unless the URL is an http(s) URL.
    #[must_use]
    pub fn for_url(url: &str, lang: Lang) -> Option<(Self, String)> {
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return None;
        }
        let origin = parsed.origin().ascii_serialization();
        let fields = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut action = parsed;
        action.set_query(None);
        action.set_fragment(None);
        let page = Self {
            t: lang.text(),
            t_lang: lang.html_lang(),
            style: STYLE,
            script: super::assets::SUBMIT_SCRIPT,
            action: action.to_string(),
            fields,
        };
        Some((page, origin))
    }
}

/// The error page: why the checkout cannot be shown, in words for the payer.
#[derive(Template)]
#[template(path = "checkout_error.html")]
pub struct ErrorPage {
    t: &'static Text,
    t_lang: &'static str,
    style: &'static str,
    message: &'static str,
}

impl ErrorPage {
    /// The page for a link that names no order: a wrong, unknown or malformed token.
    #[must_use]
    pub fn not_found(lang: Lang) -> Self {
        Self::new(lang, lang.text().error_not_found)
    }

    /// The page for a WeChat web authorisation that gave no openid.
    #[must_use]
    pub fn wechat_auth(lang: Lang) -> Self {
        Self::new(lang, lang.text().error_wechat_auth)
    }

    /// The page for an app's route asked for an order that can no longer be paid.
    #[must_use]
    pub fn not_payable(lang: Lang) -> Self {
        Self::new(lang, lang.text().error_not_payable)
    }

    /// The page for a channel that would not take the payment.
    #[must_use]
    pub fn channel(lang: Lang) -> Self {
        Self::new(lang, lang.text().error_channel)
    }

    /// The page for paygate's own failure; the cause is in the logs, never here.
    #[must_use]
    pub fn internal(lang: Lang) -> Self {
        Self::new(lang, lang.text().error_internal)
    }

    fn new(lang: Lang, message: &'static str) -> Self {
        Self {
            t: lang.text(),
            t_lang: lang.html_lang(),
            style: STYLE,
            message,
        }
    }
}

pub(super) fn status_text(state: PageState, t: &'static Text) -> &'static str {
    match state {
        PageState::Pending => t.pending,
        PageState::Paid => t.paid,
        PageState::Closed => t.closed,
        PageState::Failed => t.failed,
        PageState::Expired => t.expired,
        PageState::Refunded => t.refunded,
    }
}

fn app_name(channel: Channel, t: &'static Text) -> &'static str {
    match channel {
        Channel::Wechat => t.wechat_pay,
        Channel::Alipay => t.alipay,
    }
}

/// How the payer pays by one upstream order's parameters.
pub(super) fn pay_option(p: &PayParams, t: &'static Text) -> PayOption {
    let scan = |data: &str, hint| PayOption {
        qr_svg: qr::svg(data, t.qr_label),
        hint: Some(hint),
        ..PayOption::default()
    };
    let note = |hint| PayOption {
        hint: Some(hint),
        ..PayOption::default()
    };
    // Only web pages become links: a channel's answer can never make the page link to a script.
    let link = |url: &str, text| PayOption {
        link: is_web_url(url).then(|| url.to_owned()),
        link_text: text,
        ..PayOption::default()
    };
    match p {
        PayParams::WechatNative { code_url } => scan(code_url, t.scan_wechat),
        PayParams::AlipayQr { qr_code } => scan(qr_code, t.scan_alipay),
        PayParams::WechatH5 { h5_url } => link(h5_url.as_str(), t.open_wechat),
        PayParams::AlipayWap { url } | PayParams::AlipayPage { url } => {
            link(url.as_str(), t.open_alipay)
        }
        // Parameters for an SDK or a JS bridge inside the app: nothing a desktop browser can use.
        PayParams::WechatJsapi(_) | PayParams::WechatMiniapp(_) | PayParams::WechatApp(_) => {
            note(t.in_wechat)
        }
        PayParams::AlipayJsapi { .. }
        | PayParams::AlipayMiniapp { .. }
        | PayParams::AlipayApp { .. } => note(t.in_alipay),
    }
}

fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}
