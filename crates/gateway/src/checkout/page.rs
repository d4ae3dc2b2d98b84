//! The checkout page and its error page as askama templates (`templates/checkout*.html`, compiled
//! into the binary), and how an order becomes the checkout page: everything it shows is decided
//! here from the stored order, so the page is complete with JavaScript off.

use askama::Template;

use super::assets::{SCRIPT, STYLE};
use super::lang::{Lang, Text};
use super::qr;
use super::state::{PageState, mm_ss, seconds_left};
use crate::channels::PayParams;
use crate::domain::{Order, OrderStatus, Timestamp};

/// What the checkout page is made from.
#[derive(Debug)]
pub struct Checkout<'a> {
    pub order: &'a Order,
    /// The order's pay parameters while it is payable.
    pub pay_params: Option<&'a PayParams>,
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
    simulate_action: Option<String>,
    qr_svg: Option<String>,
    hint: Option<&'static str>,
    pay_link: Option<&'a str>,
    pay_link_text: &'static str,
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
        let pay = if state == PageState::Pending {
            c.pay_params
                .map_or_else(PayBlock::default, |p| pay_block(p, t))
        } else {
            PayBlock::default()
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
            status_url: format!(
                "/pay/{}/status?token={token}",
                order.pay_method.channel().as_str()
            ),
            events_url: format!("/pay/events?token={token}"),
            refresh_url,
            return_url,
            redirect: return_url.filter(|_| order.status == OrderStatus::Paid),
            sandbox: c.sandbox,
            simulate_action: (c.sandbox && state == PageState::Pending)
                .then(|| format!("/sandbox/pay?token={token}{}", lang_query('&'))),
            qr_svg: pay.qr,
            hint: pay.hint,
            pay_link: pay.link.map(|(url, _)| url).filter(|u| is_web_url(u)),
            pay_link_text: pay.link.map_or("", |(_, text)| text),
        }
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

fn status_text(state: PageState, t: &'static Text) -> &'static str {
    match state {
        PageState::Pending => t.pending,
        PageState::Paid => t.paid,
        PageState::Closed => t.closed,
        PageState::Failed => t.failed,
        PageState::Expired => t.expired,
        PageState::Refunded => t.refunded,
    }
}

/// How the payer pays on this page, by method.
#[derive(Default)]
struct PayBlock<'a> {
    qr: Option<String>,
    hint: Option<&'static str>,
    link: Option<(&'a str, &'static str)>,
}

fn pay_block<'a>(p: &'a PayParams, t: &'static Text) -> PayBlock<'a> {
    let scan = |data: &str, hint| PayBlock {
        qr: qr::svg(data, t.qr_label),
        hint: Some(hint),
        link: None,
    };
    let note = |hint| PayBlock {
        hint: Some(hint),
        ..PayBlock::default()
    };
    let link = |url, text| PayBlock {
        link: Some((url, text)),
        ..PayBlock::default()
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

/// Only web pages become links: a channel's answer can never make the page link to a script.
fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}
