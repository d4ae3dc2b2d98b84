//! A plain checkout page (`GET /pay/{wechat,alipay}/checkout?token=ck_…`): amount, description,
//! what to pay with, status. The real page (QR code, countdown, live status) is a later issue.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Html;

use super::Ctx;
use super::error::{ApiError, ErrorBody};
use super::onepass::token_of;
use super::views::rfc3339;
use crate::channels::PayParams;

/// The checkout page of an order.
#[utoipa::path(
    get, path = "/pay/wechat/checkout", tag = "1Pass",
    params(("token" = String, Query, description = "The `ck_…` token of the order's checkout_url")),
    responses(
        (status = 200, description = "An HTML page", content_type = "text/html"),
        (status = 404, description = "order_not_found", body = ErrorBody),
    )
)]
pub async fn page(State(ctx): State<Ctx>, uri: Uri) -> Result<Html<String>, ApiError> {
    let token = token_of(&uri)?;
    let view = ctx.service.by_token(&token).await?;
    let o = &view.order;
    let pay = view
        .pay_params
        .as_ref()
        .map_or_else(|| "<p>Nothing to pay here now.</p>".to_owned(), pay_html);
    let sandbox = if ctx.settings.sandbox {
        "<p class=\"sandbox\">Sandbox mode: no real money moves.</p>"
    } else {
        ""
    };
    Ok(Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>paygate checkout</title>\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}\
         .amount{{font-size:2rem}}.sandbox{{background:#fe9;padding:.5rem}}code{{word-break:break-all}}</style>\
         </head><body>{sandbox}<h1>{desc}</h1><p class=\"amount\">¥{yuan}</p>\
         <p>Order <code>{no}</code> · status <strong id=\"status\">{status}</strong> · expires {expires}</p>\
         {pay}</body></html>",
        desc = escape(o.description.as_str()),
        yuan = o.amount.fen().to_yuan_string(),
        no = escape(o.out_trade_no.as_str()),
        status = o.status.as_str(),
        expires = rfc3339(o.expires_at),
    )))
}

fn pay_html(p: &PayParams) -> String {
    let code = |label: &str, v: &str| format!("<p>{label}: <code>{}</code></p>", escape(v));
    let link = |label: &str, v: &str| {
        let v = escape(v);
        format!("<p><a href=\"{v}\">{label}</a></p>")
    };
    match p {
        PayParams::WechatNative { code_url } => code("Scan with WeChat", code_url),
        PayParams::WechatH5 { h5_url } => link("Pay with WeChat", h5_url),
        PayParams::AlipayQr { qr_code } => code("Scan with Alipay", qr_code),
        PayParams::AlipayWap { url } | PayParams::AlipayPage { url } => {
            link("Pay with Alipay", url)
        }
        PayParams::AlipayJsapi { trade_no } | PayParams::AlipayMiniapp { trade_no } => {
            code("Alipay trade", trade_no)
        }
        PayParams::WechatJsapi(_) | PayParams::WechatMiniapp(_) | PayParams::WechatApp(_) => {
            "<p>Pay inside WeChat.</p>".to_owned()
        }
        PayParams::AlipayApp { .. } => "<p>Pay in the Alipay app.</p>".to_owned(),
    }
}

/// HTML-escapes text for element content and double-quoted attributes.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
