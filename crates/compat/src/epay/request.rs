//! EPay requests, read from their fields after the signature (or the key) has been checked: the
//! payment of `submit.php` and `mapi.php`, and `api.php`'s order query and refund. The checks and
//! their messages are the EPay server's, in its order.

use std::collections::BTreeMap;

use super::EpayError;
use super::money::parse_money;
use crate::Params;

/// A request's parameters, one value per key: the last one received, as PHP keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    #[must_use]
    pub fn from_params(params: &Params) -> Self {
        Self(params.iter().cloned().collect())
    }

    /// Every field, for the signature.
    #[must_use]
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field's value unless it is missing or blank (PHP's `empty` for a string, but `"0"` is
    /// a value here: no order number or amount of paygate's is zero by accident).
    #[must_use]
    pub fn value(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The merchant id, `pid`: digits only.
    ///
    /// # Errors
    /// Missing, zero or not a number.
    pub fn pid(&self) -> Result<i64, EpayError> {
        self.value("pid")
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|&pid| pid > 0)
            .ok_or_else(|| EpayError::invalid("商户ID不能为空"))
    }

    fn required(&self, key: &str, msg: &'static str) -> Result<String, EpayError> {
        self.value(key)
            .map(str::to_owned)
            .ok_or_else(|| EpayError::invalid(msg))
    }
}

/// Which payment endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayEntry {
    /// `submit.php`: the payer's browser, sent on to pay; `return_url` required, `type` optional.
    Submit,
    /// `mapi.php`: the merchant's server, answered with JSON; `type` and `clientip` required.
    Mapi,
}

/// The payment methods paygate offers under EPay's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayType {
    Alipay,
    Wxpay,
}

impl PayType {
    /// The name EPay uses, which the notification's `type` carries.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alipay => "alipay",
            Self::Wxpay => "wxpay",
        }
    }

    /// `alipay` or `wxpay`; any other name (`qqpay`, `bank`…) is not a method paygate has.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "alipay" => Some(Self::Alipay),
            "wxpay" => Some(Self::Wxpay),
            _ => None,
        }
    }
}

/// Where the payer is paying, from `mapi.php`'s `device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// A computer's browser (the default).
    Pc,
    /// A phone's browser.
    Mobile,
    /// Inside WeChat.
    Wechat,
    /// Inside Alipay.
    Alipay,
    /// Any other app (QQ, the merchant's): a phone browser as far as paygate can tell.
    OtherApp,
    /// "Only a pay URL".
    Jump,
}

impl Device {
    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("mobile") => Self::Mobile,
            Some("wechat") => Self::Wechat,
            Some("alipay") => Self::Alipay,
            Some("qq" | "app") => Self::OtherApp,
            Some("jump") => Self::Jump,
            _ => Self::Pc,
        }
    }
}

/// A payment request of `submit.php` or `mapi.php`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    pub pid: i64,
    /// `None` when not given: the payer chooses on the checkout page. A name paygate does not have
    /// (`qqpay`) is also `None`: the EPay server, too, sends such a payer to its cashier.
    pub pay_type: Option<PayType>,
    pub out_trade_no: String,
    pub notify_url: String,
    pub return_url: Option<String>,
    /// At most 127 bytes, cut on a character boundary as the server cuts it.
    pub name: String,
    pub money_fen: i64,
    /// Returned unchanged in the notification, when not empty.
    pub param: Option<String>,
    pub device: Device,
    /// The payer's IP address (`mapi.php`).
    pub clientip: Option<String>,
}

const NAME_LIMIT: usize = 127;

fn cut_name(name: &str) -> String {
    let mut end = name.len().min(NAME_LIMIT);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

fn out_trade_no_is_valid(no: &str) -> bool {
    no.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'|'))
}

/// Whether `ip` is an IPv4 or IPv6 address, as PHP's `FILTER_VALIDATE_IP` checks.
#[must_use]
pub fn ip_is_valid(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok()
}

