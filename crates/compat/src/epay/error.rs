//! An EPay refusal: the protocol's own `code` and Chinese `msg`, as its server answers them.

use std::borrow::Cow;

/// What an EPay endpoint answers instead of doing what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpayError {
    /// `-4` nothing sent or no order number, `-3` merchant or signature, `-2` the channel or a
    /// switched-off capability, `-1` anything else.
    pub code: i32,
    pub msg: Cow<'static, str>,
}

impl EpayError {
    #[must_use]
    pub fn new(code: i32, msg: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    /// Code `-1`: a field's value, a conflict, anything the merchant must change.
    #[must_use]
    pub fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        Self::new(-1, msg)
    }

    #[must_use]
    pub fn no_parameters() -> Self {
        Self::new(-4, "未传入任何参数")
    }

    #[must_use]
    pub fn bad_signature() -> Self {
        Self::new(-3, "签名校验失败，请返回重试！")
    }

    #[must_use]
    pub fn unknown_merchant() -> Self {
        Self::new(-3, "商户ID不存在")
    }

    #[must_use]
    pub fn wrong_key() -> Self {
        Self::new(-3, "商户密钥错误")
    }

    #[must_use]
    pub fn missing_order_no() -> Self {
        Self::new(-4, "订单号不能为空")
    }

    #[must_use]
    pub fn order_not_found() -> Self {
        Self::new(-1, "订单号不存在")
    }

    /// Code `-2`: the channel refused or could not be reached.
    #[must_use]
    pub fn channel(msg: impl Into<Cow<'static, str>>) -> Self {
        Self::new(-2, msg)
    }

    /// The JSON answer: `{"code":…,"msg":"…"}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "msg": self.msg })
    }
}
