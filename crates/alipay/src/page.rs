//! Payments the buyer completes in a browser or the Alipay app: no server round trip, only
//! signed parameters handed to the buyer's side (a redirect URL, an auto-submitting form, or the
//! order string the app SDK takes).

use channel_core::html;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use crate::client::Extra;
use crate::order::{Order, biz_with};
use crate::{Client, Error};

/// `alipay.trade.wap.pay` (`QUICK_WAP_PAY`): mobile browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WapPayRequest {
    pub order: Order,
    /// Where the buyer lands after paying (synchronous, unverified hint only).
    pub return_url: Option<String>,
    /// Where the buyer goes when they give up (`quit_url`).
    pub quit_url: Option<String>,
}

/// `alipay.trade.page.pay` (`FAST_INSTANT_TRADE_PAY`): desktop browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePayRequest {
    pub order: Order,
    pub return_url: Option<String>,
}

/// A signed payment to hand to the buyer's browser: either redirect to `url` (GET) or serve
/// `form_html`, which POSTs the same parameters to the gateway by itself.
///
/// For a client [acting for a merchant](Client::acting_for) both carry the merchant's
/// `app_auth_token`, as Alipay requires of every signed call; `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentPage {
    pub url: String,
    pub form_html: String,
}

impl std::fmt::Debug for PaymentPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gateway = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("PaymentPage")
            .field("gateway", &gateway)
            .field("form_html_bytes", &self.form_html.len())
            .finish_non_exhaustive()
    }
}

/// `application/x-www-form-urlencoded` escaping: everything but unreserved characters; space as `%20`
/// (Alipay decodes both `%20` and `+`).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*');

impl Client {
    /// Signs an `alipay.trade.wap.pay` payment.
    ///
    /// # Errors
    /// Only if the request cannot be encoded.
    pub fn wap_pay(&self, req: &WapPayRequest) -> Result<PaymentPage, Error> {
        let mut extra = vec![("product_code", json!("QUICK_WAP_PAY"))];
        if let Some(quit) = &req.quit_url {
            extra.push(("quit_url", json!(quit)));
        }
        let return_url = req.return_url.as_deref();
        self.page("alipay.trade.wap.pay", &req.order, &extra, return_url)
    }

    /// Signs an `alipay.trade.page.pay` payment.
    ///
    /// # Errors
    /// Only if the request cannot be encoded.
    pub fn page_pay(&self, req: &PagePayRequest) -> Result<PaymentPage, Error> {
        let extra = [("product_code", json!("FAST_INSTANT_TRADE_PAY"))];
        let return_url = req.return_url.as_deref();
        self.page("alipay.trade.page.pay", &req.order, &extra, return_url)
    }

    /// The order string for `alipay.trade.app.pay` (`QUICK_MSECURITY_PAY`), which the app passes
    /// to the Alipay SDK unchanged.
    ///
    /// # Errors
    /// Only if the request cannot be encoded.
    pub fn app_pay(&self, order: &Order) -> Result<String, Error> {
        let extra = [("product_code", json!("QUICK_MSECURITY_PAY"))];
        let call = Extra {
            notify_url: order.notify_url.as_deref(),
            return_url: None,
        };
        let params = self.signed_params("alipay.trade.app.pay", &biz_with(order, &extra), call)?;
        Ok(query_string(&params))
    }

    /// Signs a browser payment: the order, the method's own `biz_content` fields, and where the
    /// buyer returns to.
    fn page(
        &self,
        method: &str,
        order: &Order,
        extra: &[(&str, serde_json::Value)],
        return_url: Option<&str>,
    ) -> Result<PaymentPage, Error> {
        let call = Extra {
            notify_url: order.notify_url.as_deref(),
            return_url,
        };
        let params = self.signed_params(method, &biz_with(order, extra), call)?;
        let gateway = self.gateway_url();
        let sep = if gateway.query().is_some() { '&' } else { '?' };
        let url = format!("{gateway}{sep}{}", query_string(&params));
        let mut form = format!(
            "<form name=\"alipaysubmit\" method=\"post\" action=\"{}{sep}charset=utf-8\">\n",
            html::escape(gateway.as_str())
        );
        for (k, v) in &params {
            form.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n",
                html::escape(v)
            ));
        }
        form.push_str("<input type=\"submit\" value=\"Pay\" style=\"display:none\">\n</form>\n");
        form.push_str("<script>document.forms['alipaysubmit'].submit();</script>");
        Ok(PaymentPage {
            url,
            form_html: form,
        })
    }
}

fn query_string(params: &[(&'static str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, FORM)))
        .collect::<Vec<_>>()
        .join("&")
}