impl PayRequest {
    /// Reads a payment request whose signature was verified.
    ///
    /// # Errors
    /// The EPay server's message for the first field that is missing or malformed.
    pub fn parse(fields: &Fields, entry: PayEntry) -> Result<Self, EpayError> {
        let pid = fields.pid()?;
        let raw_type = fields.value("type");
        let out_trade_no = fields.required("out_trade_no", "订单号(out_trade_no)不能为空")?;
        let notify_url = fields.required("notify_url", "通知地址(notify_url)不能为空")?;
        let return_url = fields.value("return_url").map(str::to_owned);
        if entry == PayEntry::Submit && return_url.is_none() {
            return Err(EpayError::invalid("回调地址(return_url)不能为空"));
        }
        let name = fields.required("name", "商品名称(name)不能为空")?;
        let money = fields.required("money", "金额(money)不能为空")?;
        let clientip = fields.value("clientip").map(str::to_owned);
        if entry == PayEntry::Mapi {
            if raw_type.is_none() {
                return Err(EpayError::invalid("支付方式(type)不能为空"));
            }
            if clientip.is_none() {
                return Err(EpayError::invalid("用户IP地址(clientip)不能为空"));
            }
        }
        if !out_trade_no_is_valid(&out_trade_no) {
            return Err(EpayError::invalid("订单号(out_trade_no)格式不正确"));
        }
        let money_fen = parse_money(&money).ok_or_else(|| EpayError::invalid("金额不合法"))?;
        if clientip.as_deref().is_some_and(|ip| !ip_is_valid(ip)) {
            return Err(EpayError::invalid("用户IP地址不合法"));
        }
        Ok(Self {
            pid,
            pay_type: raw_type.and_then(PayType::parse),
            out_trade_no,
            notify_url,
            return_url,
            name: cut_name(&name),
            money_fen,
            param: fields.value("param").map(str::to_owned),
            device: Device::parse(fields.value("device")),
            clientip,
        })
    }
}

/// Which order a query or refund names: paygate's `trade_no` wins over the merchant's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    TradeNo(String),
    OutTradeNo(String),
}

impl OrderRef {
    fn of(fields: &Fields) -> Result<Self, EpayError> {
        if let Some(no) = fields.value("trade_no") {
            return Ok(Self::TradeNo(no.to_owned()));
        }
        fields
            .value("out_trade_no")
            .map(|no| Self::OutTradeNo(no.to_owned()))
            .ok_or_else(EpayError::missing_order_no)
    }
}

/// `api.php?act=order`: the merchant's key is sent as it is (V1 signs nothing here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    pub pid: i64,
    pub key: String,
    pub order: OrderRef,
}

impl OrderQuery {
    /// # Errors
    /// No merchant id (`-3`, as an unknown one) or no order number (`-4`).
    pub fn parse(fields: &Fields) -> Result<Self, EpayError> {
        let pid = fields.pid().map_err(|_| EpayError::unknown_merchant())?;
        Ok(Self {
            pid,
            key: fields.value("key").unwrap_or_default().to_owned(),
            order: OrderRef::of(fields)?,
        })
    }
}

/// `api.php?act=refund` (POST): a refund of `money` yuan of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub pid: i64,
    pub key: String,
    pub order: OrderRef,
    pub money_fen: i64,
    /// The merchant's refund number, which newer clients send; without one every call is a new
    /// refund, as with the EPay server.
    pub out_refund_no: Option<String>,
}

