//! The pay-order requests: `/api/pay/unifiedOrder` (`UnifiedOrderRQ`), `/api/pay/query`
//! (`QueryPayOrderRQ`) and `/api/pay/close` (`ClosePayOrderRQ`).

use channel_core::Fen;
use url::Url;

use super::request::{Reader, Unverified};
use super::{ChannelExtra, JeepayError, WayCode};
use crate::Params;

/// A new pay order. The currency is always `cny` (anything else is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrder {
    pub mch_order_no: String,
    pub way_code: WayCode,
    pub amount: Fen,
    pub client_ip: Option<String>,
    pub subject: String,
    pub body: String,
    pub notify_url: Option<Url>,
    pub return_url: Option<Url>,
    /// Seconds until the order expires, as given.
    pub expired_time: Option<i64>,
    pub channel_extra: ChannelExtra,
    pub ext_param: Option<String>,
    /// Jeepay's split-payment mode (0, 1 or 2), as given; paygate does not split payments.
    pub division_mode: Option<i64>,
}

impl UnifiedOrder {
    /// Reads a `unifiedOrder` request.
    ///
    /// # Errors
    /// A missing, blank or malformed field; an amount below one fen; a currency other than `cny`;
    /// a way paygate does not serve; a `WX_JSAPI`/`WX_LITE` order without `openid` or an
    /// `ALI_JSAPI` one without `buyerUserId`.
    pub fn parse(params: &Params) -> Result<Unverified<Self>, JeepayError> {
        let mut fields = Reader::new(params);
        let (head, sign) = fields.head()?;
        let mch_order_no = fields.required("mchOrderNo", "商户订单号不能为空")?;
        let way_code = fields.required("wayCode", "支付方式不能为空")?;
        // Jeepay's `@Min(1)` on the amount reuses the text of `@NotNull`.
        let amount = fields.amount("amount", "支付金额不能为空", "支付金额不能为空")?;
        fields.currency()?;
        let client_ip = fields.text("clientIp");
        let subject = fields.required("subject", "商品标题不能为空")?;
        let body = fields.required("body", "商品描述信息不能为空")?;
        let notify_url = fields.url("notifyUrl", "异步通知地址协议仅支持http:// 或 https:// !")?;
        let return_url = fields.url("returnUrl", "同步通知地址协议仅支持http:// 或 https:// !")?;
        let expired_time = fields.integer("expiredTime", i32::MIN.into(), i32::MAX.into())?;
        let channel_extra_text = fields.text("channelExtra");
        let ext_param = fields.text("extParam");
        let division_mode = fields.integer("divisionMode", i8::MIN.into(), i8::MAX.into())?;
        if division_mode.is_some_and(|mode| !(0..=2).contains(&mode)) {
            return Err(JeepayError::Invalid("分账模式设置值有误"));
        }
        let way_code = WayCode::parse(&way_code)?;
        let channel_extra = ChannelExtra::parse(channel_extra_text.as_deref())?;
        let order = Self {
            mch_order_no,
            way_code,
            amount,
            client_ip,
            subject,
            body,
            notify_url,
            return_url,
            expired_time,
            channel_extra,
            ext_param,
            division_mode,
        };
        order.channel_user_if_needed()?;
        Ok(fields.finish(head, sign, order))
    }

    /// The payer the way needs (Jeepay's `getChannelUserId`): the `openid` of a `WX_JSAPI` or
    /// `WX_LITE` order, the `buyerUserId` of an `ALI_JSAPI` one; none for the other ways.
    #[must_use]
    pub fn channel_user(&self) -> Option<&str> {
        match self.way_code {
            WayCode::WxJsapi | WayCode::WxLite => self.channel_extra.openid.as_deref(),
            WayCode::AliJsapi => self.channel_extra.buyer_user_id.as_deref(),
            WayCode::AliQr
            | WayCode::AliPc
            | WayCode::AliWap
            | WayCode::WxNative
            | WayCode::WxH5
            | WayCode::QrCashier => None,
        }
    }

