//! Which channel an order goes through and how the payer pays there.

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Wechat,
    Alipay,
}

impl Channel {
    /// # Errors
    /// `InvalidChannel` for anything but `wechat` or `alipay`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "wechat" => Ok(Self::Wechat),
            "alipay" => Ok(Self::Alipay),
            _ => Err(DomainError::InvalidChannel),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Alipay => "alipay",
        }
    }
}

/// A payment method name. Which ones a channel offers is [`PayMethod::new`]'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// WeChat Pay: a QR code (`code_url`) scanned on a PC page.
    Native,
    /// Inside the channel's app browser (WeChat JSAPI, Alipay JSAPI with a buyer id).
    Jsapi,
    Miniapp,
    /// WeChat Pay in a phone browser outside WeChat.
    H5,
    App,
    /// Alipay precreate: a QR code.
    Qr,
    /// Alipay in a phone browser.
    Wap,
    /// Alipay PC page.
    Page,
}

impl Method {
    /// # Errors
    /// `InvalidMethod` for an unknown name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "native" => Ok(Self::Native),
            "jsapi" => Ok(Self::Jsapi),
            "miniapp" => Ok(Self::Miniapp),
            "h5" => Ok(Self::H5),
            "app" => Ok(Self::App),
            "qr" => Ok(Self::Qr),
            "wap" => Ok(Self::Wap),
            "page" => Ok(Self::Page),
            _ => Err(DomainError::InvalidMethod(s.to_owned())),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Jsapi => "jsapi",
            Self::Miniapp => "miniapp",
            Self::H5 => "h5",
            Self::App => "app",
            Self::Qr => "qr",
            Self::Wap => "wap",
            Self::Page => "page",
        }
    }
}

/// A channel and a method it actually offers: the only way to hold a combination is to pass the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayMethod {
    channel: Channel,
    method: Method,
}

impl PayMethod {
    /// # Errors
    /// `MethodNotOnChannel` when the channel does not offer the method (say, Alipay `native`).
    pub fn new(channel: Channel, method: Method) -> Result<Self, DomainError> {
        use Method::{App, H5, Jsapi, Miniapp, Native, Page, Qr, Wap};
        let offered = match channel {
            Channel::Wechat => matches!(method, Native | Jsapi | Miniapp | H5 | App),
            Channel::Alipay => matches!(method, Qr | Jsapi | Miniapp | Wap | Page | App),
        };
        if offered {
            Ok(Self { channel, method })
        } else {
            Err(DomainError::MethodNotOnChannel {
                channel: channel.as_str(),
                method: method.as_str(),
            })
        }
    }

    /// Parses the `channel.method` form used in site settings, such as `wechat.native`.
    ///
    /// # Errors
    /// As [`Channel::parse`], [`Method::parse`] and [`PayMethod::new`].
    pub fn parse_dotted(s: &str) -> Result<Self, DomainError> {
        let (channel, method) = s
            .split_once('.')
            .ok_or_else(|| DomainError::InvalidMethod(s.to_owned()))?;
        Self::new(Channel::parse(channel)?, Method::parse(method)?)
    }

    #[must_use]
    pub fn channel(self) -> Channel {
        self.channel
    }

    #[must_use]
    pub fn method(self) -> Method {
        self.method
    }

    /// What a channel-neutral order stores as its method until an attempt pays it. Never sent
    /// to a channel: see `Order::is_unbound`.
    #[must_use]
    pub fn placeholder() -> Self {
        Self {
            channel: Channel::Wechat,
            method: Method::Native,
        }
    }

    /// Every combination there is, for "enable everything" and for tests.
    #[must_use]
    pub fn all() -> Vec<Self> {
        use Method::{App, H5, Jsapi, Miniapp, Native, Page, Qr, Wap};
        [Channel::Wechat, Channel::Alipay]
            .into_iter()
            .flat_map(|c| [Native, Jsapi, Miniapp, H5, App, Qr, Wap, Page].map(move |m| (c, m)))
            .filter_map(|(c, m)| Self::new(c, m).ok())
            .collect()
    }
}

/// How a site asks for an order to be paid: by one method it fixes, or by whatever app the payer
/// opens the checkout link in (`any`: WeChat JSAPI inside WeChat, Alipay WAP inside Alipay, a
/// choice of WeChat H5 and Alipay WAP in a phone browser, a QR code per method on a desktop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderMethod {
    Fixed(PayMethod),
    Any,
}

impl OrderMethod {
    /// The channel's name, or `any`.
    #[must_use]
    pub fn channel_name(self) -> &'static str {
        match self {
            Self::Fixed(m) => m.channel().as_str(),
            Self::Any => "any",
        }
    }

    /// The method's name, or `any`.
    #[must_use]
    pub fn method_name(self) -> &'static str {
        match self {
            Self::Fixed(m) => m.method().as_str(),
            Self::Any => "any",
        }
    }

    /// The fixed method, if there is one.
    #[must_use]
    pub fn fixed(self) -> Option<PayMethod> {
        match self {
            Self::Fixed(m) => Some(m),
            Self::Any => None,
        }
    }
}

impl From<PayMethod> for OrderMethod {
    fn from(m: PayMethod) -> Self {
        Self::Fixed(m)
    }
}

impl std::fmt::Display for OrderMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(m) => m.fmt(f),
            Self::Any => f.write_str("any"),
        }
    }
}

impl std::fmt::Display for PayMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.channel.as_str(), self.method.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_combinations_are_exactly_the_channels_offers() {
        let all: Vec<String> = PayMethod::all().iter().map(ToString::to_string).collect();
        assert_eq!(
            all,
            [
                "wechat.native",
                "wechat.jsapi",
                "wechat.miniapp",
                "wechat.h5",
                "wechat.app",
                "alipay.jsapi",
                "alipay.miniapp",
                "alipay.app",
                "alipay.qr",
                "alipay.wap",
                "alipay.page",
            ]
        );
        for s in &all {
            assert_eq!(
                PayMethod::parse_dotted(s).map(|p| p.to_string()).as_ref(),
                Ok(s)
            );
        }
    }

    #[test]
    fn invalid_combinations_and_names() {
        for bad in [
            "alipay.native",
            "alipay.h5",
            "wechat.qr",
            "wechat.wap",
            "wechat.page",
        ] {
            let err = PayMethod::parse_dotted(bad).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_method", "method"),
                "{bad}"
            );
        }
        assert_eq!(
            Channel::parse("weixin").unwrap_err().code(),
            "invalid_channel"
        );
        assert_eq!(
            Method::parse("NATIVE").unwrap_err().code(),
            "invalid_method"
        );
        assert!(PayMethod::parse_dotted("wechat").is_err());
    }
}
