//! A plain checkout page (`GET /pay/{wechat,alipay}/checkout?token=ck_…`): amount, description,
//! what to pay with, status. The real page (QR code, countdown, live status) is a later issue.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use channel_core::html::escape;
use sha2::{Digest, Sha256};

use super::Ctx;
use super::error::{ApiError, ErrorBody};
use super::onepass::token_of;
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
pub async fn page(State(ctx): State<Ctx>, uri: Uri) -> Response {
    (security_headers(), render(&ctx, &uri).await).into_response()
}

/// The page's style, the only thing it loads: allowed by its hash in the CSP.
const STYLE: &str = "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}\
     .amount{font-size:2rem}.sandbox{background:#fe9;padding:.5rem}code{word-break:break-all}";

/// Sent with the page and its errors. The checkout token is in the URL, so no `Referer` may carry
/// it to a page linked from here (the channel's payment page); the page loads nothing but its own
/// style, so a description that slipped past escaping still could not run a script or send the
/// payer elsewhere by a form; it cannot be framed (clickjacking a payment page); and the answer,
/// which shows the order, is not cached.
fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    let csp = CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        let policy = format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
    });
    [
        (header::CONTENT_SECURITY_POLICY, csp.clone()),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

async fn render(ctx: &Ctx, uri: &Uri) -> Result<Html<String>, ApiError> {
    let token = token_of(uri)?;
    let view = ctx.orders.by_token(&token).await?;
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
         <title>paygate checkout</title><style>{STYLE}</style>\
         </head><body>{sandbox}<h1>{desc}</h1><p class=\"amount\">¥{yuan}</p>\
         <p>Order <code>{no}</code> · status <strong id=\"status\">{status}</strong> · expires {expires}</p>\
         {pay}</body></html>",
        desc = escape(o.description.as_str()),
        yuan = o.amount.fen().to_yuan_string(),
        no = escape(o.out_trade_no.as_str()),
        status = o.status.as_str(),
        expires = o.expires_at.to_rfc3339(),
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