    fn channel_user_if_needed(&self) -> Result<(), JeepayError> {
        let missing = match self.way_code {
            WayCode::WxJsapi | WayCode::WxLite => "openid不能为空",
            WayCode::AliJsapi => "用户ID不能为空",
            WayCode::AliQr
            | WayCode::AliPc
            | WayCode::AliWap
            | WayCode::WxNative
            | WayCode::WxH5
            | WayCode::QrCashier => return Ok(()),
        };
        self.channel_user()
            .filter(|user| !user.trim().is_empty())
            .map(|_| ())
            .ok_or(JeepayError::Invalid(missing))
    }
}

/// Which pay order a request means. Jeepay looks up `payOrderId` when it is given, and
/// `mchOrderNo` only otherwise; both are the merchant's own (`mchNo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOrderRef {
    PayOrderId(String),
    MchOrderNo(String),
}

impl PayOrderRef {
    /// Reads `mchOrderNo` and `payOrderId`, both signed when given.
    fn read(fields: &mut Reader<'_>, when_neither: &'static str) -> Result<Self, JeepayError> {
        let mch_order_no = fields.text("mchOrderNo");
        let pay_order_id = fields.text("payOrderId");
        match (pay_order_id, mch_order_no) {
            (Some(id), _) => Ok(Self::PayOrderId(id)),
            (None, Some(no)) => Ok(Self::MchOrderNo(no)),
            (None, None) => Err(JeepayError::Invalid(when_neither)),
        }
    }
}

/// `/api/pay/query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayQuery {
    pub order: PayOrderRef,
}

impl PayQuery {
    /// Reads a pay-order query.
    ///
    /// # Errors
    /// A missing common field, or neither `mchOrderNo` nor `payOrderId`.
    pub fn parse(params: &Params) -> Result<Unverified<Self>, JeepayError> {
        let mut fields = Reader::new(params);
        let (head, sign) = fields.head()?;
        let order = PayOrderRef::read(&mut fields, "mchOrderNo 和 payOrderId不能同时为空")?;
        Ok(fields.finish(head, sign, Self { order }))
    }
}

/// `/api/pay/close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayClose {
    pub order: PayOrderRef,
}

impl PayClose {
    /// Reads a pay-order close.
    ///
    /// # Errors
    /// A missing common field, or neither `mchOrderNo` nor `payOrderId`.
    pub fn parse(params: &Params) -> Result<Unverified<Self>, JeepayError> {
        let mut fields = Reader::new(params);
        let (head, sign) = fields.head()?;
        // The close controller spells its message with a space before 不能, unlike the others.
        let order = PayOrderRef::read(&mut fields, "mchOrderNo 和 payOrderId 不能同时为空")?;
        Ok(fields.finish(head, sign, Self { order }))
    }
}

