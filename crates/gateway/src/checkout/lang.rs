//! The checkout page's two languages: Chinese by default (the payers of WeChat Pay and Alipay),
//! English when asked for by `?lang=en` or by a browser that prefers English to Chinese. Every
//! string the page shows is in one table per language.

/// A language of the checkout page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=` when it names a language the page has; otherwise the browser's preference between
    /// English and Chinese (`Accept-Language`), Chinese when it has none or ranks them equally.
    #[must_use]
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Self {
        query
            .and_then(Self::from_tag)
            .or_else(|| accept_language.and_then(preferred))
            .unwrap_or(Self::Zh)
    }

    /// The language a tag (`en`, `en-US`, `zh-CN`, `ZH`) names, if the page has it.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else if primary.eq_ignore_ascii_case("zh") {
            Some(Self::Zh)
        } else {
            None
        }
    }

    /// `<html lang=…>`.
    #[must_use]
    pub const fn html_lang(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The value of `?lang=` that asks for this language.
    #[must_use]
    pub const fn param(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// Every string of the page in this language.
    #[must_use]
    pub const fn text(self) -> &'static Text {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }
}

/// Between English and Chinese, the one `Accept-Language` ranks higher (by `q`, then by order);
/// `None` when it names neither.
fn preferred(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';');
        let Some(lang) = parts.next().and_then(Lang::from_tag) else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), quality);
        // A malformed or zero weight is "not acceptable": skip it rather than guess.
        let Some(q) = q.filter(|q| *q > 0) else {
            continue;
        };
        // Strictly greater: of two equal weights the first listed wins.
        if best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// An HTTP quality value (`1`, `0.8`, `0.125`) in thousandths, read without floating point.
