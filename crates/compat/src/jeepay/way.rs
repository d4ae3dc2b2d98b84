//! How the payer pays (`wayCode`) and what only some ways need (`channelExtra`), for the ways
//! paygate's two channels can serve.

use super::JeepayError;

/// A `wayCode` paygate serves. Jeepay's other ways (bar codes, apps, UnionPay, PayPal) are refused
/// as Jeepay refuses a way it has no channel for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WayCode {
    AliQr,
    AliPc,
    AliWap,
    AliJsapi,
    WxNative,
    WxH5,
    WxJsapi,
    WxLite,
    /// Jeepay's own cashier page, where the payer picks the way.
    QrCashier,
}

const ALL: [WayCode; 9] = [
    WayCode::AliQr,
    WayCode::AliPc,
    WayCode::AliWap,
    WayCode::AliJsapi,
    WayCode::WxNative,
    WayCode::WxH5,
    WayCode::WxJsapi,
    WayCode::WxLite,
    WayCode::QrCashier,
];

impl WayCode {
    /// The code on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AliQr => "ALI_QR",
            Self::AliPc => "ALI_PC",
            Self::AliWap => "ALI_WAP",
            Self::AliJsapi => "ALI_JSAPI",
            Self::WxNative => "WX_NATIVE",
            Self::WxH5 => "WX_H5",
            Self::WxJsapi => "WX_JSAPI",
            Self::WxLite => "WX_LITE",
            Self::QrCashier => "QR_CASHIER",
        }
    }

    /// The way a code names, exactly as spelled (Jeepay compares with `equals`).
    ///
    /// # Errors
    /// `不支持的支付方式` for any other code.
    pub fn parse(code: &str) -> Result<Self, JeepayError> {
        ALL.into_iter()
            .find(|way| way.as_str() == code)
            .ok_or(JeepayError::Invalid("不支持的支付方式"))
    }
}

/// What `channelExtra` carries for the ways paygate serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelExtra {
    /// The WeChat payer (`WX_JSAPI`, `WX_LITE`).
    pub openid: Option<String>,
    /// The Alipay payer (`ALI_JSAPI`).
    pub buyer_user_id: Option<String>,
    /// The form of `payData` asked for (`payurl`, `codeImgUrl`…), as given.
    pub pay_data_type: Option<String>,
}

impl ChannelExtra {
    /// Reads the JSON object text of `channelExtra`; no text is an empty one, as in Jeepay.
    ///
    /// # Errors
    /// `参数有误[channelExtra]` if the text is not a JSON object.
    pub fn parse(text: Option<&str>) -> Result<Self, JeepayError> {
        let Some(text) = text else {
            return Ok(Self::default());
        };
        let malformed = JeepayError::Malformed("channelExtra");
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| malformed.clone())?;
        let object = value.as_object().ok_or(malformed)?;
        // fastjson turns a number into the string field's text, so a numeric openid still counts.
        let text_of = |name: &str| match object.get(name) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(Self {
            openid: text_of("openid"),
            buyer_user_id: text_of("buyerUserId"),
            pay_data_type: text_of("payDataType"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_served_way_reads_back_from_its_code_and_others_are_refused() {
        for way in ALL {
            assert_eq!(WayCode::parse(way.as_str()), Ok(way));
        }
        let refused = Err(JeepayError::Invalid("不支持的支付方式"));
        assert_eq!(WayCode::parse("WX_BAR"), refused);
        assert_eq!(WayCode::parse("wx_native"), refused);
    }

    #[test]
    fn channel_extra_gives_the_payer_and_refuses_what_is_not_an_object() {
        let extra = ChannelExtra::parse(Some(r#"{"openid":"o-123","payDataType":"codeImgUrl"}"#));
        assert_eq!(
            extra,
            Ok(ChannelExtra {
                openid: Some("o-123".into()),
                buyer_user_id: None,
                pay_data_type: Some("codeImgUrl".into()),
            })
        );
        let alipay = ChannelExtra::parse(Some(r#"{"buyerUserId":2088102}"#));
        assert_eq!(alipay.map(|e| e.buyer_user_id), Ok(Some("2088102".into())));
        assert_eq!(ChannelExtra::parse(None), Ok(ChannelExtra::default()));
        let malformed = Err(JeepayError::Malformed("channelExtra"));
        assert_eq!(ChannelExtra::parse(Some("openid=o-123")), malformed);
        assert_eq!(ChannelExtra::parse(Some("[1]")), malformed);
    }
}
