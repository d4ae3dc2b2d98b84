//! The H5 pay page: what the payer's phone browser shows at an order's `h5_url`, with a 确认支付
//! button that pays as the sandbox payer would in WeChat, then goes to the `redirect_url` the
//! merchant appended (as WeChat allows), or says 支付成功.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use channel_core::Fen;
use channel_core::html::escape;
use serde::Deserialize;

use super::link::{self, Refusal};
use crate::wechat::Sim;
use crate::wechat::crypto::now_unix;
use crate::wechat::html;
use crate::wechat::oauth::user;
use crate::wechat::payer::{self, Outcome};
use crate::wechat::state::{Order, TradeType};

/// Where the page's button posts (the simulator's own route: WeChat's is inside its app).
pub const PAY_PATH: &str = "/sim/wechat/h5/pay";

/// The page's query, and the button's form: the link's two parameters and where to go after.
#[derive(Debug, Deserialize)]
struct LinkParams {
    prepay_id: Option<String>,
    package: Option<String>,
    redirect_url: Option<String>,
}

/// A link whose parameters are all there and whose `redirect_url`, if any, is an http(s) URL.
struct Link {
    prepay_id: String,
    package: String,
    redirect_url: Option<String>,
}

/// WeChat's words for a link it cannot make sense of.
const BAD_LINK: &str = "商家参数格式有误，请联系商家解决";

/// `GET /cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…[&redirect_url=…]`.
pub async fn show(State(sim): State<Sim>, RawQuery(query): RawQuery) -> Response {
    let link = match parse(query.unwrap_or_default().as_bytes()) {
        Ok(l) => l,
        Err(response) => return *response,
    };
    match payable(&sim, &link) {
        Ok((_, order)) => Html(page(&sim, &order, &link)).into_response(),
        Err(r) => refused(r),
    }
}

/// `POST /sim/wechat/h5/pay` (form `prepay_id`, `package`, `redirect_url?`): the button.
pub async fn pay(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let link = match parse(&body) {
        Ok(l) => l,
        Err(response) => return *response,
    };
    let (key, order) = match payable(&sim, &link) {
        Ok(found) => found,
        Err(r) => return refused(r),
    };
    // The browser that went through web authorisation pays as the same openid.
    let openid = user::from_headers(&headers).map(|u| user::openid(&order.appid, &u));
    if let Err(e) = payer::settle(&sim, &key, &Outcome::Pay { openid }).await {
        // Paid or closed in between, by another tab or the merchant.
        return html::message(e.status, "微信支付", "error", &e.message);
    }
    match link.redirect_url {
        Some(url) => (StatusCode::SEE_OTHER, [(LOCATION, url)]).into_response(),
        None => html::message(
            StatusCode::OK,
            "支付成功",
            "result",
            &format!(
                "{} ¥{}",
                order.description,
                Fen(order.total).to_yuan_string()
            ),
        ),
    }
}

fn parse(raw: &[u8]) -> Result<Link, Box<Response>> {
    let bad = || {
        Box::new(html::message(
            StatusCode::BAD_REQUEST,
            "微信支付",
            "error",
            BAD_LINK,
        ))
    };
    let p: LinkParams = serde_urlencoded::from_bytes(raw).map_err(|_| bad())?;
    let present = |v: Option<String>| v.filter(|v| !v.is_empty());
    let (Some(prepay_id), Some(package)) = (present(p.prepay_id), present(p.package)) else {
        return Err(bad());
    };
    // Kept as parsed: ASCII throughout, so it can go in a Location header as it is.
    let redirect_url = match present(p.redirect_url) {
        None => None,
        Some(u) => Some(
            url::Url::parse(&u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(bad)?
                .to_string(),
        ),
    };
    Ok(Link {
        prepay_id,
        package,
        redirect_url,
    })
}

/// The order behind the link and its key, if the link can still pay it.
fn payable(sim: &Sim, link: &Link) -> Result<(String, Order), Refusal> {
    let (key, order) = sim
        .store
        .read(|s| {
            let key = s.order_by_prepay_id(&link.prepay_id, TradeType::H5)?;
            let order = s.orders.get(&key)?.clone();
            Some((key, order))
        })
        .ok_or(Refusal::Unknown)?;
    link::check(&order, &link.package, now_unix())?;
    Ok((key, order))
}

fn refused(r: Refusal) -> Response {
    html::message(r.status(), "微信支付", "error", r.text())
}

fn page(sim: &Sim, o: &Order, link: &Link) -> String {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=hidden name={name} value=\"{}\">",
            escape(value)
        )
    };
    let redirect = link
        .redirect_url
        .as_deref()
        .map(|u| hidden("redirect_url", u))
        .unwrap_or_default();
    let body = format!(
        "<h1>微信支付</h1>\
         <p id=description>{description}</p>\
         <p id=amount>¥{amount}</p>\
         <form method=post action=\"{action}\">{prepay_id}{package}{redirect}\
         <button type=submit data-testid=\"sim-wechat-h5-pay\">确认支付</button></form>\
         <p><small>商户单号 <code>{out}</code> · WeChat Pay simulator: the button pays as the \
         sandbox payer.</small></p>",
        description = escape(&o.description),
        amount = Fen(o.total).to_yuan_string(),
        action = escape(&format!("{}{PAY_PATH}", sim.ctx.base_url())),
        prepay_id = hidden("prepay_id", &link.prepay_id),
        package = hidden("package", &link.package),
        out = escape(&o.out_trade_no),
    );
    html::page("微信支付", &body)
}