fn quality(s: &str) -> Option<u16> {
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match whole {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

/// The strings of the checkout and error pages in one language.
#[derive(Debug)]
pub struct Text {
    pub title: &'static str,
    pub amount_label: &'static str,
    pub scan_wechat: &'static str,
    pub scan_alipay: &'static str,
    pub open_wechat: &'static str,
    pub open_alipay: &'static str,
    pub in_wechat: &'static str,
    pub in_alipay: &'static str,
    pub qr_label: &'static str,
    pub expires_in: &'static str,
    pub order_no: &'static str,
    pub refresh: &'static str,
    pub pending: &'static str,
    pub paid: &'static str,
    pub closed: &'static str,
    pub failed: &'static str,
    pub expired: &'static str,
    pub refunded: &'static str,
    pub returning: &'static str,
    pub back_to_site: &'static str,
    pub sandbox_note: &'static str,
    pub simulate_pay: &'static str,
    pub error_title: &'static str,
    pub error_not_found: &'static str,
    pub error_internal: &'static str,
    pub wechat_pay: &'static str,
    pub alipay: &'static str,
    pub choose: &'static str,
    pub pay_now: &'static str,
    pub to_alipay: &'static str,
    pub continue_to_pay: &'static str,
    pub error_wechat_auth: &'static str,
    pub error_not_payable: &'static str,
    pub error_channel: &'static str,
    /// A combined order's page: what its list of sub-orders is headed with.
    pub combined_items: &'static str,
    /// A combined order's page: the total of its sub-orders.
    pub combined_total: &'static str,
    /// A sub-order's own page: it is paid on its combined order's page, linked with this.
    pub combined_note: &'static str,
    pub combined_link: &'static str,
}

pub static ZH: Text = Text {
    title: "收银台",
    amount_label: "应付金额",
    scan_wechat: "请使用微信扫一扫，扫描二维码完成支付",
    scan_alipay: "请使用支付宝扫一扫，扫描二维码完成支付",
    open_wechat: "前往微信支付",
    open_alipay: "前往支付宝支付",
    in_wechat: "请在微信中完成支付。",
    in_alipay: "请在支付宝中完成支付。",
    qr_label: "支付二维码",
    expires_in: "剩余支付时间",
    order_no: "订单号",
    refresh: "刷新支付状态",
    pending: "等待支付",
    paid: "支付成功",
    closed: "订单已关闭",
    failed: "支付失败",
    expired: "订单已过期，请返回商户重新下单",
    refunded: "订单已退款",
    returning: "正在返回商户页面…",
    back_to_site: "返回商户",
    sandbox_note: "沙箱模式：不会产生真实扣款",
    simulate_pay: "模拟支付",
    error_title: "无法打开支付页面",
    error_not_found: "支付链接无效或已失效，请返回商户重新下单。",
    error_internal: "暂时无法显示订单，请稍后刷新重试。",
    wechat_pay: "微信支付",
    alipay: "支付宝",
    choose: "请选择支付方式",
    pay_now: "立即支付",
    to_alipay: "正在前往支付宝…",
    continue_to_pay: "继续支付",
    error_wechat_auth: "未能获得微信授权，请重新打开支付链接。",
    error_not_payable: "订单已不能支付，请返回支付页面查看订单状态。",
    error_channel: "支付渠道暂时无法下单，请稍后重试。",
    combined_items: "合并支付的订单",
    combined_total: "合计应付",
    combined_note: "此订单与其他订单合并支付。",
    combined_link: "前往合并支付页面",
};

pub static EN: Text = Text {
    title: "Checkout",
    amount_label: "Amount due",
    scan_wechat: "Scan the QR code with WeChat to pay",
    scan_alipay: "Scan the QR code with Alipay to pay",
    open_wechat: "Pay with WeChat",
    open_alipay: "Pay with Alipay",
    in_wechat: "Complete the payment in WeChat.",
    in_alipay: "Complete the payment in Alipay.",
    qr_label: "Payment QR code",
    expires_in: "Time left to pay",
    order_no: "Order",
    refresh: "Refresh payment status",
    pending: "Waiting for payment",
    paid: "Payment successful",
    closed: "Order closed",
    failed: "Payment failed",
    expired: "Order expired; please order again from the merchant",
    refunded: "Order refunded",
    returning: "Returning to the merchant…",
    back_to_site: "Back to the merchant",
    sandbox_note: "Sandbox mode: no real money moves",
    simulate_pay: "Simulate payment",
    error_title: "This payment page cannot be opened",
    error_not_found: "The payment link is invalid or no longer valid; please order again from the merchant.",
    error_internal: "The order cannot be shown right now; please refresh in a moment.",
    wechat_pay: "WeChat Pay",
    alipay: "Alipay",
    choose: "Choose how to pay",
    pay_now: "Pay now",
    to_alipay: "Going to Alipay…",
    continue_to_pay: "Continue to pay",
    error_wechat_auth: "WeChat did not authorise this page; please open the payment link again.",
    error_not_payable: "This order can no longer be paid; go back to the payment page to see its status.",
    error_channel: "The payment channel cannot take the order right now; please try again shortly.",
    combined_items: "Orders paid together",
    combined_total: "Total due",
    combined_note: "This order is paid together with other orders.",
    combined_link: "Go to the combined payment",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_unless_english_is_asked_for_or_preferred() {
        let cases = [
            (None, None, Lang::Zh),
            (Some("en"), None, Lang::En),
            (Some("EN-us"), Some("zh-CN"), Lang::En),
            (Some("zh"), Some("en"), Lang::Zh),
            (Some("fr"), Some("en-US,en;q=0.9"), Lang::En),
            (None, Some("en-US,en"), Lang::En),
            (None, Some("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh),
            (None, Some("en;q=0.5,zh;q=0.8"), Lang::Zh),
            (None, Some("zh;q=0.5,en;q=0.8"), Lang::En),
            (None, Some("fr-FR,en;q=0.3"), Lang::En),
            (None, Some("fr-FR,de"), Lang::Zh),
            (None, Some("en;q=0,zh;q=0.1"), Lang::Zh),
            (None, Some("en;q=0.8,zh;q=0.8"), Lang::En),
            (None, Some("en;q=bogus"), Lang::Zh),
            (None, Some("*"), Lang::Zh),
        ];
        for (query, header, want) in cases {
            assert_eq!(Lang::negotiate(query, header), want, "{query:?} {header:?}");
        }
    }

    #[test]
    fn quality_values_are_read_in_thousandths() {
        assert_eq!(quality("1"), Some(1000));
        assert_eq!(quality("1.000"), Some(1000));
        assert_eq!(quality("0.8"), Some(800));
        assert_eq!(quality("0.125"), Some(125));
        assert_eq!(quality("0"), Some(0));
        for bad in ["1.5", "2", "0.1234", "-0.5", "x", ""] {
            assert_eq!(quality(bad), None, "{bad}");
        }
    }
}