impl RefundRequest {
    /// Reads the refund after the key: the caller checks the key between [`Fields::pid`] and this.
    ///
    /// # Errors
    /// `金额输入错误` for a malformed or non-positive amount; no order number (`-4`).
    pub fn parse(fields: &Fields) -> Result<Self, EpayError> {
        let pid = fields.pid().map_err(|_| EpayError::unknown_merchant())?;
        let money_fen = fields
            .value("money")
            .map(str::trim)
            .and_then(parse_money)
            .ok_or_else(|| EpayError::invalid("金额输入错误"))?;
        Ok(Self {
            pid,
            key: fields.value("key").unwrap_or_default().to_owned(),
            order: OrderRef::of(fields)?,
            money_fen,
            out_refund_no: fields.value("out_refund_no").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_params(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn submit() -> Vec<(&'static str, &'static str)> {
        vec![
            ("pid", "1001"),
            ("out_trade_no", "A.b_c-1|2"),
            ("notify_url", "https://shop.example/notify"),
            ("return_url", "https://shop.example/return"),
            ("name", "VIP"),
            ("money", "10.5"),
        ]
    }

    #[test]
    fn a_submit_without_type_goes_to_the_checkout_and_an_unknown_type_too() {
        let r = PayRequest::parse(&fields(&submit()), PayEntry::Submit).unwrap();
        assert_eq!((r.pid, r.money_fen, r.pay_type), (1001, 1050, None));
        assert_eq!(r.out_trade_no, "A.b_c-1|2");
        let mut with_type = submit();
        with_type.push(("type", "wxpay"));
        let r = PayRequest::parse(&fields(&with_type), PayEntry::Submit).unwrap();
        assert_eq!(r.pay_type, Some(PayType::Wxpay));
        with_type.push(("type", "qqpay"));
        let r = PayRequest::parse(&fields(&with_type), PayEntry::Submit).unwrap();
        assert_eq!(r.pay_type, None, "the last value of a repeated key counts");
    }

    #[test]
    fn each_missing_or_malformed_field_is_refused_with_the_servers_message() {
        let refused = |change: &[(&'static str, &'static str)], entry| {
            let mut f = submit();
            for (k, v) in change {
                f.retain(|(key, _)| key != k);
                f.push((k, v));
            }
            PayRequest::parse(&fields(&f), entry).unwrap_err().msg
        };
        assert_eq!(refused(&[("pid", "")], PayEntry::Submit), "商户ID不能为空");
        assert_eq!(
            refused(&[("pid", "12abc")], PayEntry::Submit),
            "商户ID不能为空"
        );
        assert_eq!(
            refused(&[("out_trade_no", " ")], PayEntry::Submit),
            "订单号(out_trade_no)不能为空"
        );
        assert_eq!(
            refused(&[("notify_url", "")], PayEntry::Submit),
            "通知地址(notify_url)不能为空"
        );
        assert_eq!(
            refused(&[("return_url", "")], PayEntry::Submit),
            "回调地址(return_url)不能为空"
        );
        assert_eq!(
            refused(&[("name", "")], PayEntry::Submit),
            "商品名称(name)不能为空"
        );
        assert_eq!(
            refused(&[("money", "")], PayEntry::Submit),
            "金额(money)不能为空"
        );
        assert_eq!(
            refused(&[("out_trade_no", "a b")], PayEntry::Submit),
            "订单号(out_trade_no)格式不正确"
        );
        for money in ["0", "-1", "1.001", "1e2"] {
            assert_eq!(refused(&[("money", money)], PayEntry::Submit), "金额不合法");
        }
        assert_eq!(refused(&[], PayEntry::Mapi), "支付方式(type)不能为空");
        assert_eq!(
            refused(&[("type", "alipay")], PayEntry::Mapi),
            "用户IP地址(clientip)不能为空"
        );
        assert_eq!(
            refused(&[("type", "alipay"), ("clientip", "1.2.3")], PayEntry::Mapi),
            "用户IP地址不合法"
        );
        let ok = PayRequest::parse(
            &fields(
                &[
                    &submit()[..],
                    &[("type", "alipay"), ("clientip", "::1"), ("return_url", "")],
                ]
                .concat(),
            ),
            PayEntry::Mapi,
        )
        .unwrap();
        assert_eq!((ok.pay_type, ok.return_url), (Some(PayType::Alipay), None));
    }

    #[test]
    fn a_long_name_is_cut_to_127_bytes_on_a_character_boundary() {
        let long = "会".repeat(50);
        assert_eq!(cut_name(&long).len(), 126);
        assert_eq!(cut_name("short"), "short");
    }

    #[test]
    fn a_query_or_refund_names_its_order_by_trade_no_first() {
        let q = OrderQuery::parse(&fields(&[
            ("pid", "7"),
            ("key", "k"),
            ("out_trade_no", "o"),
            ("trade_no", "t"),
        ]))
        .unwrap();
        assert_eq!(q.order, OrderRef::TradeNo("t".into()));
        let e = OrderQuery::parse(&fields(&[("pid", "7"), ("key", "k")])).unwrap_err();
        assert_eq!((e.code, e.msg.as_ref()), (-4, "订单号不能为空"));
        let r = RefundRequest::parse(&fields(&[
            ("pid", "7"),
            ("key", "k"),
            ("out_trade_no", "o"),
            ("money", " 1.5 "),
        ]))
        .unwrap();
        assert_eq!(
            (r.money_fen, r.order),
            (150, OrderRef::OutTradeNo("o".into()))
        );
        let e = RefundRequest::parse(&fields(&[
            ("pid", "7"),
            ("out_trade_no", "o"),
            ("money", "x"),
        ]))
        .unwrap_err();
        assert_eq!(e.msg, "金额输入错误");
    }
}
