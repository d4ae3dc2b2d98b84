//! Which app the payer opened a channel-neutral order's link in, from the browser's User-Agent:
//! that decides how the one link pays (JSAPI inside WeChat, WAP inside Alipay, a choice in a phone
//! browser, QR codes on a desktop).

/// Where the checkout page is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// WeChat's in-app browser on a phone: JSAPI after web authorisation.
    WechatApp,
    /// Alipay's in-app browser: a WAP payment.
    AlipayApp,
    /// A browser on a phone (WeCom's included: its browser cannot pay by WeChat JSAPI under an
    /// official account): a choice of WeChat H5 and Alipay WAP.
    PhoneBrowser,
    /// Anything else, WeChat's desktop clients included: a QR code per method.
    Desktop,
}

impl Agent {
    /// Reads a User-Agent. WeCom (`wxwork`) also says `MicroMessenger`, so it is looked for
    /// first; WeChat for Windows and macOS (`WindowsWechat`, `MacWechat`) are desktops, where a
    /// JSAPI payment cannot be made.
    #[must_use]
    pub fn of(user_agent: Option<&str>) -> Self {
        let Some(ua) = user_agent else {
            return Self::Desktop;
        };
        let has = |needle: &str| {
            ua.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        };
        let phone = has("Mobile") || has("Android") || has("iPhone") || has("iPad");
        if has("wxwork") {
            return if phone {
                Self::PhoneBrowser
            } else {
                Self::Desktop
            };
        }
        if has("WindowsWechat") || has("MacWechat") {
            return Self::Desktop;
        }
        if has("MicroMessenger") {
            return Self::WechatApp;
        }
        if has("AlipayClient") {
            return Self::AlipayApp;
        }
        if phone {
            Self::PhoneBrowser
        } else {
            Self::Desktop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_app_and_browser_is_recognised() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2d) NetType/WIFI Language/zh_CN",
                Agent::WechatApp,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S9180) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1110017 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
                Agent::WechatApp,
            ),
            (
                "Mozilla/5.0 (Linux; Android 12; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/98.0.4758.101 Mobile Safari/537.36 wxwork/4.1.16 MicroMessenger/7.0.1 NetType/WIFI Language/zh",
                Agent::PhoneBrowser,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13) XWEB/9129 Flue",
                Agent::Desktop,
            ),
            (
                "Mozilla/5.0 (Linux; U; Android 13; zh-CN; V2219A Build/TP1A.220624.014) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100 Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CNAriver/1.0.0",
                Agent::AlipayApp,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                Agent::PhoneBrowser,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                Agent::Desktop,
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(Agent::of(Some(ua)), want, "{ua}");
        }
        assert_eq!(Agent::of(None), Agent::Desktop);
    }
}
