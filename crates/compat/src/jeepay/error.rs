//! Why a Jeepay request is refused, as Jeepay's own `code` and `msg` (`ApiCodeEnum`, `ApiRes`).
//!
//! Jeepay answers almost every refusal with `9999` (`CUSTOM_FAIL`) and the text of the rule that
//! failed (its validation annotations and controllers); parameters it cannot read at all get `11`
//! (`PARAMS_ERROR`, `参数有误[…]`), and unexpected failures `10` (`SYSTEM_ERROR`, `系统异常[…]`).

/// `ApiCodeEnum.CUSTOM_FAIL`.
pub const CUSTOM_FAIL: i32 = 9999;
/// `ApiCodeEnum.SYSTEM_ERROR`.
pub const SYSTEM_ERROR: i32 = 10;
/// `ApiCodeEnum.PARAMS_ERROR`.
pub const PARAMS_ERROR: i32 = 11;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JeepayError {
    /// The body could not be read as parameters at all (Jeepay's `参数有误[转换异常]`).
    #[error("参数有误[转换异常]")]
    Unreadable,
    /// The named field's value is not of the field's type: an amount that is not a whole number of
    /// fen, a `channelExtra` that is not a JSON object, a URL that does not parse.
    #[error("参数有误[{0}]")]
    Malformed(&'static str),
    /// A rule on the fields failed; the text is Jeepay's own for that rule (`商户号不能为空`).
    #[error("{0}")]
    Invalid(&'static str),
    /// The signature is not the app's over the request's fields.
    #[error("验签失败")]
    Signature,
    /// A refusal by the gateway's own services (an order that exists already, one not found),
    /// shown to the merchant as given, as Jeepay's `BizException` messages are.
    #[error("{0}")]
    Business(String),
    /// Something failed that the merchant cannot fix; the text goes inside `系统异常[…]`, so it
    /// must not carry internal detail.
    #[error("系统异常[{0}]")]
    System(String),
}

impl JeepayError {
    /// The answer's `code`.
    #[must_use]
    pub fn code(&self) -> i32 {
        match self {
            Self::Unreadable | Self::Malformed(_) => PARAMS_ERROR,
            Self::Invalid(_) | Self::Signature | Self::Business(_) => CUSTOM_FAIL,
            Self::System(_) => SYSTEM_ERROR,
        }
    }

    /// The answer's `msg`.
    #[must_use]
    pub fn msg(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_carries_jeepays_code_and_text() {
        let cases = [
            (JeepayError::Unreadable, 11, "参数有误[转换异常]"),
            (JeepayError::Malformed("amount"), 11, "参数有误[amount]"),
            (
                JeepayError::Invalid("商户号不能为空"),
                9999,
                "商户号不能为空",
            ),
            (JeepayError::Signature, 9999, "验签失败"),
            (
                JeepayError::Business("订单不存在".into()),
                9999,
                "订单不存在",
            ),
            (JeepayError::System("db".into()), 10, "系统异常[db]"),
        ];
        for (error, code, msg) in cases {
            assert_eq!((error.code(), error.msg().as_str()), (code, msg));
        }
    }
}