/// Refund requests name the pay order the same way.
pub(super) fn read_pay_order_ref(fields: &mut Reader<'_>) -> Result<PayOrderRef, JeepayError> {
    PayOrderRef::read(fields, "mchOrderNo 和 payOrderId不能同时为空")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jeepay::request::tests::{params, with, without};

    // Signatures below were computed outside this code, over the sorted string written by hand:
    // python3 -c "import hashlib; print(hashlib.md5('amount=100&appId=app1&...&key=SECRET'.encode()).hexdigest().upper())"

    fn unified_order() -> Params {
        params(&[
            ("mchNo", "M1"),
            ("appId", "app1"),
            ("mchOrderNo", "mo1"),
            ("wayCode", "WX_JSAPI"),
            ("amount", "100"),
            ("currency", "cny"),
            ("clientIp", ""),
            ("subject", "Goods"),
            ("body", "A thing"),
            ("notifyUrl", "https://shop.example/notify?x=1"),
            ("channelExtra", r#"{"openid":"o-1"}"#),
            ("version", "1.0"),
            ("signType", "MD5"),
            ("reqTime", "1700000000000"),
            ("somethingElse", "not a field of the request"),
            ("sign", "BA6F75001703959119CB2956F227993B"),
        ])
    }

    fn refusal<T: std::fmt::Debug>(parsed: Result<Unverified<T>, JeepayError>) -> JeepayError {
        parsed.expect_err("the request should be refused")
    }

    #[test]
    fn a_unified_order_signed_over_its_own_fields_is_read_and_verified() {
        let parsed = UnifiedOrder::parse(&unified_order()).unwrap();
        assert_eq!(parsed.head().mch_no, "M1");
        assert_eq!(parsed.head().app_id, "app1");
        let verified = parsed.verify("SECRET").unwrap();
        assert_eq!(verified.head.req_time, "1700000000000");
        let order = verified.request;
        assert_eq!(order.way_code, WayCode::WxJsapi);
        assert_eq!(order.amount, Fen(100));
        assert_eq!(order.client_ip, None);
        assert_eq!(order.channel_user(), Some("o-1"));
        assert_eq!(
            order.notify_url.map(String::from),
            Some("https://shop.example/notify?x=1".to_owned())
        );
    }

    #[test]
    fn a_signature_in_lower_case_is_accepted() {
        let lower = with(unified_order(), "sign", "ba6f75001703959119cb2956f227993b");
        assert!(
            UnifiedOrder::parse(&lower)
                .unwrap()
                .verify("SECRET")
                .is_ok()
        );
    }

    #[test]
    fn a_unified_order_signed_with_another_key_or_then_changed_is_refused() {
        let other_key = UnifiedOrder::parse(&unified_order())
            .unwrap()
            .verify("OTHER");
        assert_eq!(other_key, Err(JeepayError::Signature));
        let changed = with(unified_order(), "amount", "1");
        let verified = UnifiedOrder::parse(&changed).unwrap().verify("SECRET");
        assert_eq!(verified, Err(JeepayError::Signature));
        let case_changed = with(unified_order(), "subject", "goods");
        let verified = UnifiedOrder::parse(&case_changed).unwrap().verify("SECRET");
        assert_eq!(verified, Err(JeepayError::Signature));
    }

    #[test]
    fn each_required_field_of_a_unified_order_is_refused_with_jeepays_text() {
        let cases = [
            ("version", "版本号不能为空"),
            ("signType", "签名类型不能为空"),
            ("sign", "签名值不能为空"),
            ("reqTime", "时间戳不能为空"),
            ("mchNo", "商户号不能为空"),
            ("appId", "商户应用ID不能为空"),
            ("mchOrderNo", "商户订单号不能为空"),
            ("wayCode", "支付方式不能为空"),
            ("amount", "支付金额不能为空"),
            ("currency", "货币代码不能为空"),
            ("subject", "商品标题不能为空"),
            ("body", "商品描述信息不能为空"),
        ];
        for (field, text) in cases {
            let missing = refusal(UnifiedOrder::parse(&without(unified_order(), field)));
            assert_eq!(missing, JeepayError::Invalid(text), "{field} missing");
            if field == "amount" {
                continue; // A blank amount is not a number: see below.
            }
            let blank = refusal(UnifiedOrder::parse(&with(unified_order(), field, " ")));
            assert_eq!(blank, JeepayError::Invalid(text), "{field} blank");
        }
    }

    #[test]
    fn an_amount_below_one_fen_or_not_whole_fen_is_refused() {
        for below in ["0", "-5"] {
            let refused = refusal(UnifiedOrder::parse(&with(unified_order(), "amount", below)));
            assert_eq!(refused, JeepayError::Invalid("支付金额不能为空"));
        }
        for malformed in [" ", "1.5", "1.00", "1,000", "abc", "99999999999999999999"] {
            let given = with(unified_order(), "amount", malformed);
            assert_eq!(
                refusal(UnifiedOrder::parse(&given)),
                JeepayError::Malformed("amount")
            );
        }
    }

    #[test]
    fn only_cny_is_taken_in_any_case() {
        let upper = with(unified_order(), "currency", "CNY");
        assert!(UnifiedOrder::parse(&upper).is_ok());
        let usd = with(unified_order(), "currency", "usd");
        assert_eq!(
            refusal(UnifiedOrder::parse(&usd)),
            JeepayError::Invalid("不支持的货币代码")
        );
    }

    #[test]
    fn a_way_paygate_does_not_serve_or_a_jsapi_order_without_its_payer_is_refused() {
        let bar = with(unified_order(), "wayCode", "WX_BAR");
        assert_eq!(
            refusal(UnifiedOrder::parse(&bar)),
            JeepayError::Invalid("不支持的支付方式")
        );
        let no_openid = with(unified_order(), "channelExtra", r#"{"buyerUserId":"2088"}"#);
        assert_eq!(
            refusal(UnifiedOrder::parse(&no_openid)),
            JeepayError::Invalid("openid不能为空")
        );
        let alipay = with(unified_order(), "wayCode", "ALI_JSAPI");
        assert_eq!(
            refusal(UnifiedOrder::parse(&alipay)),
            JeepayError::Invalid("用户ID不能为空")
        );
        let native = without(
            with(unified_order(), "wayCode", "WX_NATIVE"),
            "channelExtra",
        );
        assert_eq!(
            UnifiedOrder::parse(&native)
                .unwrap()
                .unchecked()
                .channel_user(),
            None
        );
    }

    #[test]
    fn a_notify_url_that_is_not_http_is_refused() {
        let ftp = with(unified_order(), "notifyUrl", "ftp://shop.example/notify");
        assert_eq!(
            refusal(UnifiedOrder::parse(&ftp)),
            JeepayError::Invalid("异步通知地址协议仅支持http:// 或 https:// !")
        );
    }

    fn pay_query() -> Params {
        params(&[
            ("mchNo", "M1"),
            ("appId", "app1"),
            ("mchOrderNo", "mo1"),
            ("payOrderId", "P1"),
            ("version", "1.0"),
            ("signType", "MD5"),
            ("reqTime", "1700000000000"),
            ("sign", "7D2904143BF0877FBBFC33EF316B0177"),
        ])
    }

    #[test]
    fn a_query_naming_both_numbers_means_the_pay_order_id_and_signs_both() {
        let query = PayQuery::parse(&pay_query())
            .unwrap()
            .verify("SECRET")
            .unwrap();
        assert_eq!(query.request.order, PayOrderRef::PayOrderId("P1".into()));
        let close = PayClose::parse(&pay_query())
            .unwrap()
            .verify("SECRET")
            .unwrap();
        assert_eq!(close.request.order, PayOrderRef::PayOrderId("P1".into()));
        // Signed over payOrderId too, so without it the signature no longer holds.
        let by_mch = without(pay_query(), "payOrderId");
        let parsed = PayQuery::parse(&by_mch).unwrap();
        assert_eq!(parsed.verify("SECRET"), Err(JeepayError::Signature));
        let resigned = with(by_mch, "sign", "1696B3970913DA71A7B47AF286A96918");
        let query = PayQuery::parse(&resigned)
            .unwrap()
            .verify("SECRET")
            .unwrap();
        assert_eq!(query.request.order, PayOrderRef::MchOrderNo("mo1".into()));
    }

    #[test]
    fn a_query_or_close_naming_no_order_is_refused_with_each_endpoints_text() {
        let neither = without(without(pay_query(), "payOrderId"), "mchOrderNo");
        assert_eq!(
            refusal(PayQuery::parse(&neither)),
            JeepayError::Invalid("mchOrderNo 和 payOrderId不能同时为空")
        );
        assert_eq!(
            refusal(PayClose::parse(&neither)),
            JeepayError::Invalid("mchOrderNo 和 payOrderId 不能同时为空")
        );
        assert_eq!(
            refusal(PayQuery::parse(&without(pay_query(), "appId"))),
            JeepayError::Invalid("商户应用ID不能为空")
        );
    }
}
